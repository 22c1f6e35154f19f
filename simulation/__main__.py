"""``python -m simulation`` runs the csflow command line (same as the ``csflow`` script)."""

from simulation.cli.main import main

main()
