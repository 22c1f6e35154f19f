"""``csflow validate``, ``run``, ``initial-state`` and ``calibrate``: one scenario at a time."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from simulation.cli.common import (
    command_line,
    fail,
    load_or_fail,
    no_effects_option,
    overlay_option,
    seed_option,
    years_option,
)
from simulation.outputs.files import OutputError, manifest, prepare_output, write_run
from simulation.outputs.kpis import KPI_INFO, format_kpi, national_figure
from simulation.outputs.run import simulate
from simulation.outputs.tables import unit_of
from simulation.scenario import Scenario, without_effects


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@overlay_option
def validate(scenario: str, overlays: tuple[str, ...]) -> None:
    """Check a scenario file; exit 0 if it is usable, 2 naming each problem if not."""
    s = load_or_fail(scenario, overlays)
    teams = ", ".join(f"{t.name} x{t.count}" for t in s.structure.teams)
    click.echo(f"{scenario}: ok ({s.name}; teams: {teams})")


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@seed_option
@years_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="output folder (default: results/<scenario name>)")
@click.option("--force", is_flag=True, help="replace a non-empty output folder")
@overlay_option
@no_effects_option
@click.option("--event-log", is_flag=True,
              help="also write events.parquet: every child's moves and changes of worker "
                   "(see docs/event-log.md)")
def run(scenario: str, seed: int | None, years: float | None, out: Path | None,
        force: bool, overlays: tuple[str, ...], no_effects: bool, event_log: bool) -> None:
    """Run one replication and write kpis.csv, children.parquet, stocks.parquet, manifest.json."""
    s = load_or_fail(scenario, overlays)
    if no_effects:
        s = without_effects(s)
    seed = s.run.seed if seed is None else seed
    years = s.run.years if years is None else years
    out = out or Path("results") / s.name
    run_and_write(s, scenario, seed, years, out, force, command_line(),
                  overlays=list(overlays), no_effects=no_effects, event_log=event_log)


def run_and_write(s: Scenario, scenario_file: str | None, seed: int, years: float, out: Path,
                  force: bool, command: str, event_log: bool = False, **extra: object) -> None:
    """Simulate one replication and write its folder (``run`` and ``rerun``)."""
    try:
        prepare_output(out, force)  # fail before spending time on the run
    except OutputError as exc:
        fail(str(exc))
    started = datetime.now(UTC)
    result = simulate(s, seed, years)
    try:
        write_run(result, out, manifest(scenario_file, s, seed, years, command, started,
                                        event_log=event_log, **extra), force,
                  events=event_log)
    except OutputError as exc:
        fail(str(exc))
    click.echo(kpi_summary(s, seed, years, result.kpis))
    click.echo(f"\nwrote {out}/ (kpis.csv, kpis_long.csv, kpis.xlsx, children.parquet, "
               f"stocks.parquet{', events.parquet' if event_log else ''}, manifest.json)")


def kpi_summary(s: Scenario, seed: int, years: float, kpis: dict[str, float]) -> str:
    """A readable table of the KPIs with the unit of every line, and the national figure
    (scaled to the population) beside each where there is one."""
    lines = [f"{s.name}: {years:g} years, seed {seed}, {s.population:,} children", ""]
    lines.append(f"  {'KPI':<50}{'value':>12}  {'unit':<20}national")
    for name, value in kpis.items():
        national = national_figure(name, s.population)
        shown = format_kpi(name, national) if national is not None else ""
        lines.append(f"  {KPI_INFO[name].label:<50}{format_kpi(name, value):>12}  "
                     f"{unit_of(name):<20}{shown}")
    effects = s.assumed_effects()
    lines.append("")
    if effects:
        lines.append("Assumed effects (inputs, not findings): " + ", ".join(
            f"{n} {e.value:+g} on {e.target}" for n, e in effects))
    else:
        lines.append("No assumed practice effects: differences come from structure alone.")
    return "\n".join(lines)


@click.command("initial-state")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--years", type=click.FloatRange(min=2), default=12.0, show_default=True)
@click.option("--reps", type=click.IntRange(min=1), default=4, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
def initial_state(scenario: str, years: float, reps: int, seed: int) -> None:
    """Measure a scenario's steady-state caseload, to paste into its initial_state.

    Runs ``reps`` replications and averages the open cases over the second half.
    """
    from simulation.experiments.steady_state import steady_state_caseload

    s = load_or_fail(scenario)
    counts = steady_state_caseload(s, years=years, reps=reps, seed=seed)
    click.echo(f"# steady state of {s.name}: mean over years {years / 2:g}-{years:g}, "
               f"{reps} replications")
    click.echo("initial_state:")
    for name, value in counts.items():
        click.echo(f"  {name}: {value}")


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--reps", type=click.IntRange(min=2), default=6, show_default=True)
@click.option("--years", type=click.FloatRange(min=1), default=5.0, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=100, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="also write calibration.csv and manifest.json (for csflow rerun) here")
@click.option("--force", is_flag=True, help="replace a non-empty output folder")
def calibrate(scenario: str, reps: int, years: float, seed: int, out: Path | None,
              force: bool) -> None:
    """Compare a scenario with the national flow figures (a Markdown table).

    Exit 1 if any figure is outside its tolerance.
    """
    s = load_or_fail(scenario)
    calibrate_and_write(s, scenario, reps, years, seed, out, force, command_line())


def calibrate_and_write(s: Scenario, scenario_file: str | None, reps: int, years: float,
                        seed: int, out: Path | None, force: bool, command: str) -> None:
    """The calibration table on the terminal and, with ``out``, as files (``rerun`` too)."""
    from simulation.experiments.calibration import calibration_table, write_calibration

    if out is not None:
        try:
            prepare_output(out, force)
        except OutputError as exc:
            fail(str(exc))
    started = datetime.now(UTC)
    table = calibration_table(s, reps=reps, years=years, seed=seed)
    if out is not None:
        write_calibration(out, table, manifest(scenario_file, s, seed, years, command, started,
                                               kind="calibrate", reps=reps))
    click.echo(f"{s.name}: {reps} replications x {years:g} years, seeds from {seed}\n")
    click.echo("| measure | national | model (95% CI) | tolerance | ok | source | tuned to hit it |")
    click.echo("|---|---|---|---|---|---|---|")
    for r in table.itertuples():
        click.echo(f"| `{r.measure}` | {r.target:g} | {r.model:.3g} ({r.ci_low:.3g} to "
                   f"{r.ci_high:.3g}) | +/-{r.tolerance:g} | {'yes' if r.within else 'NO'} | "
                   f"{r.source} | {r.tuned or '(not tuned: comes out of the model)'} |")
    if not table["within"].all():
        sys.exit(1)
