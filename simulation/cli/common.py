"""What every csflow command shares: the exit code for bad input, loading, common options.

Every command validates its input first; a bad scenario, file or flag prints one
line per problem, naming the field, and exits with code 2 without writing anything.
"""

from __future__ import annotations

import math
import shlex
import sys

import click

from simulation.scenario import Scenario, ScenarioError, load_scenario
from simulation.scenario.limits import MAX_YEARS, ensure_fits

EXIT_BAD_INPUT = 2
MAX_REPS = 10_000   # a batch keeps every replication's weekly stocks in memory


class BoundedFloat(click.ParamType):
    """A finite number in (low, high]: click's FloatRange lets ``nan`` and ``inf`` through."""

    name = "number"

    def __init__(self, low: float, high: float, low_open: bool = True) -> None:
        self.low, self.high, self.low_open = low, high, low_open

    def convert(self, value, param, ctx) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        above = number > self.low if self.low_open else number >= self.low
        if not math.isfinite(number) or not above or number > self.high:
            bound = "above" if self.low_open else "at least"
            self.fail(f"{value!r}: must be a finite number {bound} {self.low:g} and at most "
                      f"{self.high:g}", param, ctx)
        return number


YEARS = BoundedFloat(0.0, MAX_YEARS)


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


def check_size_or_fail(scenario: Scenario, years: float, source: str) -> None:
    """With ``--years`` the run may be longer than the file says: check it still fits."""
    try:
        ensure_fits(scenario, years, source)
    except ScenarioError as exc:
        fail(str(exc))


def command_line() -> str:
    return " ".join(shlex.quote(a) for a in ["csflow", *sys.argv[1:]])


years_option = click.option("--years", type=YEARS,
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
