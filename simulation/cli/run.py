"""``csflow validate``, ``run``, ``initial-state`` and ``calibrate``: one scenario at a time."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from simulation.cli.common import (
    MAX_REPS,
    YEARS,
    BoundedFloat,
    check_size_or_fail,
    command_line,
    fail,
    load_or_fail,
    no_effects_option,
    overlay_option,
    seed_option,
    years_option,
)
from simulation.outputs.files import OutputError, manifest, prepare_output, write_run
from simulation.outputs.guard import RunGuardError
from simulation.outputs.kpis import KPI_INFO, format_kpi
from simulation.outputs.run import simulate
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
def run(scenario: str, seed: int | None, years: float | None, out: Path | None,
        force: bool, overlays: tuple[str, ...], no_effects: bool) -> None:
    """Run one replication and write kpis.csv, children.parquet, stocks.parquet, manifest.json."""
    s = load_or_fail(scenario, overlays)
    if no_effects:
        s = without_effects(s)
    seed = s.run.seed if seed is None else seed
    years = s.run.years if years is None else years
    check_size_or_fail(s, years, scenario)
    out = out or Path("results") / s.name
    try:
        prepare_output(out, force)  # fail before spending time on the run
    except OutputError as exc:
        fail(str(exc))
    started = datetime.now(UTC)
    try:
        result = simulate(s, seed, years)
    except RunGuardError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    try:
        write_run(result, out, manifest(scenario, s, seed, years, command_line(), started,
                                        overlays=list(overlays)), force)
    except OutputError as exc:
        fail(str(exc))
    click.echo(kpi_summary(s, seed, years, result.kpis))
    click.echo(f"\nwrote {out}/ (kpis.csv, children.parquet, stocks.parquet, manifest.json)")


def kpi_summary(s: Scenario, seed: int, years: float, kpis: dict[str, float]) -> str:
    """A readable table of the KPIs, with the national figure beside each where there is one."""
    lines = [f"{s.name}: {years:g} years, seed {seed}, {s.population:,} children", ""]
    lines.append(f"  {'KPI':<50}{'value':>12}   national")
    for name, value in kpis.items():
        info = KPI_INFO[name]
        national = info.national
        if national is not None and info.kind == "count":
            national *= s.population / 10_000  # published per 10,000 children
        shown = format_kpi(name, national) if national is not None else ""
        lines.append(f"  {info.label:<50}{format_kpi(name, value):>12}   {shown}")
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
@click.option("--years", type=BoundedFloat(2.0, YEARS.high, low_open=False), default=12.0,
              show_default=True)
@click.option("--reps", type=click.IntRange(min=1, max=MAX_REPS), default=4, show_default=True)
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
@click.option("--reps", type=click.IntRange(min=2, max=MAX_REPS), default=6, show_default=True)
@click.option("--years", type=BoundedFloat(1.0, YEARS.high, low_open=False), default=5.0,
              show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=100, show_default=True)
def calibrate(scenario: str, reps: int, years: float, seed: int) -> None:
    """Compare a scenario with the national flow figures (a Markdown table).

    Exit 1 if any figure is outside its tolerance.
    """
    from simulation.experiments.calibration import calibration_table

    s = load_or_fail(scenario)
    table = calibration_table(s, reps=reps, years=years, seed=seed)
    click.echo(f"{s.name}: {reps} replications x {years:g} years, seeds from {seed}\n")
    click.echo("| measure | national | model (95% CI) | tolerance | ok | source | tuned to hit it |")
    click.echo("|---|---|---|---|---|---|---|")
    for r in table.itertuples():
        click.echo(f"| `{r.measure}` | {r.target:g} | {r.model:.3g} ({r.ci_low:.3g} to "
                   f"{r.ci_high:.3g}) | +/-{r.tolerance:g} | {'yes' if r.within else 'NO'} | "
                   f"{r.source} | {r.tuned or '(not tuned: comes out of the model)'} |")
    if not table["within"].all():
        sys.exit(1)
