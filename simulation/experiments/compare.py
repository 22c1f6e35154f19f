"""Compare scenarios side by side: paired replications, confidence intervals, a report.

``compare`` is what ``csflow compare`` calls, and what notebooks call too. It writes
runs.parquet, stocks.parquet, distributions.parquet, summary.csv, differences.csv,
manifest.json and report.html into the output folder, atomically, and removes the
checkpoint folder once the results are complete.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.analysis.drift import batch_drift_warnings
from simulation.analysis.stats import (
    paired_differences,
    replications_needed,
    summarise,
    warmup_warning,
)
from simulation.council.structures import apply_structure
from simulation.engine.policy import dates_beyond
from simulation.experiments.batch import BatchResult, run_batch, usable_workers
from simulation.outputs.files import atomic_folder, code_version, package_versions, prepare_output
from simulation.outputs.kpis import (
    BRIEF_HEADLINE,
    KPI_ORDER,
    comparator,
    format_kpi,
    local_comparators,
)
from simulation.outputs.staffing import staffing_table
from simulation.outputs.tables import (
    differences_table,
    label_of,
    long_table,
    unit_of,
    write_workbook,
)
from simulation.scenario import Scenario, file_sha256, load_raw, load_scenario, validate
from simulation.scenario.effects import scenario_dates
from simulation.scenario.limits import ensure_fits

OPEN_STAGES = ["assessment", "s47", "cin", "cp", "cla"]


@dataclass
class Comparison:
    """A batch plus what was learned running it."""

    batch: BatchResult
    scenarios: list[Scenario]
    reps: int
    warnings: list[str] = field(default_factory=list)
    jobs: int = 1  # processes it ran on this machine (and may draw the report with)


def partial_folder(out: Path) -> Path:
    """Where an unfinished batch keeps its finished replications."""
    return out.parent / f".{out.name}.partial"


def load_all(paths: Sequence[str | Path], overlays: Sequence[str | Path] = (),
             structures: bool = False) -> list[Scenario]:
    """The scenarios of a comparison. With ``structures``, ``paths[0]`` is a council and
    the rest are structure files applied to it and sized to it (council.structures)."""
    if structures:
        if len(paths) < 2:
            raise ValueError("--structures: give a council scenario then structure files")
        council = load_raw(paths[0], overlays)
        scenarios = [validate(council, str(paths[0]))] + [
            validate(apply_structure(council, p), f"{paths[0]} under {p}") for p in paths[1:]]
    else:
        scenarios = [load_scenario(p, overlays) for p in paths]
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise ValueError(f"scenario names must differ to be compared: {', '.join(names)}")
    return scenarios


def precision_reached(runs: pd.DataFrame, precision: float) -> int:
    """Replications needed so every headline KPI's 95% half-width is within ``precision``
    of its mean, in every scenario (KPIs whose mean is 0 or undefined are skipped)."""
    needed = len(runs) // max(runs["scenario"].nunique(), 1)
    for _, frame in runs.groupby("scenario", sort=False):
        for kpi in BRIEF_HEADLINE:
            values = frame[kpi].dropna()
            if len(values) < 2 or values.mean() == 0:
                continue
            needed = max(needed, replications_needed(values, precision))
    return needed


def run_comparison(scenarios: list[Scenario], reps: int, seed: int, years: float,
                   jobs: int = 1, backend: str = "processes", scheduler: str | None = None,
                   precision: float | None = None, max_reps: int = 1000,
                   checkpoint: Path | None = None, progress: bool = True,
                   on_failure: Any = None, meanwhile: Any = None) -> Comparison:
    """Run the batch; with ``precision``, keep adding replications until it is reached.
    ``meanwhile``: the caller's work done while the first batch runs (run_batch)."""
    kwargs = dict(seed=seed, years=years, jobs=jobs, backend=backend, scheduler=scheduler,
                  checkpoint=checkpoint, progress=progress, on_failure=on_failure)
    batch = run_batch(scenarios, reps, meanwhile=meanwhile, **kwargs)
    done = reps
    while precision is not None and done < max_reps and not batch.runs.empty:
        target = min(precision_reached(batch.runs, precision), max_reps)
        if target <= done:
            break
        more = run_batch(scenarios, range(done, target), **kwargs)
        batch = _merge(batch, more)
        done = target
    comparison = Comparison(batch, scenarios, done,
                            jobs=jobs if backend == "processes" else 1)
    comparison.warnings = (warmup_warnings(batch.stocks) + drift_of(batch, scenarios)
                           + [f"{s.name}: {w}" for s in scenarios for w in dates_beyond(s, years)])
    return comparison


