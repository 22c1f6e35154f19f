"""Randomness as data: distributions built through one registry, and named random streams from one seed."""
