"""One run's outputs: measures and KPIs from the recorder, tables, and result files written atomically."""