def _merge(a: BatchResult, b: BatchResult) -> BatchResult:
    def cat(x: pd.DataFrame, y: pd.DataFrame) -> pd.DataFrame:
        frames = [f for f in (x, y) if not f.empty]
        both = pd.concat(frames, ignore_index=True) if frames else x
        order = {name: i for i, name in enumerate(dict.fromkeys(both["scenario"]))} \
            if "scenario" in both else {}
        if order:
            both = both.assign(_o=both["scenario"].map(order)).sort_values(
                ["_o", "rep"], kind="stable").drop(columns="_o").reset_index(drop=True)
        return both

    return BatchResult(cat(a.runs, b.runs), cat(a.stocks, b.stocks),
                       cat(a.distributions, b.distributions), cat(a.failures, b.failures),
                       cat(a.costs, b.costs))


def warmup_warnings(stocks: pd.DataFrame) -> list[str]:
    """MSER-5 on each scenario's mean weekly open cases: is the start far from steady?"""
    warnings = []
    open_cases = stocks[stocks["stage"].isin(OPEN_STAGES)]
    for name, frame in open_cases.groupby("scenario", sort=False):
        series = frame.groupby(["rep", "day"])["open"].sum().groupby("day").mean()
        message = warmup_warning(series.to_numpy(), f"{name} (weekly open cases)")
        if message:
            warnings.append(message)
    return warnings


def drift_of(batch: BatchResult, scenarios: list[Scenario]) -> list[str]:
    """Stocks that leave each scenario's declared caseload in year 1 (analysis.drift)."""
    if batch.runs.empty or batch.stocks.empty:
        return []
    initial = {s.name: s.initial_state.model_dump() for s in scenarios}
    effects = frozenset(s.name for s in scenarios if s.assumed_effects())
    return batch_drift_warnings(batch.distributions, batch.stocks, initial, effects)


def with_comparators(summary: pd.DataFrame, scenarios: list[Scenario]) -> pd.DataFrame:
    """The summary with each KPI's comparator: the council's own figure where the scenario
    has one (``comparator_kind`` "local", with its year), else the national figure scaled."""
    by_name = {s.name: s for s in scenarios}
    found = [comparator(by_name[r.scenario], r.kpi) if r.scenario in by_name else None
             for r in summary.itertuples()]
    return summary.assign(
        comparator=[f[0] if f else np.nan for f in found],
        comparator_kind=[f[1] if f else "" for f in found],
        comparator_year=pd.array([f[2] if f else None for f in found], dtype="Int64"))


def scenario_record(scenario: Scenario, file: str | Path | None) -> dict[str, Any]:
    """A scenario in a manifest: what the report shows, and the fully resolved scenario
    (``resolved``) that ``csflow rerun`` runs again."""
    return {
        "name": scenario.name,
        "file": str(file) if file else None,
        "sha256": file_sha256(file) if file and Path(file).is_file() else None,
        "description": scenario.description.strip(),
        "assumed_effects": [
            {"name": name, "target": e.target if isinstance(e.target, str)
             else ", ".join(e.target), "kind": e.kind, "value": e.value, "low": e.low,
             "high": e.high, "evidence": " ".join(e.evidence.split()),
             "starts_at_years": e.starts_at_years}
            for name, e in scenario.assumed_effects()],
        # the council's own figures (latest year), the report's local comparators
        "local_figures": {name: {"year": f.latest()[0], "value": f.latest()[1],
                                 "source": f.source}
                          for name, f in scenario.local_figures.items()},
        "population": scenario.population,
        "dates": scenario_dates(scenario),  # steps in demand, dated effects, staffing
        "resolved": scenario.model_dump(mode="json"),
    }


