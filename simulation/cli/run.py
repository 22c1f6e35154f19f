"""``csflow validate``, ``run``, ``initial-state`` and ``calibrate``: one scenario at a time."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from simulation.analysis.drift import drift_warnings
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
from simulation.engine.policy import dates_beyond
from simulation.outputs.files import OutputError, manifest, prepare_output, write_run
from simulation.outputs.flows import stage_flows
from simulation.outputs.guard import RunGuardError
from simulation.outputs.kpis import KPI_INFO, comparator, format_kpi
from simulation.outputs.run import gc_paused, simulate
from simulation.outputs.tables import unit_of
from simulation.randomness.distributions import DAYS_PER_YEAR
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
    check_size_or_fail(s, years, scenario)
    for line in dates_beyond(s, years):
        click.echo(f"warning: {line}", err=True)
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
    # The cyclic GC stays off until the files are written: collecting the run's few
    # hundred thousand objects would cost ~30% of the command and free nothing.
    with gc_paused():
        try:
            result = simulate(s, seed, years)
        except RunGuardError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        try:
            write_run(result, out, manifest(scenario_file, s, seed, years, command, started,
                                            event_log=event_log, **extra), force,
                      events=event_log)
        except OutputError as exc:
            fail(str(exc))
    click.echo(kpi_summary(s, seed, years, result.kpis))
    for line in drift_warnings(s.name, s.initial_state.model_dump(), result.stocks,
                               stage_flows(result.simulation.rec.children, 0.0,
                                           DAYS_PER_YEAR), effects=bool(s.assumed_effects())):
        click.echo(f"warning: {line}", err=True)
    click.echo(f"\nwrote {out}/ (kpis.csv, kpis_long.csv, kpis.xlsx, children.parquet, "
               f"stocks.parquet{', events.parquet' if event_log else ''}, manifest.json)")


def kpi_summary(s: Scenario, seed: int, years: float, kpis: dict[str, float]) -> str:
    """A readable table of the KPIs with the unit of every line, each beside its comparator:
    the council's own figure (local_figures, latest year) where there is one, else the
    national figure scaled to the population."""
    lines = [f"{s.name}: {years:g} years, seed {seed}, {s.population:,} children", ""]
    lines.append(f"  {'KPI':<50}{'value':>12}  {'unit':<20}comparator")
    for name, value in kpis.items():
        info = KPI_INFO.get(name)
        if info is None:
            continue
        lines.append(f"  {info.label:<50}{format_kpi(name, value):>12}  "
                     f"{unit_of(name):<20}{comparator_text(s, name)}")
    effects = s.assumed_effects()
    lines.append("")
    if effects:
        lines.append("Assumed effects (inputs, not findings): " + ", ".join(
            f"{n} {e.value:+g} on {e.target}"
            + (f" from year {e.starts_at_years:g}" if e.starts_at_years else "")
            for n, e in effects))
    else:
        lines.append("No assumed practice effects: differences come from structure alone.")
    return "\n".join(lines)


def comparator_text(s: Scenario, name: str) -> str:
    """'3,000 local (2019)' or '2,590 national', or '' if there is none."""
    found = comparator(s, name)
    if found is None:
        return ""
    value, kind, year = found
    return f"{format_kpi(name, value)} {kind}" + (f" ({year})" if year else "")


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
    from simulation.experiments.steady_state import steady_state

    s = load_or_fail(scenario)
    counts, history = steady_state(s, years=years, reps=reps, seed=seed)
    click.echo(f"# steady state of {s.name}: mean over years {years / 2:g}-{years:g}, "
               f"{reps} replications")
    click.echo("initial_state:")
    for name, value in counts.items():
        click.echo(f"  {name}: {value}")
    click.echo("  history:   # shares with each past, at the end of the runs")
    for kind, shares in history.items():
        inner = ", ".join(f"{k}: {v:g}" for k, v in shares.items())
        click.echo(f"    {kind}: {{{inner}}}")


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--reps", type=click.IntRange(min=2, max=MAX_REPS), default=6, show_default=True)
@click.option("--years", type=BoundedFloat(1.0, YEARS.high, low_open=False), default=5.0,
              show_default=True,
              help="simulated years (with --local: 1, the year the figures describe)")
@click.option("--seed", type=click.IntRange(min=0), default=100, show_default=True)
@click.option("--local", "local", is_flag=True,
              help="targets are the scenario's own local_figures (year 1), not national")
@click.option("--tune", is_flag=True,
              help="with --local: tune the inputs not observed directly, write --tuned")
@click.option("--tuned", type=click.Path(dir_okay=False, path_type=Path),
              help="with --tune: the tuned scenario file to write")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="also write calibration.csv and manifest.json (for csflow rerun) here")
@click.option("--force", is_flag=True, help="replace an existing --tuned file or --out folder")
def calibrate(scenario: str, reps: int, years: float, seed: int, local: bool, tune: bool,
              tuned: Path | None, out: Path | None, force: bool) -> None:
    """Compare a scenario with the national flow figures, or with its own local figures
    (--local), as a Markdown table; --tune first tunes it to the local figures.

    Exit 1 if any figure is outside its tolerance.
    """
    if tune and not local:
        fail("--tune: needs --local (it tunes to the scenario's local_figures)")
    if tune and tuned is None:
        fail("--tune: needs --tuned, the tuned scenario file to write")
    if tuned is not None and not tune:
        fail("--tuned: only with --local --tune")
    if local and out is not None:
        fail("--out: writes the national calibration; with --local, use --tuned")
    if tuned is not None and tuned.exists() and not force:
        fail(f"--tuned {tuned}: exists (use --force to replace it)")
    s = load_or_fail(scenario)
    if local:
        _calibrate_local(s, scenario, reps, seed, tune, tuned)
        return
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


def _num(x: float) -> str:
    """Counts as 1,234; rates and small numbers to 3 significant figures."""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _calibrate_local(s: Scenario, path: str, reps: int, seed: int, tune: bool,
                     out: Path | None) -> None:
    """calibrate --local: optionally tune, then the local figures against the model."""
    import yaml

    from simulation.experiments.calibration import local_table, tune_local
    from simulation.scenario import validate

    if not s.local_figures:
        fail(f"{path}: local_figures: none (write them, or use `csflow profile` or "
             f"`csflow import`)")
    if tune and out is not None:
        tuned, steps = tune_local(s.model_dump(), reps=reps, seed=seed)
        s = validate(tuned, f"{s.name} (tuned)")
        for step in steps[:-1]:
            click.echo(f"step {step.iteration}: " + ", ".join(
                f"{k} {v:.4g}" for k, v in step.inputs.items()))
        header = (f"# {s.name}, tuned to its local figures by `{command_line()}`\n"
                  f"# ({len(steps) - 1} fixed-point steps, {reps} replications of year 1, "
                  f"seeds from {seed}, common random numbers).\n")
        tmp = out.with_name(f".{out.name}.partial")
        tmp.write_text(header + yaml.safe_dump(tuned, sort_keys=False, width=95),
                       encoding="utf-8")
        tmp.replace(out)
        click.echo(f"wrote {out}\n")
    table = local_table(s, reps=reps, years=1.0, seed=seed)
    click.echo(f"{s.name}: local figures against year 1 of the model, {reps} replications, "
               f"seeds from {seed}\n")
    click.echo("| measure | year | local | model (95% CI) | tolerance | ok | source | tuned by |")
    click.echo("|---|---|---|---|---|---|---|---|")
    for r in table.itertuples():
        click.echo(f"| `{r.measure}` | {r.year} | {_num(r.local)} | {_num(r.model)} "
                   f"({_num(r.ci_low)} to {_num(r.ci_high)}) | +/-{_num(r.tolerance)} | "
                   f"{'yes' if r.within else 'NO'} | {r.source} | "
                   f"{r.tuned or '(not tuned: a check)'} |")
    if not table["within"].all():
        sys.exit(1)
