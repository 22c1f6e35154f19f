"""The ``csflow`` command line: one group, its commands registered from one module per verb family.

Every command validates its input first; a bad scenario, file or flag prints one
line per problem, naming the field, and exits with code 2 without writing anything.
"""

from __future__ import annotations

import click

from simulation.cli.app import app_command
from simulation.cli.batch import compare_command, report_command, sweep_command
from simulation.cli.council import profile_command
from simulation.cli.rerun import rerun
from simulation.cli.returns import import_command
from simulation.cli.run import calibrate, initial_state, run, validate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="csflow")
def main() -> None:
    """csflow: children's social care as a flow, under declared operating models."""


for command in (validate, run, initial_state, calibrate, compare_command, sweep_command,
                report_command, profile_command, import_command, rerun, app_command):
    main.add_command(command)

if __name__ == "__main__":
    main()
