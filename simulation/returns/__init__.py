"""A council's own scenario from its statutory returns (SSDA903 and the CIN census).

``read`` finds and parses the files (identifiers stay in memory), ``clean`` joins
episodes into periods of care as the field's tools do, ``km`` handles censored
durations, ``estimate`` turns the journeys into scenario values with their provenance,
``figures`` counts the observed flows and stocks, and ``write`` writes the scenario
atomically. Nothing here is imported by the engine: it writes a file a run reads.
"""
