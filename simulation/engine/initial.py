"""Day 0's open caseload: the children a run starts with, so year 1 is not a fill-up.

Two ways to say who they are (``initial_state`` in the scenario):

- **counts by stage**: each child's elapsed time and age come from the model's stationary
  law (``stationary``): a case open at a random moment has a length-biased total length
  and a uniform share of it already elapsed;
- **groups** (``initial_state.cases``, e.g. written by ``csflow import`` from the children
  actually open at the last 31 March): each child gets an age and an elapsed time drawn
  in the group's bands, its past as declared, and a remaining time drawn from the stage's
  duration *given* the time already elapsed (``residual``).

Both hand the children to the journey with their remaining and elapsed times; the order
they ask for a worker on day 0 is shuffled together.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, Protocol

import numpy as np

from simulation.engine.contacts import (
    PAST_CLA,
    PAST_CP,
    age_distribution,
    factor_masks,
    localities,
)
from simulation.engine.recorder import Child, Recorder
from simulation.randomness.distributions import DAYS_PER_YEAR, Distribution, length_biased_pick
from simulation.randomness.streams import LUCK_PER_CHILD, Streams, luck_rows
from simulation.scenario import STAGES, Scenario
from simulation.scenario.schema.pathway import OpenCases

POOL = 20_000        # (age, length) pairs drawn per stage for the stationary law
TOP_QUANTILE = 0.99  # a case open longer than this quantile of its law is treated as at it
BISECTIONS = 48      # F(elapsed) to ~4e-15 by bisection on the inverse CDF


class Seedable(Protocol):
    """What seeding needs of the simulation (``engine.journey.Simulation``)."""

    effective: Scenario
    streams: Streams
    rec: Recorder
    env: Any
    processes_started: int
    adult_age_days: float
    d_assessment: Distribution
    d_time_to_icpc: Distribution
    d_cin: Distribution
    d_cp: Distribution
    d_cla: Distribution
    d_re_referral: Distribution
    _make_child: Callable[..., Child]
    journey: Callable[..., Generator[Any, Any, None]]
    start_soon: Callable[[Generator[Any, Any, None]], None]


Start = tuple[Child, str, float, float]  # child, stage, remaining days, elapsed days


def seed_initial_caseload(sim: Seedable) -> None:
    """Create day 0's open cases and start their journeys (in a shuffled order)."""
    rng = sim.streams.generator("initial-caseload")
    starts = stationary(sim, rng)
    starts += from_groups(sim)
    order = rng.permutation(len(starts))  # allocation order on day 0
    for i in order:
        child, stage, remaining, elapsed = starts[i]
        sim.start_soon(sim.journey(child, stage, remaining, elapsed))
    sim.processes_started += len(starts)


def _durations(sim: Seedable) -> dict[str, Distribution]:
    """Each place's length, as the journey draws it for a child with no factors or past."""
    return {"assessment": sim.d_assessment, "s47": sim.d_time_to_icpc, "cin": sim.d_cin,
            "cp": sim.d_cp, "cla": sim.d_cla, "closed_returning": sim.d_re_referral}


def stationary(sim: Seedable, rng: np.random.Generator) -> list[Start]:
    """Open cases of the stages declared by count alone, with time already elapsed drawn
    from the stationary law.

    Age matters as it does in the journey: care ends at the leaving age, and a closed case
    is re-referred only if the child is still under 18 then. So (age, duration) are drawn
    together from a pool, shaped by those rules, and picked with probability proportional
    to the length.
    """
    s = sim.effective
    durations = _durations(sim)
    age_dist = age_distribution(s)
    starts: list[Start] = []
    history = s.initial_state.history
    grouped = set(s.initial_state.grouped_stages())
    past_rng = sim.streams.generator("initial-history")
    for stage in (*STAGES, "closed_returning"):
        n = getattr(s.initial_state, stage)
        if n == 0 or stage in grouped:
            continue
        entry_age_pool = age_dist.sample(rng, POOL)  # in days
        length_pool = durations[stage].sample(rng, POOL)
        if stage == "cla":  # the journey ends care at the leaving age, and only care
            length_pool = np.minimum(length_pool,
                                     np.maximum(sim.adult_age_days - entry_age_pool, 1.0))
        elif stage == "closed_returning":  # only children still under 18 when they return
            under_age = entry_age_pool + length_pool < sim.adult_age_days
            entry_age_pool, length_pool = entry_age_pool[under_age], length_pool[under_age]
        u = rng.random((n, 6))
        idx = length_biased_pick(length_pool, u[:, 0])
        elapsed = length_pool[idx] * u[:, 1]
        remaining = length_pool[idx] - elapsed
        entry_age = entry_age_pool[idx] / DAYS_PER_YEAR
        locality = localities(s, u[:, 2])
        factors = factor_masks(s, u[:, 3:6]).tolist()
        luck = luck_rows(rng.random((n, LUCK_PER_CHILD)))
        u_past = past_rng.random((n, 2))
        past = ((u_past[:, 0] < history.previous_cp.get(stage, 0.0)) * PAST_CP
                + (u_past[:, 1] < history.previous_cla.get(stage, 0.0)) * PAST_CLA)
        starts += _children(sim, stage, elapsed, remaining, entry_age, locality, factors,
                            past, luck)
    return starts


