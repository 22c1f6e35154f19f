"""What every csflow command shares: the exit code for bad input, loading, common options.

Every command validates its input first; a bad scenario, file or flag prints one
line per problem, naming the field, and exits with code 2 without writing anything.
"""

from __future__ import annotations

import shlex
import sys

import click

from simulation.scenario import Scenario, ScenarioError, load_scenario

EXIT_BAD_INPUT = 2


def fail(message: str) -> None:
    """Report bad input on stderr and exit 2."""
    click.echo(message if message.startswith("error") else f"error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def load_or_fail(path: str, overlays: tuple[str, ...] = ()) -> Scenario:
    try:
        return load_scenario(path, overlays)
    except ScenarioError as exc:
        fail(str(exc))
        raise  # unreachable: fail exits


def command_line() -> str:
    return " ".join(shlex.quote(a) for a in ["csflow", *sys.argv[1:]])


years_option = click.option("--years", type=click.FloatRange(min=0, min_open=True),
                            help="simulated years (default: the scenario's run.years)")
seed_option = click.option("--seed", type=click.IntRange(min=0),
                           help="random seed (default: the scenario's run.seed)")
no_effects_option = click.option(
    "--no-effects", is_flag=True,
    help="set every assumed practice effect to 0: the structural difference alone")
overlay_option = click.option(
    "--overlay", "overlays", multiple=True, type=click.Path(dir_okay=False),
    help="a practice-model fragment to apply on top (repeatable), e.g. "
         "configs/practice/signs_of_safety.yaml")
