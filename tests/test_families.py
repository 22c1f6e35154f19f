"""Parental factors, a child's past and unaccompanied children change what the model does.

* adult practitioners' hours reach only families with their factor (child by child);
* effects declared for families with factors leave the other families alone;
* a child's past raises the odds it should (direction), and the CP repeat share follows;
* unaccompanied children add to the looked-after count and to nothing else.
The calibration to the national repeat-CP and 18+ leaver shares is in test_calibration.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from simulation.analysis.stats import mean_ci
from simulation.engine.contacts import draw_contacts
from simulation.engine.journey import Simulation
from simulation.engine.routing import raise_odds, with_history
from simulation.outputs.run import simulate
from simulation.randomness.distributions import build_distribution
from simulation.randomness.streams import Streams
from simulation.scenario import load_raw, validate, without_effects
from simulation.scenario.schema.workforce import PARENTAL_FACTORS

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
FSP_FACTORS = ["domestic_abuse", "mental_health", "substance_misuse"]


@pytest.fixture(scope="module")
def fsp_raw() -> dict:
    return load_raw(CONFIGS / "fsp.yaml")


@pytest.fixture(scope="module")
def fsp_children(fsp_raw):
    return simulate(without_effects(validate(fsp_raw)), seed=3, years=1).children()


def test_every_shipped_config_has_parental_factors():
    for path in sorted(CONFIGS.glob("*.yaml")):
        p = validate(load_raw(path)).demand.parental_factors
        assert min(p.domestic_abuse, p.mental_health, p.substance_misuse) > 0, path.name


def test_adult_practitioner_hours_reach_only_families_with_their_factor(fsp_children):
    """FSP with effects off, child by child: hours for factor f only where the child has f."""
    t = fsp_children
    for factor in PARENTAL_FACTORS:
        hours = t[f"adult_hours_{factor}"]
        assert (hours[~t[factor]] == 0).all(), factor
        assert hours[t[factor]].sum() > 0, f"no {factor} practitioner hours reached anyone"
    none = ~t[list(PARENTAL_FACTORS)].any(axis=1)
    assert none.sum() > 0
    total = t[[f"adult_hours_{f}" for f in PARENTAL_FACTORS]].sum(axis=1)
    assert (total[none] == 0).all()


def test_baseline_has_no_adult_practitioner_hours(baseline):
    t = simulate(baseline, seed=3, years=0.5).children()
    assert (t[[f"adult_hours_{f}" for f in PARENTAL_FACTORS]].to_numpy() == 0).all()


def test_face_to_face_split_without_effects(fsp_raw, baseline):
    """FSP's adult practitioners add face-to-face time for families with factors only."""
    fsp = simulate(without_effects(validate(fsp_raw)), seed=4, years=1).kpis
    assert (fsp["face_to_face_hours_with_factors_per_child_week"]
            > fsp["face_to_face_hours_without_factors_per_child_week"] * 1.2)
    base = simulate(baseline, seed=4, years=1).kpis
    # the baseline has no one who works with the factors: both groups get the same time
    assert base["face_to_face_hours_with_factors_per_child_week"] == pytest.approx(
        base["face_to_face_hours_without_factors_per_child_week"], rel=0.05)


def test_targeted_effects_act_only_on_families_with_factors(fsp_raw):
    """The resolved pathway of a family without factors is the no-effects one, whatever its
    past; a family with a factor meets the effects."""
    with_fx = Simulation(validate(fsp_raw), seed=1, years=0.1).routes
    without = Simulation(without_effects(validate(fsp_raw)), seed=1, years=0.1).routes
    for past in ((False, False), (True, False), (False, True), (True, True)):
        a, b = with_fx.get(0, *past), without.get(0, *past)
        assert a.cp_outcome.cum == b.cp_outcome.cum
        assert a.assessment_outcome.cum == b.assessment_outcome.cum
        assert a.d_cp.ppf(0.5) == b.d_cp.ppf(0.5)
        for mask in (1, 2, 4, 7):
            c = with_fx.get(mask, *past)
            assert c.cp_outcome.cum != b.cp_outcome.cum
            assert c.d_cp.ppf(0.5) < b.d_cp.ppf(0.5)


def _care_share(children, has_factor: bool) -> float:
    referred = children[(children["referrals"] > 0) & ~children["initial_caseload"]]
    group = referred[referred[FSP_FACTORS].any(axis=1) == has_factor]
    return float(group["stages"].str.contains("cla").mean())