def cdf(dist: Distribution, x: np.ndarray) -> np.ndarray:
    """F(x) of a duration known only by its inverse CDF: the largest u with ppf(u) <= x,
    by bisection (vectorised; ppf is non-decreasing)."""
    x = np.asarray(x, float)
    lo, hi = np.zeros_like(x), np.ones_like(x)
    for _ in range(BISECTIONS):
        mid = (lo + hi) / 2
        below = dist.ppf_many(mid) <= x
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return lo


def residual(dist: Distribution, elapsed: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Remaining time of cases already open ``elapsed`` days: the total length drawn from
    the law conditional on exceeding ``elapsed`` (inverse CDF on [F(elapsed), 1]), less
    ``elapsed``. A case open beyond the law's ``TOP_QUANTILE`` (e.g. past the longest
    plan an import saw) is given the residual of a case at that quantile."""
    f = cdf(dist, elapsed)
    beyond = f >= TOP_QUANTILE
    f = np.where(beyond, TOP_QUANTILE, f)
    at = np.where(beyond, dist.ppf_many(np.full(len(f), TOP_QUANTILE)), elapsed)
    total = dist.ppf_many(f + u * (1.0 - f))
    return np.maximum(total - at, 0.0)


def _take(rng: np.random.Generator, n: int, share: float) -> np.ndarray:
    """Exactly round(share x n) of n children, chosen at random, as a mask: a group's
    declared share of a past is its count of children with that past."""
    mask = np.zeros(n, bool)
    mask[rng.permutation(n)[:int(round(share * n))]] = True
    return mask


def from_groups(sim: Seedable) -> list[Start]:
    """Open cases of the stages declared as groups (``initial_state.cases``): ages and
    elapsed times uniform in each group's bands (care not begun before birth), the past as
    declared, and remaining times from the stage's duration given the elapsed time."""
    s = sim.effective
    groups: list[OpenCases] = [g for g in s.initial_state.cases if g.count > 0]
    if not groups:
        return []
    rng = sim.streams.generator("initial-cases")
    durations = _durations(sim)
    starts: list[Start] = []
    for g in groups:
        n = g.count
        u = rng.random((n, 7))
        age_days = (g.age_years[0] + (g.age_years[1] - g.age_years[0]) * u[:, 0]) \
            * DAYS_PER_YEAR
        lo, hi = np.full(n, g.elapsed_days[0]), np.full(n, g.elapsed_days[1])
        if g.stage == "cla":
            hi = np.minimum(hi, age_days)
            lo = np.minimum(lo, hi)
        elapsed = lo + (hi - lo) * u[:, 1]
        remaining = residual(durations[g.stage], elapsed, u[:, 2])
        locality = localities(s, u[:, 3])
        factors = factor_masks(s, u[:, 4:7]).tolist()
        past = _take(rng, n, g.previous_cp) * PAST_CP + _take(rng, n, g.previous_cla) * PAST_CLA
        luck = luck_rows(rng.random((n, LUCK_PER_CHILD)))
        starts += _children(sim, g.stage, elapsed, remaining, (age_days - elapsed) / DAYS_PER_YEAR,
                            locality, factors, past, luck)
    return starts


def _children(sim: Seedable, stage: str, elapsed: np.ndarray, remaining: np.ndarray,
              entry_age: np.ndarray, locality: np.ndarray, factors: list[int],
              past: np.ndarray, luck: Any) -> list[Start]:
    """Day 0's children of one stage or group, numbered in order, with their start.
    (Columns become Python lists first: one conversion per column, not per value.)"""
    starts: list[Start] = []
    make_child, children = sim._make_child, sim.rec.children
    for i, (e, r, age, loc, past_i) in enumerate(zip(
            elapsed.tolist(), remaining.tolist(), np.asarray(entry_age, float).tolist(),
            np.asarray(locality).tolist(), np.asarray(past).tolist(), strict=True)):
        cid = len(children)
        child = make_child(cid, cid, -e, age, loc, "initial", luck[i], initial=True,
                           factors=factors[i], past=past_i)
        starts.append((child, stage, r, e))
    return starts
