"""Experiments over many runs: batches with common random numbers, comparisons, sweeps, calibration, steady state."""
