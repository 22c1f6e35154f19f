"""Operating models and the living workforce: mechanisms on shared seeds."""

from __future__ import annotations

import copy

import pytest
from click.testing import CliRunner

from simulation.analysis.stats import mean_ci
from simulation.cli import main
from simulation.outputs.run import simulate
from simulation.scenario import STAGES, load_raw, load_scenario, validate, without_effects
from tests.conftest import CONFIGS

YEARS = 2


def _static(raw: dict) -> dict:
    """No turnover and no absence: the workforce stands still."""
    raw = copy.deepcopy(raw)
    wf = raw["workforce"]
    wf.update(turnover_rate=0.0, agency_turnover_rate=0.0, initial_vacancy_rate=0.0,
              internal_move_rate=0.0)
    wf.pop("annual_leave", None)
    wf.pop("sickness", None)
    return raw


def _kpis(raw: dict, seeds=(1, 2)) -> list[dict]:
    scenario = without_effects(validate(raw))
    return [simulate(scenario, seed, YEARS).kpis for seed in seeds]


def _mean(rows: list[dict], kpi: str) -> float:
    return sum(r[kpi] for r in rows) / len(rows)


def test_one_team_holding_every_stage_gives_no_handovers(baseline_raw):
    raw = _static(baseline_raw)
    raw["structure"] = {"teams": [{"name": "one", "count": 25, "holds": list(STAGES),
                                   "caseload_limit": 18,
                                   "staff": {"social_worker": 7}}]}
    for k in _kpis(raw):
        assert k["sw_changes_handover"] == 0
        assert k["sw_changes_departure"] == 0 and k["sw_changes_absence"] == 0


def test_pods_and_fsp_hand_over_less_than_hub():
    handovers = {}
    for name in ("hub", "pods", "fsp"):
        raw = _static(load_raw(CONFIGS / f"{name}.yaml"))
        handovers[name] = _mean(_kpis(raw), "sw_changes_handover")
    assert handovers["fsp"] < handovers["pods"] < handovers["hub"], handovers


def test_raising_turnover_raises_departure_changes(baseline_raw):
    low, high = copy.deepcopy(baseline_raw), copy.deepcopy(baseline_raw)
    low["workforce"]["turnover_rate"] = 0.05
    high["workforce"]["turnover_rate"] = 0.30
    k_low, k_high = _kpis(low), _kpis(high)
    assert _mean(k_high, "sw_changes_departure") > _mean(k_low, "sw_changes_departure")
    assert _mean(k_high, "staff_turnover_rate") > _mean(k_low, "staff_turnover_rate")


def test_cover_by_a_known_worker_shows_in_known_changes(baseline_raw):
    duty, known = copy.deepcopy(baseline_raw), copy.deepcopy(baseline_raw)
    for team in known["structure"]["teams"]:
        team.update(cover="colleague", co_working=True)
    k_duty, k_known = _kpis(duty), _kpis(known)
    assert _mean(k_known, "changes_to_known_worker_rate") > \
        _mean(k_duty, "changes_to_known_worker_rate") + 0.05


@pytest.mark.slow
def test_turnover_rate_comes_out_as_configured(baseline):
    """Exponential careers at rate 0.118 give that turnover, within the replication CI."""
    rates = [simulate(baseline, seed, 3).kpis["staff_turnover_rate"] for seed in range(6)]
    ci = mean_ci(rates)
    assert ci.low <= baseline.workforce.turnover_rate <= ci.high, ci


def test_support_workers_free_time_for_families(baseline_raw):
    """Recording taken off social workers becomes face-to-face time (a mechanism, not an effect)."""
    without = _static(baseline_raw)
    with_support = copy.deepcopy(without)
    for team in with_support["structure"]["teams"]:
        team["staff"]["case_support_worker"] = 1
    a = _mean(_kpis(without, seeds=(3,)), "face_to_face_hours_per_child_week")
    b = _mean(_kpis(with_support, seeds=(3,)), "face_to_face_hours_per_child_week")
    assert b > a * 1.1, (a, b)


def test_effects_change_results_and_can_be_switched_off():
    fsp = load_scenario(CONFIGS / "fsp.yaml")
    assert fsp.assumed_effects(), "fsp.yaml declares assumed effects"
    with_effects = simulate(fsp, 4, YEARS).kpis
    alone = simulate(without_effects(fsp), 4, YEARS).kpis
    assert without_effects(fsp).assumed_effects() == []
    assert with_effects["cla_started"] < alone["cla_started"]


def test_kpis_csv_says_which_effects_were_assumed(tmp_path):
    runner = CliRunner()
    for flag, expect in (([], "fsp.cla_entry=-0.15"), (["--no-effects"], None)):
        out = tmp_path / f"fsp{len(flag)}"
        result = runner.invoke(main, ["run", str(CONFIGS / "fsp.yaml"), "--years", "0.3",
                                      "--out", str(out), *flag])
        assert result.exit_code == 0, result.output
        import pandas as pd

        row = pd.read_csv(out / "kpis.csv", keep_default_na=False).iloc[0]
        if expect:
            assert expect in row["assumed_effects"]
            assert "Assumed effects (inputs, not findings)" in result.output
        else:
            assert row["assumed_effects"] == ""
            assert "structure alone" in result.output


@pytest.mark.parametrize("config", sorted(p.name for p in CONFIGS.glob("*.yaml")))
def test_every_shipped_config_runs_end_to_end(tmp_path, config):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(CONFIGS / config), "--years", "1",
                                       "--seed", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} >= {"kpis.csv", "children.parquet",
                                                "stocks.parquet", "manifest.json"}


@pytest.mark.parametrize("overlay", sorted(p.name for p in (CONFIGS / "practice").glob("*.yaml")))
def test_every_practice_overlay_applies_to_every_structure(overlay):
    for structure in ("baseline", "hub", "pods", "fsp", "hackney_units"):
        s = load_scenario(CONFIGS / f"{structure}.yaml", [CONFIGS / "practice" / overlay])
        assert any(g in s.effects for g in (overlay.removesuffix(".yaml"),))


def test_fourth_structure_is_yaml_alone():
    """Hackney units use only the team mechanism: co-working units holding CIN to care."""
    s = load_scenario(CONFIGS / "hackney_units.yaml")
    unit = next(t for t in s.structure.teams if t.name == "unit")
    assert unit.co_working and set(unit.holds) == {"cin", "cp", "cla"}
    k = simulate(s, 1, YEARS).kpis
    base = simulate(load_scenario(CONFIGS / "baseline.yaml"), 1, YEARS).kpis
    assert k["face_to_face_hours_per_child_week"] > base["face_to_face_hours_per_child_week"]
    assert k["changes_to_known_worker_rate"] > base["changes_to_known_worker_rate"]
