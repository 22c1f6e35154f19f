"""Scenario validation: every broken file gives exit 2 and one line naming the field."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from click.testing import CliRunner

from simulation.cli import main
from simulation.scenario import ScenarioError, load_scenario, validate
from simulation.scenario.effects import apply_effects
from tests.conftest import CONFIGS, write_yaml


def _set(data: dict, path: str, value) -> dict:
    *head, last = path.split(".")
    node = data
    for part in head:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[last] = value
    return data


def _drop_stage(data: dict) -> dict:
    for team in data["structure"]["teams"]:
        team["holds"] = [s for s in team["holds"] if s != "cla"] or ["cin"]
    return data


BROKEN = [
    # (id, mutation, words the message must contain)
    ("unknown key", lambda d: _set(d, "demand.contact_rate", 5), "demand.contact_rate: unknown field"),
    ("wrong type", lambda d: _set(d, "population", "lots"), "population:"),
    ("probability > 1", lambda d: _set(d, "pathway.referral_nfa_rate", 1.4),
     "pathway.referral_nfa_rate: Input should be less than or equal to 1"),
    ("negative probability", lambda d: _set(d, "pathway.s47.icpc_rate", -0.1),
     "pathway.s47.icpc_rate"),
    ("branches not summing to 1", lambda d: _set(d, "pathway.cp.outcomes.cla", 0.5),
     "pathway.cp.outcomes: branches must sum to 1"),
    ("negative duration", lambda d: _set(d, "pathway.cin.duration",
                                          {"dist": "lognormal", "median": -3, "q75": 5}),
     "pathway.cin.duration: bad distribution: median must be > 0"),
    ("unknown distribution", lambda d: _set(d, "pathway.cla.duration", {"dist": "normal"}),
     "pathway.cla.duration: bad distribution: dist must be one of"),
    ("stage no team holds", _drop_stage, "structure: no team holds stage(s): cla"),
    ("unknown role", lambda d: _set(d, "structure.teams.0.staff", {"wizard": 3}),
     "structure.teams.0.staff: role(s) not in workforce.roles: wizard"),
    ("no case-holding staff", lambda d: _set(d, "structure.teams.0.staff", {"team_manager": 1}),
     "structure.teams.0.staff: team 'assessment' holds assessment, s47 but has no "
     "case-holding capacity"),
    ("negative initial state", lambda d: _set(d, "initial_state.cp", -5), "initial_state.cp"),
    ("sources not summing to 1", lambda d: _set(d, "demand.referral_sources.police", 0.9),
     "demand.referral_sources: shares must sum to 1"),
    ("locality count mismatch", lambda d: _set(d, "structure.teams.0.assignment", "locality"),
     "assignment 'locality' needs count == number of localities"),
    ("effect on a missing field", lambda d: _set(d, "effects", {"x": {"y": {
        "kind": "probability", "target": "pathway.cp.outcomes.jail", "value": -0.1,
        "low": -0.2, "high": 0, "evidence": "none"}}}), "effects.x.y: target"),
    ("effect kind mismatch", lambda d: _set(d, "effects", {"x": {"y": {
        "kind": "duration", "target": "pathway.s47.icpc_rate", "value": -0.1,
        "low": -0.2, "high": 0, "evidence": "none"}}}), "is not a duration distribution"),
    ("effect range reversed", lambda d: _set(d, "effects", {"x": {"y": {
        "kind": "duration", "target": "pathway.cp.duration", "value": -0.1,
        "low": 0.2, "high": 0, "evidence": "none"}}}), "must not exceed high"),
    # Issue 13 reproductions: each validated (or crashed, hung, or was quietly changed)
    # before; now each is one line naming the field, exit 2, before anything runs.
    ("histogram edge NaN", lambda d: _set(d, "pathway.cp.duration", {
        "dist": "histogram", "edges": [0, float("nan")], "weights": [1], "unit": "days"}),
     "pathway.cp.duration: bad distribution: edges[1] must be a finite number"),
    ("effect on a whole number", lambda d: _effect(d, "rate", "structure.teams.0.count", 0.1),
     "effects.x.y: target 'structure.teams.0.count' is a whole number"),
    ("effect value NaN", lambda d: _effect(d, "rate", "demand.contacts_per_10k", float("nan")),
     "effects.x.y.value: must be a finite number"),
    ("effect pushes a value out of bounds", lambda d: _effect(
        d, "rate", "workforce.turnover_rate", 50.0),
     "(after effects): workforce.turnover_rate: Input should be less than or equal to 5"),
    ("effect target negative index", lambda d: _effect(
        d, "rate", "structure.teams.-1.caseload_limit", 0.1),
     "effects.x.y: target 'structure.teams.-1.caseload_limit': no field 'structure.teams.-1'"),
    ("lognormal q75 overflow", lambda d: _set(d, "pathway.cin.duration", {
        "dist": "lognormal", "median": 3, "q75": 1.0e30}),
     "pathway.cin.duration: bad distribution: parameters too large"),
    ("lognormal sigma overflow", lambda d: _set(d, "pathway.cin.duration", {
        "dist": "lognormal", "median": 3, "sigma": 50}),
     "pathway.cin.duration: bad distribution: parameters too large"),
    ("histogram weight text", lambda d: _set(d, "pathway.cp.duration.weights",
                                             ["ten", 11.0, 43.5, 25.2, 4.4]),
     "pathway.cp.duration: bad distribution: weights[0] must be a finite number, got 'ten'"),
    ("dist is a mapping", lambda d: _set(d, "pathway.cin.duration", {"dist": {"x": 1}}),
     "pathway.cin.duration: bad distribution: dist must be one of"),
    ("unit is a list", lambda d: _set(d, "pathway.cin.duration.unit", [1, 2]),
     "pathway.cin.duration: bad distribution: unit must be one of"),
    ("caseload limit inf", lambda d: _set(d, "structure.teams.0.caseload_limit", float("inf")),
     "structure.teams.0.caseload_limit: must be a finite number"),
    ("staff FTE inf", lambda d: _set(d, "structure.teams.0.staff.social_worker", float("inf")),
     "structure.teams.0.staff.social_worker: must be a finite number"),
    ("multiplier inf", lambda d: _set(d, "pathway.cin.duration.multiplier", float("inf")),
     "pathway.cin.duration: bad distribution: multiplier must be a number > 0"),
    ("cost inf", lambda d: _set(d, "costs.placement_weekly_gbp.residential", float("inf")),
     "costs.placement_weekly_gbp.residential: must be a finite number"),
    ("snapshots every 1e-6 days", lambda d: _set(d, "run.snapshot_interval_days", 1e-6),
     "run.snapshot_interval_days: Input should be greater than or equal to 1"),
    ("reviews every 1e-6 months", lambda d: _set(d, "pathway.cp.review_interval_months", 1e-6),
     "pathway.cp.review_interval_months: Input should be greater than or equal to 0.25"),
    ("population beyond the schema", lambda d: _set(d, "population", 10**12),
     "population: Input should be less than or equal to 100000000"),
    ("population too big for memory", lambda d: _set(d, "population", 50_000_000),
     "GB of memory (limit 64 GB)"),
    ("initial state beyond the population", lambda d: _set(d, "initial_state.cla", 200_000),
     "open cases for a population of 100,000 children"),
    ("localities not summing to 1", lambda d: _set(d, "structure.localities",
                                                   {"north": 0.9, "south": 0.9}),
     "structure.localities: locality shares must sum to 1, got 1.8"),
    ("true as a count", lambda d: _set(d, "structure.teams.0.count", True),
     "structure.teams.0.count: must be a number, got true"),
    ("true as a cost", lambda d: _set(d, "costs.placement_weekly_gbp.residential", True),
     "costs.placement_weekly_gbp.residential: must be a number, got true"),
    ("true as a share", lambda d: _set(d, "pathway.s47.icpc_rate", True),
     "pathway.s47.icpc_rate: must be a number, got true"),
    ("stage lasting no time", lambda d: _set(d, "pathway.cin.duration",
                                             {"dist": "fixed", "value": 0}),
     "pathway.cin.duration: bad distribution: mean 0 days; a stage must last at least 1 day"),
    ("applies_to outside the pathway", lambda d: _set(d, "effects", {"x": {"y": {
        "kind": "rate", "target": "structure.teams.*.caseload_limit", "value": -0.1,
        "low": -0.2, "high": 0, "evidence": "none",
        "applies_to": {"factors": ["mental_health"]}}}}), "targets must be in pathway"),
    ("unknown factor", lambda d: _set(d, "effects", {"x": {"y": {
        "kind": "duration", "target": "pathway.cp.duration", "value": -0.1,
        "low": -0.2, "high": 0, "evidence": "none",
        "applies_to": {"factors": ["poverty"]}}}}), "applies_to.factors"),
    ("uasc placement unknown", lambda d: _set(d, "demand.unaccompanied.placements",
                                              {"hotel": 1.0}), "not in pathway.cla.placements"),
    ("history odds not positive", lambda d: _set(d, "pathway.history.previous_cp.odds_ratio",
                                                 0), "pathway.history.previous_cp.odds_ratio"),
    ("open-case groups disagree with the count", lambda d: _cases(d, count=3),
     "initial_state.cases: the cla groups hold 3 cases but initial_state.cla is 546"),
    ("open-case age band reversed", lambda d: _cases(d, age_years=[10, 5]),
     "initial_state.cases.0.age_years: must be [low, high] with 0 <= low <= high <= 18"),
    ("open-case aged 18 or over", lambda d: _cases(d, age_years=[16, 21]),
     "initial_state.cases.0.age_years: must be [low, high] with 0 <= low <= high <= 18"),
    ("open-case elapsed band of one value", lambda d: _cases(d, elapsed_days=[30]),
     "initial_state.cases.0.elapsed_days: must be [low, high], got 1 value(s)"),
    ("open-case stage unknown", lambda d: _cases(d, stage="closed_returning"),
     "initial_state.cases.0.stage: Input should be"),
    ("open-case negative count", lambda d: _cases(d, count=-1),
     "initial_state.cases.0.count: Input should be greater than or equal to 0"),
    ("open-case past share above 1", lambda d: _cases(d, previous_cp=2),
     "initial_state.cases.0.previous_cp: Input should be less than or equal to 1"),
    ("care begun before birth", lambda d: _cases(d, age_years=[0, 1],
                                                 elapsed_days=[730, 1826]),
     "initial_state.cases.0: elapsed_days: care cannot have begun before birth"),
]


def _cases(data: dict, **change) -> dict:
    """Day 0's looked-after children declared as one group (initial_state.cases), changed."""
    group = {"stage": "cla", "count": data["initial_state"]["cla"], "age_years": [5, 10],
             "elapsed_days": [365, 730], **change}
    data["initial_state"]["cases"] = [group]
    return data


