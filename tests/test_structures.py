"""Every shipped structure is matched to the baseline: same qualified case-holding FTE and
the same declared management rule (docs/operating-models.md, "How they are matched")."""

from __future__ import annotations

import pytest

from models.teams import Allocator
from simulation.engine.recorder import Recorder
from simulation.scenario import ScenarioError, load_raw, load_scenario, validate
from simulation.scenario.schema.scenario import MANAGER
from tests.conftest import CONFIGS

STRUCTURES = sorted(p.name for p in CONFIGS.glob("*.yaml"))


@pytest.fixture(scope="module")
def reference():
    return load_scenario(CONFIGS / "baseline.yaml")


@pytest.mark.parametrize("config", STRUCTURES)
def test_same_qualified_case_holding_fte(config, reference):
    scenario = load_scenario(CONFIGS / config)
    assert scenario.qualified_fte() == pytest.approx(reference.qualified_fte(), abs=1e-6)


@pytest.mark.parametrize("config", STRUCTURES)
def test_same_management_rule(config, reference):
    scenario = load_scenario(CONFIGS / config)
    rule = reference.structure.qualified_per_team_manager
    assert rule is not None
    assert scenario.structure.qualified_per_team_manager == rule
    for team in scenario.structure.teams:
        assert MANAGER not in team.staff, (config, team.name)
    posts = Allocator(scenario, None, Recorder(1)).posts
    managers = sum(p.fte for p in posts if p.role == MANAGER)
    assert managers == pytest.approx(scenario.qualified_fte() / rule, abs=1e-3)


def test_a_team_declaring_its_own_managers_is_refused(baseline_raw):
    baseline_raw = dict(baseline_raw)
    teams = [dict(t) for t in baseline_raw["structure"]["teams"]]
    teams[1] = dict(teams[1], staff={**teams[1]["staff"], MANAGER: 1})
    baseline_raw["structure"] = dict(baseline_raw["structure"], teams=teams)
    with pytest.raises(ScenarioError, match=r"structure.teams.1.staff.team_manager: set by "
                                            r"the management rule"):
        validate(baseline_raw)


def test_without_the_rule_managers_are_as_declared():
    raw = load_raw(CONFIGS / "baseline.yaml")
    raw["structure"] = dict(raw["structure"], qualified_per_team_manager=None)
    raw["structure"]["teams"] = [dict(t, staff={**t["staff"], MANAGER: 2})
                                 for t in raw["structure"]["teams"]]
    scenario = validate(raw)
    posts = Allocator(scenario, None, Recorder(1)).posts
    assert sum(p.fte for p in posts if p.role == MANAGER) == 2 * 25
