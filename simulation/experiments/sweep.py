"""Sensitivity sweeps: vary numeric scenario fields over ranges, in grids or Latin hypercubes.

A parameter is a dotted path into the merged scenario mapping (lists by index):
``workforce.turnover_rate``, ``structure.teams.0.caseload_limit``. A path that ends at an
assumed effect (``effects.fsp.cla_entry``) sets the effect's value. Every sample is
validated like any scenario, so an impossible value is a clear error, not a crash.
Replication i uses the same seed in every sample (common random numbers), so samples
differ only by their parameters.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.analysis.sensitivity import (
    prcc_interval,
    prcc_table,
    sample_warning,
    strongest,
    sweep_title,
)
from simulation.analysis.stats import summarise
from simulation.experiments.batch import BatchResult, run_batch
from simulation.experiments.compare import scenario_record, warmup_warnings
from simulation.outputs.files import atomic_folder, code_version, package_versions
from simulation.outputs.kpis import BRIEF_HEADLINE, KPI_ORDER
from simulation.outputs.tables import label_of
from simulation.scenario import Scenario, ScenarioError, load_raw, validate
from simulation.scenario.targets import expand, is_whole_number_field


class SweepError(ValueError):
    """A sweep parameter that cannot be used; the message names it."""


@dataclass(frozen=True)
class Parameter:
    path: str
    low: float
    high: float


def parse_parameter(text: str) -> Parameter:
    """``PATH=LOW:HIGH`` -> Parameter."""
    path, sep, bounds = text.partition("=")
    low_text, colon, high_text = bounds.partition(":")
    if not sep or not colon or not path.strip():
        raise SweepError(f"--param {text!r}: expected PATH=LOW:HIGH, "
                         f"e.g. workforce.turnover_rate=0.08:0.25")
    try:
        low, high = float(low_text), float(high_text)
    except ValueError:
        raise SweepError(f"--param {text!r}: LOW and HIGH must be numbers") from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise SweepError(f"--param {text!r}: LOW and HIGH must be finite numbers")
    if low > high:
        raise SweepError(f"--param {text!r}: LOW ({low:g}) is above HIGH ({high:g})")
    return Parameter(path.strip(), low, high)


def _locate(data: Any, path: str) -> tuple[Any, Any]:
    """(container, key) of the numeric value a path addresses in a raw mapping."""
    node, parts = data, path.split(".")
    for i, part in enumerate(parts):
        key: Any = part
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise SweepError(f"{path}: no item {part!r} at {'.'.join(parts[:i]) or 'top'}")
            key = int(part)
        elif not isinstance(node, dict) or part not in node:
            raise SweepError(f"{path}: no field {'.'.join(parts[: i + 1])!r} in the scenario")
        if i == len(parts) - 1:
            value = node[key]
            if isinstance(value, dict) and {"kind", "target", "value"} <= set(value):
                return value, "value"  # an assumed effect: sweep its value
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SweepError(f"{path}: is not a number (it is {type(value).__name__})")
            return node, key
        node = node[key]
    raise SweepError(f"{path}: empty path")


def check_parameters(raw: dict[str, Any], params: list[Parameter]) -> None:
    for p in params:
        _locate(raw, p.path)


def whole_number_paths(scenario: Scenario, params: list[Parameter]) -> list[str]:
    """Parameters the schema declares whole numbers (team counts, population, caseload).

    Decided by the schema, not by how the file happens to write the value: FTE written
    ``6`` is still a number that can be 5.5.
    """
    whole = []
    for p in params:
        try:
            found = expand(scenario, p.path)
        except KeyError:
            continue
        if any(is_whole_number_field(parent, last) for _, parent, _, last in found):
            whole.append(p.path)
    return whole


def with_values(raw: dict[str, Any], values: dict[str, float],
                whole: tuple[str, ...] | list[str] = ()) -> dict[str, Any]:
    """The raw mapping with each path set; ``whole`` paths must already be whole numbers."""
    data = copy.deepcopy(raw)
    for path, value in values.items():
        container, key = _locate(data, path)
        container[key] = int(value) if path in whole else float(value)
    return data


def design(params: list[Parameter], samples: int, method: str, seed: int) -> pd.DataFrame:
    """Sample points: ``lhs`` (Latin hypercube, ``samples`` points) or ``grid``
    (``samples`` evenly spaced values per parameter, every combination)."""
    from scipy.stats import qmc  # imported when sampling: scipy.stats takes ~0.6 s

    lows = np.array([p.low for p in params])
    highs = np.array([p.high for p in params])
    if method == "lhs":
        unit = qmc.LatinHypercube(d=len(params), seed=seed).random(samples)
        span = highs > lows
        points = np.tile(lows, (samples, 1)).astype(float)
        if span.any():
            points[:, span] = qmc.scale(unit[:, span], lows[span], highs[span])
    elif method == "grid":
        axes = [np.linspace(p.low, p.high, samples) for p in params]
        points = np.array(list(itertools.product(*axes)))
    else:
        raise SweepError(f"--design must be lhs or grid, got {method!r}")
    return pd.DataFrame(points, columns=[p.path for p in params])


def sweep_scenarios(path: str | Path, params: list[Parameter], samples: int, method: str,
                    seed: int, overlays: tuple = ()) -> tuple[list[Scenario], pd.DataFrame]:
    """One validated scenario per sample point, named ``<name>#<sample>``.

    A whole-number field (e.g. a team count) is rounded to the nearest whole number in the
    design itself, so the value recorded for a sample is the value it ran with;
    ``points.attrs["rounded"]`` lists the rounded paths.
    """
    raw = load_raw(path, overlays)
    check_parameters(raw, params)
    try:
        base = validate(raw, str(path))
    except ScenarioError as exc:
        raise SweepError(str(exc)) from None
    whole = whole_number_paths(base, params)
    points = design(params, samples, method, seed)
    for column in whole:
        points[column] = points[column].round()
    points.attrs["rounded"] = whole
    scenarios = []
    for i, row in points.iterrows():
        data = with_values(raw, row.to_dict(), whole)
        data["name"] = f"{raw.get('name', 'scenario')}#{i}"
        try:
            scenarios.append(validate(data, f"{path} sample {i}"))
        except ScenarioError as exc:
            raise SweepError(str(exc)) from None
    return scenarios, points


def sweep_result(batch: BatchResult, points: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs with a sample column and the base scenario name, per-sample summary)."""
    runs = batch.runs
    runs.insert(1, "sample", runs["scenario"].str.rsplit("#", n=1).str[1].astype(int))
    runs["scenario"] = runs["scenario"].str.rsplit("#", n=1).str[0]
    kpis = [k for k in KPI_ORDER if k in runs.columns]
    summary = summarise(runs.assign(_s=runs["sample"]), kpis, by="sample")
    summary = summary.merge(points.rename_axis("sample").reset_index(), on="sample")
    summary = summary[["sample", *points.columns, "kpi", "mean", "ci_low", "ci_high", "n"]]
    return runs, summary