def _effect(data: dict, kind: str, target: str, value: float) -> dict:
    return _set(data, "effects", {"x": {"y": {"kind": kind, "target": target, "value": value,
                                             "low": -0.5, "high": 100, "evidence": "t"}}})


@pytest.mark.parametrize("name, mutate, words", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_scenario_exits_2_naming_the_field(tmp_path, raw, name, mutate, words):
    path = write_yaml(tmp_path / "broken.yaml", mutate(copy.deepcopy(raw)))
    out = tmp_path / "out"
    runner = CliRunner()
    for args in (["validate", str(path)], ["run", str(path), "--years", "0.1", "--out", str(out)]):
        result = runner.invoke(main, args)
        assert result.exit_code == 2, (args, result.output)
        assert words in result.output, result.output
        assert "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1, result.output  # one problem
    assert not out.exists(), "a failed run must not create its output folder"


@pytest.mark.parametrize("content, words", [
    ("population: [1, 2", "not valid YAML at line"),
    ("- just\n- a list\n", "top level must be a mapping"),
    ("extends: missing.yaml\nname: x\n", "missing.yaml: file not found"),
])
def test_unreadable_files_exit_2(tmp_path, content, words):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2 and words in result.output, result.output


def test_missing_file_and_bad_flags_exit_2(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["validate", str(tmp_path / "nope.yaml")]).exit_code == 2
    result = runner.invoke(main, ["run", str(CONFIGS / "baseline.yaml"), "--years", "-1"])
    assert result.exit_code == 2 and "--years" in result.output


def test_extends_loop_is_reported(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(ScenarioError, match="extends loop"):
        load_scenario(tmp_path / "a.yaml")


def test_extends_is_a_small_diff(tmp_path):
    (tmp_path / "base.yaml").write_text((CONFIGS / "baseline.yaml").read_text())
    (tmp_path / "diff.yaml").write_text(
        "extends: base.yaml\nname: quicker\npathway:\n  s47:\n    icpc_rate: 0.5\n")
    base, diff = load_scenario(tmp_path / "base.yaml"), load_scenario(tmp_path / "diff.yaml")
    assert diff.name == "quicker" and diff.pathway.s47.icpc_rate == 0.5
    assert diff.pathway.s47.time_to_icpc == base.pathway.s47.time_to_icpc
    assert diff.structure == base.structure


def test_shipped_configs_validate():
    for path in sorted(CONFIGS.glob("*.yaml")):
        result = CliRunner().invoke(main, ["validate", str(path)])
        assert result.exit_code == 0, (path, result.output)


def test_probability_effect_rescales_the_other_branches(raw):
    raw["effects"] = {"fsp": {"cla_entry": {
        "kind": "probability", "target": "pathway.cp.outcomes.cla", "value": -0.5,
        "low": -0.5, "high": 0, "evidence": "test"}}}
    s = apply_effects(validate(raw))
    before = validate({**raw, "effects": {}}).pathway.cp.outcomes
    after = s.pathway.cp.outcomes
    assert after.cla == pytest.approx(before.cla * 0.5)
    assert after.cin + after.close + after.cla == pytest.approx(1.0)
    assert after.cin / after.close == pytest.approx(before.cin / before.close)


def test_duration_and_rate_effects(raw):
    raw["effects"] = {"m": {
        "shorter_cp": {"kind": "duration", "target": "pathway.cp.duration", "value": -0.2,
                       "low": -0.3, "high": 0, "evidence": "t"},
        "fewer_contacts": {"kind": "rate", "target": "demand.contacts_per_10k", "value": -0.1,
                           "low": -0.1, "high": 0, "evidence": "t"}}}
    s = apply_effects(validate(raw))
    assert s.pathway.cp.duration["multiplier"] == pytest.approx(0.8)
    assert s.demand.contacts_per_10k == pytest.approx(raw["demand"]["contacts_per_10k"] * 0.9)


def test_zero_effects_leave_the_scenario_unchanged(baseline):
    assert apply_effects(baseline) is baseline


def test_config_files_have_sources_for_their_numbers():
    text = (CONFIGS / "baseline.yaml").read_text()
    for marker in ("EES 911dae20", "EES 3fb5a93d", "EES b0749fa2", "EES 04a78d29"):
        assert marker in text
    assert Path(CONFIGS / "hub.yaml").read_text().count("seed 001") >= 1
