"""The command line face: ``csflow`` and its verbs (run, compare, sweep, report, ...)."""

from simulation.cli.main import main

__all__ = ["main"]
