"""Day 0's open caseload declared as groups (initial_state.cases): the run starts with those
children (stage, age, elapsed time, past), their remaining time follows the stage's law
given the time elapsed, and a caseload's ages move its year-1 leavers the way they should.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulation.engine.initial import cdf, residual
from simulation.outputs.run import simulate
from simulation.randomness.distributions import DAYS_PER_YEAR, build_distribution
from simulation.scenario import validate
from tests.conftest import small

Z = 4.0
GROUPS = [
    {"stage": "cla", "count": 40, "age_years": [10, 16], "elapsed_days": [730, 1826],
     "previous_cp": 1.0, "previous_cla": 0.0},
    {"stage": "cla", "count": 12, "age_years": [1, 5], "elapsed_days": [0, 91],
     "previous_cp": 0.0, "previous_cla": 0.25},
    {"stage": "cp", "count": 30, "age_years": [5, 10], "elapsed_days": [183, 365],
     "previous_cp": 0.5, "previous_cla": 0.0},
    {"stage": "cin", "count": 25, "age_years": [0, 1], "elapsed_days": [0, 91]},
]


def with_groups(raw: dict, groups: list[dict]) -> object:
    """The small baseline with these groups as the caseload of the stages they name."""
    data = small(raw).model_dump()
    init = data["initial_state"]
    for stage in {g["stage"] for g in groups}:
        init[stage] = sum(g["count"] for g in groups if g["stage"] == stage)
    init["cases"] = groups
    return validate(data)


@pytest.fixture(scope="module")
def started(baseline_raw):
    s = with_groups(baseline_raw, GROUPS)
    return s, simulate(s, 3, 7 / DAYS_PER_YEAR)  # a week: day 0's children, barely moved


def test_the_run_starts_with_the_declared_children(started):
    s, result = started
    table = result.simulation.rec.children_table()
    initial = table[table["initial_caseload"]].copy()
    initial["first"] = initial["stages"].str.split(">").str[0]
    initial["elapsed"] = -initial["arrival_day"]
    initial["age"] = initial["age_at_arrival"] + initial["elapsed"] / DAYS_PER_YEAR
    for stage in ("cin", "cp", "cla"):  # grouped stages: exactly the groups' children
        assert (initial["first"] == stage).sum() == getattr(s.initial_state, stage)
    # children are created group by group, after those of the stages declared by count
    total = sum(g["count"] for g in GROUPS)
    rows = initial.sort_values("child_id").iloc[-total:]
    at = 0
    for g in GROUPS:
        part = rows.iloc[at:at + g["count"]]
        at += g["count"]
        assert (part["first"] == g["stage"]).all()
        lo, hi = g["age_years"]
        assert part["age"].between(lo - 1e-9, hi + 1e-9).all(), (g, part["age"].describe())
        lo, hi = g["elapsed_days"]
        assert part["elapsed"].between(lo - 1e-9, hi + 1e-9).all()
        # the past as declared: an earlier plan or period of care counts before this one
        if g["stage"] == "cp":
            assert (part["cp_plans"] >= 2).sum() == round(g["previous_cp"] * g["count"])
        if g["stage"] == "cla":
            assert (part["cla_periods"] >= 2).sum() == round(g["previous_cla"] * g["count"])
            assert (part["cp_plans"] >= 1).sum() == round(g["previous_cp"] * g["count"])


def test_stages_declared_by_count_keep_the_stationary_law(baseline_raw, started):
    """A stage without groups is drawn as before: assessment and s47 (the first stages
    drawn) get the same children as in a run with no groups at all (the groups come from
    their own stream)."""
    s, result = started
    plain = small(baseline_raw)
    base = simulate(plain, 3, 7 / DAYS_PER_YEAR).simulation.rec.children_table()
    table = result.simulation.rec.children_table()
    n = plain.initial_state.assessment + plain.initial_state.s47
    cols = ["arrival_day", "age_at_arrival", "factors", "locality"]
    assert base[cols].iloc[:n].equals(table[cols].iloc[:n])
    assert table["initial_caseload"].iloc[:n].all()


def test_remaining_time_is_conditional_on_the_time_elapsed():
    """Exponential durations forget the past: cases open 3 years have the same mean
    remaining time as new ones; lognormal ones do not, and every draw exceeds what has
    elapsed (the total follows the law given it is longer than the elapsed time)."""
    rng = np.random.default_rng(11)
    n = 20_000
    expo = build_distribution({"dist": "exponential", "mean": 200})
    for elapsed in (0.0, 50.0, 1095.0):
        rem = residual(expo, np.full(n, elapsed), rng.random(n))
        se = 200 / math.sqrt(n)
        assert abs(rem.mean() - 200) <= Z * se, (elapsed, rem.mean())
    logn = build_distribution({"dist": "lognormal", "median": 270, "q75": 450})
    elapsed = np.full(n, 400.0)
    total = elapsed + residual(logn, elapsed, rng.random(n))
    assert total.min() >= 400.0
    # F(total) is uniform on [F(400), 1]: its mean is the midpoint
    f0 = float(cdf(logn, np.array([400.0]))[0])
    u = cdf(logn, total)
    assert abs(u.mean() - (1 + f0) / 2) <= Z * (1 - f0) / math.sqrt(12 * n)
    assert abs(float(cdf(logn, np.array([270.0]))[0]) - 0.5) < 1e-9


def test_a_case_open_beyond_the_law_gets_the_top_residual():
    """Open longer than the longest plan the law allows (e.g. a quantiles law read off an
    import): remaining time is that of a case at the 99th percentile, never negative."""
    q = build_distribution({"dist": "quantiles", "points": {0: 10, 0.5: 100, 1: 400}})
    rem = residual(q, np.full(1000, 900.0), np.random.default_rng(2).random(1000))
    assert (rem >= 0).all() and rem.max() <= 400 - q.ppf(0.99) + 1e-9


def leavers_18(raw: dict, age: list[float], seeds: range) -> list[int]:
    groups = [{"stage": "cla", "count": 60, "age_years": age, "elapsed_days": [365, 730]}]
    s = with_groups(raw, groups)
    out = []
    for seed in seeds:
        sim = simulate(s, seed, 1.0).simulation
        initial = {c.id for c in sim.rec.children if c.initial}
        initial = set(sorted(initial)[-60:])  # the group's (created after the others)
        out.append(sum(1 for e in sim.rec.cla_episodes if e[0] in initial and e[4] == "18+"))
    return out


def test_a_caseload_of_17_year_olds_leaves_care_at_18_in_year_1(baseline_raw):
    """60 children in care aged 17 on day 0 mostly turn 18 in care within the year; 60 aged
    5-9 none do. Compared over three seeds, beyond four standard errors."""
    old = leavers_18(baseline_raw, [17, 18], range(3))
    young = leavers_18(baseline_raw, [5, 10], range(3))
    diff = np.mean(old) - np.mean(young)
    se = math.sqrt(np.var(old, ddof=1) / 3 + np.var(young, ddof=1) / 3)
    assert diff > Z * max(se, 1.0), (old, young)
    assert max(young) == 0 and min(old) >= 30
