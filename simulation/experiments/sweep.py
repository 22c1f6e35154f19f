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
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import qmc

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