def test_fsp_effects_change_nothing_for_families_without_factors(fsp_raw):
    """Paired seeds, stratified: entries to care of referred children without factors are
    the same with and without FSP's effects (paired differences' 95% CI covers 0); those
    with factors fall (CI below 0). Children's stages depend only on their own luck and
    the pathway they meet, so most pairs are identical."""
    fsp = validate(fsp_raw)
    off = without_effects(fsp)
    diff_none, diff_factor = [], []
    for seed in range(4):
        on_t = simulate(fsp, seed=10 + seed, years=2).children()
        off_t = simulate(off, seed=10 + seed, years=2).children()
        diff_none.append(_care_share(on_t, False) - _care_share(off_t, False))
        diff_factor.append(_care_share(on_t, True) - _care_share(off_t, True))
    none, factor = mean_ci(diff_none), mean_ci(diff_factor)
    assert none.low <= 0 <= none.high or (none.low == none.high == 0), none
    assert factor.high < 0, factor


def test_raise_odds():
    assert raise_odds(0.2, 1.0) == pytest.approx(0.2)
    assert raise_odds(0.2, 4.0) == pytest.approx(0.5)
    assert raise_odds(1.0, 3.0) == 1.0


def test_history_raises_the_routes_it_should(baseline):
    p = baseline.pathway
    cp = with_history(p, previous_cp=True, previous_cla=False)
    assert cp.assessment.outcomes.s47 > p.assessment.outcomes.s47
    assert cp.icpc.cp_plan_rate > p.icpc.cp_plan_rate
    assert cp.assessment.outcomes.cla < p.assessment.outcomes.cla  # rescaled branch
    cla = with_history(p, previous_cp=False, previous_cla=True)
    assert cla.cp.outcomes.cla > p.cp.outcomes.cla
    assert cla.icpc.cp_plan_rate == p.icpc.cp_plan_rate


def _repeat(raw: dict, odds: float, reps: int = 3) -> list[float]:
    data = copy.deepcopy(raw)
    data["pathway"]["history"]["previous_cp"]["odds_ratio"] = odds
    s = validate(data)
    return [simulate(s, seed=20 + r, years=2).kpis["cp_repeat_rate"] for r in range(reps)]


def test_higher_history_odds_give_more_repeat_cp_plans(raw):
    """Direction, paired seeds: odds ratio 1 -> 5 raises the repeat share in every pair."""
    low, high = _repeat(raw, 1.0), _repeat(raw, 5.0)
    ci = mean_ci(np.subtract(high, low))
    assert ci.low > 0, (low, high)


def test_unaccompanied_children_raise_cla_only(raw):
    """More unaccompanied entries: more looked after including them, the same without
    (paired seed: the other children's numbers are untouched, their own streams)."""
    more = copy.deepcopy(raw)
    more["demand"]["unaccompanied"]["entries_per_10k"] *= 3
    a = simulate(validate(raw), seed=7, years=2).kpis
    b = simulate(validate(more), seed=7, years=2).kpis
    assert b["cla_per_10k_end"] > a["cla_per_10k_end"]
    assert b["cla_per_10k_end_excl_uasc"] == a["cla_per_10k_end_excl_uasc"]
    assert b["cp_plans_started"] == a["cp_plans_started"]
    assert b["cla_leavers_18plus_rate"] > a["cla_leavers_18plus_rate"]


def test_unaccompanied_children_are_16_17_in_care_and_leave_by_18(raw):
    sim_result = simulate(validate(raw), seed=8, years=3)
    t = sim_result.children()
    u = t[t["unaccompanied"]]
    assert len(u) > 0
    new = u[u["arrival_day"] >= 0]
    assert new["age_at_arrival"].between(16, 18).all()
    assert (u["stages"] == "cla").all()
    assert (u["referrals"] == 0).all()
    episodes = [e for e in sim_result.simulation.rec.cla_episodes
                if e[0] in set(u["child_id"])]
    assert episodes and all(route in ("18+", "other") for *_, route in episodes)


def test_adding_unaccompanied_children_shifts_no_other_stream(raw):
    none = copy.deepcopy(raw)
    del none["demand"]["unaccompanied"]
    a, b = validate(raw), validate(none)
    front = build_distribution(a.demand.front_door.decision_time)
    ca = draw_contacts(a, Streams(5), 365.0, front)
    cb = draw_contacts(b, Streams(5), 365.0, front)
    assert np.array_equal(ca.arrival, cb.arrival) and np.array_equal(ca.luck_row, cb.luck_row)
    kb = simulate(b, seed=5, years=1).kpis
    assert kb["cla_per_10k_end"] == kb["cla_per_10k_end_excl_uasc"]


def test_children_in_need_counts_every_open_case(baseline):
    r = simulate(baseline, seed=9, years=1)
    end = r.stocks[r.stocks["day"] == r.stocks["day"].max()].set_index("stage")["open"]
    per_10k = 10_000 / baseline.population
    expected = sum(end[s] for s in ("assessment", "s47", "cin", "cp", "cla")) * per_10k
    assert r.kpis["children_in_need_per_10k_end"] == pytest.approx(expected)
    assert r.kpis["children_in_need_per_10k_end"] > r.kpis["cin_per_10k_end"] + \
        r.kpis["cp_per_10k_end"] + r.kpis["cla_per_10k_end"]
