"""The scenario schema, section by section; ``scenario.py`` holds the root model."""
