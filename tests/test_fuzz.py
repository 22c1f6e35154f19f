"""Property: a mutated shipped scenario either fails cleanly or runs cleanly (issue 13).

Hypothesis mutates the shipped configs (deletes keys, puts NaN, infinities, negatives,
huge numbers, yes/no values, text, lists where numbers were, scales numbers, misspells
keys). The only allowed outcomes are: ``csflow validate`` exits 2 with one line per
problem and no traceback; or it exits 0 and a short run (the file's years, capped at 0.2
so CI stays quick) finishes, which means it conserved every child and has finite KPIs
(``simulate`` raises otherwise). A run that does not finish in 10 minutes is a hang.
Derandomized, so CI sees the same examples every time.
"""

from __future__ import annotations

import copy
import math
import signal
import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from simulation.cli import main
from simulation.outputs.run import simulate
from simulation.scenario import load_raw, load_scenario
from tests.conftest import CONFIGS, write_yaml

RAWS = {p.name: load_raw(p) for p in sorted(CONFIGS.glob("*.yaml"))}
MAX_YEARS = 0.2
HANG_SECONDS = 600

ODD_VALUES = [math.nan, math.inf, -math.inf, -1, 0, -1e12, 1e12, 1e300, True, False, "ten",
              [1, 2], {}, None, 1e-9, 0.5]
SCALES = [0.0, 1e-6, 0.1, 0.5, 2.0, 10.0, 1e6]


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = []
    items = node.items() if isinstance(node, dict) else enumerate(node) \
        if isinstance(node, list) else []
    for key, value in items:
        out.append((*prefix, key))
        out.extend(_paths(value, (*prefix, key)))
    return out


PATHS = {name: _paths(raw) for name, raw in RAWS.items()}


def _leaf(data: Any, path: tuple) -> Any:
    for key in path:
        data = data[key]
    return data


# Numbers are where bad input hid (distribution parameters, limits, costs): aim there most.
NUMBERS = {name: [p for p in paths if isinstance(_leaf(RAWS[name], p), int | float)]
           for name, paths in PATHS.items()}


def _parent(data: Any, path: tuple) -> Any:
    for key in path[:-1]:
        data = data[key]
    return data


def _mutate(data: dict, path: tuple, op: str, draw_value: Any, scale: float) -> None:
    try:
        parent = _parent(data, path)
        key = path[-1]
        current = parent[key]
    except (KeyError, IndexError, TypeError):
        return  # an earlier mutation removed or replaced this part
    if op == "delete":
        del parent[key]
    elif op == "replace":
        parent[key] = copy.deepcopy(draw_value)
    elif op == "scale" and isinstance(current, int | float) and not isinstance(current, bool):
        scaled = current * scale
        parent[key] = int(scaled) if isinstance(current, int) and scaled < 1e15 else scaled
    elif op == "misspell" and isinstance(parent, dict) and isinstance(key, str) and key:
        parent[key[::-1] if len(key) > 1 else key + "x"] = parent.pop(key)


@st.composite
def mutated(draw) -> tuple[str, dict]:
    name = draw(st.sampled_from(sorted(RAWS)))
    data = copy.deepcopy(RAWS[name])
    for _ in range(draw(st.integers(1, 3))):
        pool = draw(st.sampled_from([NUMBERS, NUMBERS, PATHS]))
        path = draw(st.sampled_from(pool[name]))
        op = draw(st.sampled_from(["delete", "replace", "scale", "scale", "scale", "misspell"]))
        _mutate(data, path, op, draw(st.sampled_from(ODD_VALUES)), draw(st.sampled_from(SCALES)))
    return name, data


def _on_hang(signum, frame):
    raise AssertionError(f"no result after {HANG_SECONDS} s: a hang")


@pytest.mark.slow
@settings(max_examples=500, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_mutated_scenarios_fail_cleanly_or_run_cleanly(case):
    name, data = case
    with tempfile.TemporaryDirectory() as folder:
        path = write_yaml(Path(folder) / name, data)
        result = CliRunner().invoke(main, ["validate", str(path)])
        assert "Traceback" not in result.output, result.output
        assert result.exit_code in (0, 2), (result.exit_code, result.output, result.exception)
        if result.exit_code == 2:
            lines = result.output.strip().splitlines()
            assert lines and lines[0].startswith("error: ")
            assert all(str(path) in line for line in lines), result.output  # names the file
            event("rejected")
            return
        scenario = load_scenario(path)
    previous = signal.signal(signal.SIGALRM, _on_hang)
    signal.alarm(HANG_SECONDS)
    try:
        run = simulate(scenario, 1, min(scenario.run.years, MAX_YEARS))  # guards itself
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert all(not isinstance(v, float) or not math.isinf(v) for v in run.kpis.values())
    event("ran")
