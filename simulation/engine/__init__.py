"""The engine: the child's journey through the stages (SimPy), contacts at the front door, the recorder."""