def prepare_records(scenarios: list[Scenario], files: Sequence[str | None]) -> dict[str, Any]:
    """The manifest's parts that no replication changes (the code's version, each
    scenario's record), with the modules that write the results imported: work for the
    parent while the replications run, instead of after them."""
    import openpyxl  # noqa: F401 - pandas' .xlsx writer
    import pyarrow.parquet  # noqa: F401
    import scipy.stats  # noqa: F401 - the intervals (analysis.stats)

    import simulation.report.html  # noqa: F401 - matplotlib, seaborn, jinja2

    return {"code_version": code_version(), "package_versions": package_versions(),
            "scenarios": [scenario_record(s, p) for s, p in zip(scenarios, files, strict=True)]}


def write_comparison(out: Path, comparison: Comparison, manifest: dict[str, Any],
                     force: bool) -> Path:
    """All result files, the summary and paired differences, the report; atomically."""
    batch = comparison.batch
    kpis = [k for k in KPI_ORDER if k in batch.runs.columns]
    with atomic_folder(out, force) as tmp:
        batch.runs.to_parquet(tmp / "runs.parquet", index=False)
        batch.stocks.to_parquet(tmp / "stocks.parquet", index=False)
        batch.distributions.to_parquet(tmp / "distributions.parquet", index=False)
        batch.costs.to_parquet(tmp / "costs.parquet", index=False)
        if not batch.runs.empty:
            summary = with_comparators(summarise(batch.runs, kpis), comparison.scenarios)
            summary.to_csv(tmp / "summary.csv", index=False)
            sheets = {"KPIs": long_table(summary, {s.name: s.population
                                                   for s in comparison.scenarios},
                                         manifest.get("comparators"))}
            sheets["KPIs"].to_csv(tmp / "kpis_long.csv", index=False)
            baseline = comparison.scenarios[0].name
            if batch.runs["scenario"].nunique() > 1:
                diffs = paired_differences(batch.runs, kpis, baseline)
                diffs.to_csv(tmp / "differences.csv", index=False)
                sheets["Differences"] = differences_table(diffs)
            sheets["Staffing"] = staffing_table(comparison.scenarios)
            write_workbook(tmp / "kpis.xlsx", sheets)
        if not batch.failures.empty:
            batch.failures.to_csv(tmp / "failures.csv", index=False)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        from simulation.report.html import build_report

        build_report(tmp, processes=usable_workers(comparison.jobs, comparison.jobs))
    return out


def compare(paths: Sequence[str | Path], reps: int, seed: int, years: float,
            out: Path | None = None, jobs: int = 1, backend: str = "processes",
            scheduler: str | None = None, precision: float | None = None,
            max_reps: int = 1000, force: bool = False, progress: bool = True,
            overlays: Sequence[str | Path] = (), no_effects: bool = False,
            command: str = "", on_failure: Any = None, structures: bool = False) -> Comparison:
    """Python API of ``csflow compare``: same code path, same files. With ``structures``,
    ``paths[0]`` is a council and the others structure files applied to it (load_all)."""
    scenarios = load_all(paths, overlays, structures)
    return compare_scenarios(
        scenarios, [str(p) for p in paths], reps, seed, years, out, jobs, backend, scheduler,
        precision, max_reps, force, progress, overlays, no_effects, command, on_failure,
        structures_applied_to=str(paths[0]) if structures else None)