def run_sweep(scenarios: list[Scenario], points: pd.DataFrame, params: list[Parameter],
              reps: int, seed: int, years: float, out: Path, *, base_name: str,
              base_file: str | None, design_method: str, command: str, jobs: int = 1,
              backend: str = "processes", scheduler: str | None = None,
              checkpoint: Path | None = None, progress: bool = True,
              on_failure: Any = None) -> tuple[BatchResult, dict[str, Any]]:
    """Run every sample, write the sweep folder (runs, summary, manifest, report)."""
    extra = [tuple((p.path, float(row[p.path])) for p in params) for _, row in points.iterrows()]
    started = datetime.now(UTC)
    batch = run_batch(scenarios, reps, seed, years, jobs, backend, scheduler, checkpoint,
                      progress, extra, on_failure)
    runs, summary = sweep_result(batch, points)
    record = scenario_record(scenarios[0], base_file)
    record["name"] = base_name
    record.pop("resolved")  # each sample's own resolved scenario is below
    warnings = warmup_warnings(batch.stocks.assign(scenario="all"))
    small = sample_warning(len(points), len(params))
    if small:
        warnings.append(small)
    manifest = {
        "kind": "sweep", "command": command, "created": started.isoformat(timespec="seconds"),
        "seed": seed, "years": years, "reps": reps, "design": design_method,
        "samples": len(points), "code_version": code_version(),
        "package_versions": package_versions(),
        "parameters": [{"path": p.path, "low": p.low, "high": p.high} for p in params],
        "scenarios": [record], "title": sweep_title(base_name, [p.path for p in params]),
        "points": points.to_dict(orient="records"),
        "resolved_samples": [s.model_dump(mode="json") for s in scenarios],
        "warnings": warnings,
    }
    with atomic_folder(out, force=True) as tmp:
        runs.to_parquet(tmp / "runs.parquet", index=False)
        summary.to_csv(tmp / "summary.csv", index=False)
        if not batch.failures.empty:
            batch.failures.to_csv(tmp / "failures.csv", index=False)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        from simulation.report.html import build_report

        build_report(tmp)
    return batch, manifest


def sensitivity_summary(folder: Path, top: int = 5) -> str:
    """The strongest sensitivities of the headline measures, for the terminal."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    params = [p["path"] for p in manifest["parameters"]]
    runs = pd.read_parquet(folder / "runs.parquet")
    kpis = [k for k in BRIEF_HEADLINE if k in runs.columns]
    means = runs.groupby("sample")[[*params, *kpis]].mean()
    lines = [manifest.get("title", "sweep") + f" ({len(means)} samples)"]
    if len(means) < len(params) + 2:
        return lines[0] + ": too few samples for partial rank correlations"
    found = strongest(prcc_table(means, params, kpis), len(means), top)
    band = prcc_interval(0.0, len(means), len(params))[1]
    lines.append(f"strongest sensitivities (partial rank correlation; with {len(means)} "
                 f"samples, chance alone gives values up to about ±{band:.2f}):")
    for kpi, param, r, _low, _high in found:
        way = "rises" if r > 0 else "falls"
        beyond = "" if abs(r) > band else "  (within what chance gives)"
        lines.append(f"  {label_of(kpi)} {way} with {param}: PRCC {r:+.2f}{beyond}")
    for warning in manifest.get("warnings", []):
        if "partial rank correlation" in warning:
            lines.append(f"warning: {warning}")
    return "\n".join(lines)
