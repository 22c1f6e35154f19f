"""Who arrives: contacts as a Poisson stream, each child with their attributes and luck.

Drawn once, up front, from their own named streams: arrivals do not depend on the
operating model, which is what makes scenarios comparable child by child (common random
numbers). Helpers here are shared with the day-0 caseload, whose children are drawn
from the same attribute laws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulation.randomness.distributions import DAYS_PER_YEAR, Distribution, build_distribution
from simulation.randomness.streams import LUCK_PER_CHILD, Streams
from simulation.scenario import Scenario
from simulation.scenario.schema.workforce import PARENTAL_FACTORS

FACTOR_BITS = np.array([1, 2, 4])  # domestic abuse, mental health, substance misuse
CHUNK = 4096  # arrivals drawn in fixed-size chunks: a longer run extends a shorter one


@dataclass(frozen=True)
class Contacts:
    """All contacts of a run."""

    arrival: np.ndarray      # day of contact (negative: already at the front door on day 0)
    decision: np.ndarray     # day the front door decides
    referred: np.ndarray     # bool: becomes a referral
    age_years: np.ndarray
    source: np.ndarray       # index into referral_sources
    locality: np.ndarray
    factors: np.ndarray      # bit mask of parental factors (FACTOR_BITS)
    luck: np.ndarray         # per-child uniforms (rows used only for referred children)


def age_distribution(scenario: Scenario) -> Distribution:
    """Age at contact, in days."""
    bands = scenario.demand.age_at_contact_years.model_dump()
    return build_distribution({"dist": "histogram", **bands, "unit": "years"})


def localities(scenario: Scenario, u: np.ndarray) -> np.ndarray:
    weights = np.array(list(scenario.structure.localities.values()), float)
    return np.searchsorted(np.cumsum(weights) / weights.sum(), u, side="right")


def factor_masks(scenario: Scenario, u: np.ndarray) -> np.ndarray:
    """Parental factors from their prevalences, one uniform column each."""
    p = scenario.demand.parental_factors
    prevalence = np.array([getattr(p, f) for f in PARENTAL_FACTORS])
    return ((u < prevalence) * FACTOR_BITS).sum(axis=1)


def draw_contacts(scenario: Scenario, streams: Streams, horizon: float,
                  front_door: Distribution) -> Contacts:
    """Contacts over [0, horizon), starting a little before day 0 so that the front door
    too starts in steady state: contacts that arrived just before day 0 and still await a
    decision are kept (negative arrival days); those decided before day 0 are history."""
    demand = scenario.demand
    per_day = demand.contacts_per_10k * scenario.population / 10_000 / DAYS_PER_YEAR
    rng = streams.generator("arrivals")
    chunks, last = [], -(float(np.ceil(front_door.ppf(0.9999))) + 1.0)
    while last <= horizon:
        times = last + np.cumsum(rng.exponential(1.0 / per_day, CHUNK))
        chunks.append(times)
        last = times[-1]
    arrival = np.concatenate(chunks)
    arrival = arrival[arrival < horizon]
    n = len(arrival)
    u = streams.generator("child-attributes").random((n, 8))
    source_cum = np.cumsum(list(demand.referral_sources.values()))
    decision = arrival + front_door.ppf_many(u[:, 1])
    keep = decision >= 0.0
    return Contacts(
        arrival=arrival[keep],
        decision=decision[keep],
        referred=(u[:, 0] < demand.front_door.referral_rate)[keep],
        age_years=age_distribution(scenario).ppf_many(u[:, 2])[keep] / DAYS_PER_YEAR,
        source=np.searchsorted(source_cum / source_cum[-1], u[:, 3], side="right")[keep],
        locality=localities(scenario, u[:, 4])[keep],
        factors=factor_masks(scenario, u[:, 5:8])[keep],
        luck=streams.generator("journey").random((n, LUCK_PER_CHILD))[keep],
    )
