"""The scenario schema, section by section (assembled in simulation.scenario)."""
