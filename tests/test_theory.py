"""Degenerate configurations reproduce queueing theory; stocks obey Little's law."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulation.analysis.stats import mean_ci
from simulation.outputs.run import simulate
from simulation.scenario import STAGES, validate


def erlang_c_wait(arrival_rate: float, mean_service: float, servers: int) -> float:
    """Mean wait in queue of an M/M/c queue (Erlang C)."""
    a = arrival_rate * mean_service
    top = a**servers / math.factorial(servers) * servers / (servers - a)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(servers)) + top)
    return p_wait / (servers / mean_service - arrival_rate)


def mmc_scenario(raw: dict, arrival_rate: float, mean_service: float, servers: int):
    """One stage, Poisson arrivals, exponential durations, c workers of caseload 1."""
    raw = dict(raw)
    raw["population"] = 100_000
    raw["demand"] = {**raw["demand"],
                     "contacts_per_10k": arrival_rate * 365.25 / 10,
                     "front_door": {"decision_time": {"dist": "fixed", "value": 0},
                                    "referral_rate": 1.0},
                     "re_referral": {"probability": 0.0, "delay": {"dist": "fixed", "value": 1}}}
    raw["demand"].pop("unaccompanied", None)  # no direct entries to care: one queue only
    pathway = dict(raw["pathway"])
    pathway["referral_nfa_rate"] = 0.0
    pathway["assessment"] = {"duration": {"dist": "exponential", "mean": mean_service},
                             "outcomes": {"close": 1.0, "cin": 0.0, "s47": 0.0, "cla": 0.0}}
    raw["pathway"] = pathway
    raw["initial_state"] = {}
    # c servers always at work: no turnover, vacancies, leave or sickness; no workload
    # feedback (service times do not depend on the queue).
    raw["workforce"] = {**raw["workforce"], "turnover_rate": 0.0, "agency_turnover_rate": 0.0,
                        "initial_vacancy_rate": 0.0, "annual_leave": None, "sickness": None,
                        "pressure": {}}
    raw["structure"] = {"teams": [{"name": "everyone", "holds": list(STAGES),
                                   "caseload_limit": 1, "staff": {"social_worker": servers}}]}
    return validate(raw)


@pytest.mark.slow
@pytest.mark.parametrize("arrival_rate, mean_service, servers", [(0.4, 10.0, 5), (0.9, 2.0, 2)])
def test_mmc_wait_matches_erlang_c(raw, arrival_rate, mean_service, servers):
    scenario = mmc_scenario(raw, arrival_rate, mean_service, servers)
    warmup = 365.25
    waits = []
    for seed in range(12):
        result = simulate(scenario, seed, years=25)
        w = np.array([(t, wait) for _, t, wait, _ in result.simulation.rec.waits])
        waits.append(w[w[:, 0] >= warmup, 1].mean())  # every request, zero waits included
    ci = mean_ci(waits)
    theory = erlang_c_wait(arrival_rate, mean_service, servers)
    assert ci.low <= theory <= ci.high, (theory, ci)


@pytest.mark.slow
def test_stocks_obey_littles_law(baseline):
    """Mean weekly stock = entry rate x mean time in the stage, within the replication CI."""
    ratios: dict[str, list[float]] = {s: [] for s in STAGES}
    for seed in range(4):
        result = simulate(baseline, seed, years=4)
        spells = result.spells()
        horizon = result.years * 365.25
        stocks = result.stocks[result.stocks["day"] < horizon]
        for stage in STAGES:
            sp = spells[spells["place"] == stage]
            # Entries and time spent inside [0, horizon); spells open at day 0 count as entries.
            rate = len(sp) / horizon
            sojourn = (sp["end"].clip(upper=horizon) - sp["start"].clip(lower=0)).mean()
            stock = stocks.loc[stocks["stage"] == stage, "open"].mean()
            ratios[stage].append(stock / (rate * sojourn))
    for stage, values in ratios.items():
        ci = mean_ci(values)
        # Weekly sampling of a continuous stock: the CI carries that noise; 1 must lie in it
        # or within 1% of it (the snapshot grid's edge effect at the horizon).
        assert ci.low - 0.01 <= 1.0 <= ci.high + 0.01, (stage, ci)


def test_erlang_c_formula_known_value():
    # Textbook check: lambda=2, mu=1 (mean 1), c=3 -> P(wait)=4/9, Wq = 4/9 / (3-2) = 0.444.
    assert erlang_c_wait(2.0, 1.0, 3) == pytest.approx(4 / 9)