def compare_scenarios(scenarios: list[Scenario], files: Sequence[str | None], reps: int,
                      seed: int, years: float, out: Path | None = None, jobs: int = 1,
                      backend: str = "processes", scheduler: str | None = None,
                      precision: float | None = None, max_reps: int = 1000,
                      force: bool = False, progress: bool = True,
                      overlays: Sequence[str | Path] = (), no_effects: bool = False,
                      command: str = "", on_failure: Any = None,
                      comparators: dict[str, Any] | None = None,
                      structures_applied_to: str | None = None) -> Comparison:
    """``compare`` on scenarios already loaded (``csflow rerun`` passes the resolved ones
    from a manifest). ``comparators`` ({scenario: {kpi: {value, source}}}) are a council's
    own figures, shown beside the results instead of the national ones; a scenario that
    carries its own ``comparators`` (a council profile) contributes them too."""
    from simulation.scenario import without_effects

    for scenario in scenarios:
        ensure_fits(scenario, years)
    if no_effects:
        scenarios = [without_effects(s) for s in scenarios]
    comparators = {**{s.name: local for s in scenarios if (local := local_comparators(s))},
                   **(comparators or {})}
    checkpoint = None
    if out is not None:
        checkpoint = partial_folder(out)
        if not checkpoint.exists():
            prepare_output(out, force)
    started = datetime.now(UTC)
    records: dict[str, Any] = {}
    comparison = run_comparison(
        scenarios, reps, seed, years, jobs, backend, scheduler, precision, max_reps,
        checkpoint, progress, on_failure,
        meanwhile=(lambda: records.update(prepare_records(scenarios, files)))
        if out is not None else None)
    if out is not None:
        manifest = {
            "kind": "compare", "command": command, "created": started.isoformat(
                timespec="seconds"), "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "seed": seed, "years": years, "reps": comparison.reps,
            "requested_reps": reps, "precision": precision, "backend": backend,
            "jobs": jobs, "overlays": [str(o) for o in overlays], "no_effects": no_effects,
            "structures_applied_to": structures_applied_to,
            "code_version": records["code_version"],
            "package_versions": records["package_versions"],
            "scenarios": records["scenarios"],
            "comparators": comparators or {},
            "warnings": comparison.warnings,
            "failures": int(len(comparison.batch.failures)),
        }
        write_comparison(out, comparison, manifest, force=True)
        shutil.rmtree(checkpoint, ignore_errors=True)
    return comparison


def headline_table(comparison: Comparison) -> str:
    """Headline KPIs per scenario for the terminal: "mean ± 95% CI half-width", as people
    read them (13.9%, 5,120, £75.02m)."""
    runs = comparison.batch.runs
    if runs.empty:
        return "no successful replications"
    summary = summarise(runs, BRIEF_HEADLINE)
    table = {}
    for name, frame in summary.groupby("scenario", sort=False):
        cells = []
        for row in frame.itertuples():
            half = (row.ci_high - row.ci_low) / 2
            value = format_kpi(row.kpi, row.mean)
            cells.append(value if not np.isfinite(half) else
                         f"{value} ± {format_kpi(row.kpi, half, scale=row.mean)}")
        table[name] = cells
    labels = [f"{label_of(k)} ({unit_of(k)})" for k in BRIEF_HEADLINE]
    council = next((s for s in comparison.scenarios if s.local_figures), None)
    note = ""
    if council is not None:  # the council's own figures beside the model's
        local = [comparator(council, k) for k in BRIEF_HEADLINE]
        table["local"] = [format_kpi(k, c[0]) + f" ({c[2]})" if c and c[1] == "local" else ""
                          for k, c in zip(BRIEF_HEADLINE, local, strict=True)]
        note = f"; local: {council.name}'s own figures (local_figures)"
    return (pd.DataFrame(table, index=labels).to_string()
            + f"\n(mean ± half-width of the 95% CI over {comparison.reps} replications{note})")
