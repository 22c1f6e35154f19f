"""``csflow compare``, ``csflow sweep`` and ``csflow report``: batches from the command line."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from simulation.analysis.stats import summarise
from simulation.cli.common import (
    MAX_REPS,
    YEARS,
    command_line,
    fail,
    no_effects_option,
    overlay_option,
)
from simulation.experiments.batch import (
    CheckpointMismatch,
    SchedulerUnreachable,
    check_scheduler,
    run_batch,
)
from simulation.experiments.compare import (
    compare,
    headline_table,
    partial_folder,
    scenario_record,
    warmup_warnings,
)
from simulation.experiments.sweep import SweepError, parse_parameter, sweep_scenarios
from simulation.outputs.files import OutputError, atomic_folder, package_versions, prepare_output
from simulation.outputs.kpis import KPI_ORDER
from simulation.scenario import ScenarioError
from simulation.scenario.limits import ensure_fits

EXIT_INTERRUPTED = 130

backend_options = [
    click.option("--jobs", type=click.IntRange(min=1, max=1024), default=1, show_default=True,
                 help="replications run in parallel on this machine (capped at the "
                      "replications to run and the cores)"),
    click.option("--backend", type=click.Choice(["processes", "dask", "serial"]),
                 default="processes", show_default=True,
                 help="dask starts a local Dask cluster with --jobs workers"),
    click.option("--scheduler", metavar="ADDRESS",
                 help="run on an existing Dask cluster, e.g. tcp://10.0.0.5:8786"),
    click.option("--quiet", is_flag=True, help="no progress bar"),
]


def with_backend(f):
    for option in reversed(backend_options):
        f = option(f)
    return f


def _report_failure(out) -> None:
    last = out.error.strip().splitlines()[-1]
    click.echo(f"warning: replication {out.rep} (seed {out.seed}) failed: {last}", err=True)


def _check_scheduler_or_fail(scheduler: str) -> None:
    try:
        check_scheduler(scheduler)
    except SchedulerUnreachable as exc:
        fail(str(exc))


def _interrupted(out: Path) -> None:
    click.echo(f"\ninterrupted: finished replications are kept in {partial_folder(out)}; "
               f"run the same command again to resume", err=True)
    sys.exit(EXIT_INTERRUPTED)


@click.command("compare")
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--reps", type=click.IntRange(min=1, max=MAX_REPS), default=10, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True)
@click.option("--years", type=YEARS, default=5.0, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--force", is_flag=True, help="replace a non-empty output folder")
@click.option("--precision", type=click.FloatRange(min=0, min_open=True),
              help="add replications until every headline KPI's 95%% CI half-width is "
                   "within this share of its mean")
@click.option("--max-reps", type=click.IntRange(min=2, max=MAX_REPS), default=1000,
              show_default=True)
@overlay_option
@no_effects_option
@with_backend
def compare_command(scenarios, reps, seed, years, out, force, precision, max_reps, overlays,
                    no_effects, jobs, backend, scheduler, quiet) -> None:
    """Compare scenarios over paired replications; write results and report.html."""
    if precision is not None and reps < 2:
        fail("--precision needs --reps of at least 2 to estimate the variance")
    if scheduler:
        backend = "dask"
        _check_scheduler_or_fail(scheduler)
    try:
        comparison = compare(
            scenarios, reps, seed, years, out=out, jobs=jobs, backend=backend,
            scheduler=scheduler, precision=precision, max_reps=max_reps, force=force,
            progress=not quiet, overlays=overlays, no_effects=no_effects,
            command=command_line(), on_failure=_report_failure)
    except (ScenarioError, OutputError, CheckpointMismatch, ValueError) as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        _interrupted(out)
    click.echo(headline_table(comparison))
    if precision is not None:
        click.echo(f"\nprecision {precision:g}: {comparison.reps} replications per scenario "
                   f"({'reached' if comparison.reps < max_reps else 'capped at --max-reps'})")
    for warning in comparison.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"\nwrote {out}/ (runs, stocks, distributions, summary, differences, "
               f"report.html, manifest)")
    if not comparison.batch.failures.empty:
        click.echo(f"error: {len(comparison.batch.failures)} replication(s) failed: see "
                   f"{out}/failures.csv; rerun the same command to retry them", err=True)
        sys.exit(1)


@click.command("sweep")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--param", "params", multiple=True, required=True, metavar="PATH=LOW:HIGH",
              help="a numeric scenario field by dotted path, and its range (repeatable)")
@click.option("--design", type=click.Choice(["lhs", "grid"]), default="lhs", show_default=True)
@click.option("--samples", type=click.IntRange(min=1, max=MAX_REPS), default=16,
              show_default=True,
              help="LHS points, or grid values per parameter")
@click.option("--reps", type=click.IntRange(min=1, max=MAX_REPS), default=5, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True)
@click.option("--years", type=YEARS, default=5.0, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--force", is_flag=True)
@overlay_option
@with_backend
def sweep_command(scenario, params, design, samples, reps, seed, years, out, force, overlays,
                  jobs, backend, scheduler, quiet) -> None:
    """Vary scenario fields over ranges and measure each KPI's sensitivity."""
    if scheduler:
        _check_scheduler_or_fail(scheduler)
    try:
        parameters = [parse_parameter(p) for p in params]
        scenarios, points = sweep_scenarios(scenario, parameters, samples, design, seed,
                                            overlays)
        for s in scenarios:
            ensure_fits(s, years, scenario)
        checkpoint = partial_folder(out)
        if not checkpoint.exists():
            prepare_output(out, force)
    except (SweepError, ScenarioError, OutputError) as exc:
        fail(str(exc))
    for path in points.attrs.get("rounded", []):
        click.echo(f"note: {path} is a whole number: sample values are rounded to whole "
                   f"numbers (recorded as run)", err=True)
    if scheduler:
        backend = "dask"
    extra = [tuple((p.path, float(row[p.path])) for p in parameters)
             for _, row in points.iterrows()]
    started = datetime.now(UTC)
    try:
        batch = run_batch(scenarios, reps, seed, years, jobs, backend, scheduler, checkpoint,
                          not quiet, extra, _report_failure)
    except CheckpointMismatch as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        _interrupted(out)
    runs = batch.runs
    runs.insert(1, "sample", runs["scenario"].str.rsplit("#", n=1).str[1].astype(int))
    runs["scenario"] = runs["scenario"].str.rsplit("#", n=1).str[0]
    kpis = [k for k in KPI_ORDER if k in runs.columns]
    summary = summarise(runs.assign(_s=runs["sample"]), kpis, by="sample")
    summary = summary.merge(points.rename_axis("sample").reset_index(), on="sample")
    summary = summary[["sample", *points.columns, "kpi", "mean", "ci_low", "ci_high", "n"]]
    manifest = {
        "kind": "sweep", "command": command_line(), "created": started.isoformat(
            timespec="seconds"), "seed": seed, "years": years, "reps": reps, "design": design,
        "samples": len(points), "package_versions": package_versions(),
        "parameters": [{"path": p.path, "low": p.low, "high": p.high} for p in parameters],
        "scenarios": [scenario_record(scenarios[0], scenario)],
        "warnings": warmup_warnings(batch.stocks.assign(scenario="all")),
    }
    with atomic_folder(out, force=True) as tmp:
        runs.to_parquet(tmp / "runs.parquet", index=False)
        summary.to_csv(tmp / "summary.csv", index=False)
        if not batch.failures.empty:
            batch.failures.to_csv(tmp / "failures.csv", index=False)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        from simulation.report.html import build_report

        build_report(tmp)
    shutil.rmtree(checkpoint, ignore_errors=True)
    click.echo(f"wrote {out}/ ({len(points)} samples x {reps} replications; runs.parquet, "
               f"summary.csv, report.html, manifest.json)")
    if not batch.failures.empty:
        click.echo(f"error: {len(batch.failures)} replication(s) failed: see failures.csv",
                   err=True)
        sys.exit(1)


@click.command("report")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def report_command(folder: Path) -> None:
    """Rebuild report.html from a compare or sweep folder's saved files."""
    from simulation.report.html import build_report

    if not folder.is_dir():
        fail(f"{folder}: no such folder")
    try:
        path = build_report(folder)
    except FileNotFoundError as exc:
        fail(str(exc))
    click.echo(f"wrote {path}")
