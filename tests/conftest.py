"""Shared fixtures: the shipped scenarios and small, fast variants of them."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from simulation.scenario import Scenario, load_raw, validate

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


@pytest.fixture(scope="session")
def baseline_raw() -> dict:
    return load_raw(CONFIGS / "baseline.yaml")


@pytest.fixture
def raw(baseline_raw: dict) -> dict:
    """A fresh, mutable copy of the merged baseline mapping."""
    return copy.deepcopy(baseline_raw)


@pytest.fixture(scope="session")
def baseline() -> Scenario:
    return validate(load_raw(CONFIGS / "baseline.yaml"))


def small(raw: dict, scale: float = 0.1) -> Scenario:
    """The scenario for a council ``scale`` times the size (staff and caseload scaled too)."""
    data = copy.deepcopy(raw)
    data["structure"].pop("sized_for_population", None)  # sized by hand below
    data["population"] = int(data["population"] * scale)
    data["initial_state"] = {k: v if k in ("history", "cases") else int(round(v * scale))
                             for k, v in data["initial_state"].items()}
    if data["initial_state"].get("cases"):
        raise ValueError("small(): scale a scenario with open-case groups by hand")
    for team in data["structure"]["teams"]:
        team["count"] = max(1, int(round(team["count"] * scale))) \
            if team.get("assignment", "least_loaded") != "locality" else team["count"]
        if team.get("assignment") == "locality":
            team["staff"] = {r: fte * scale for r, fte in team["staff"].items()}
    return validate(data)


def write_yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
