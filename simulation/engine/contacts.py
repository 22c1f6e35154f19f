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
LAYER_SHIFT = 40  # extra layers of growing demand key their children above layer 0's


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
    luck_row: np.ndarray     # the child's row of uniforms in its layer's journey stream
                             # (drawn by ``draw_luck``, only for children who are referred)
    key: np.ndarray          # the child's stream key: index in its layer (+ layer << 40)
    past: np.ndarray         # bit mask: 1 = a CP plan before the run saw them, 2 = care


PAST_CP, PAST_CLA = 1, 2


@dataclass(frozen=True)
class Unaccompanied:
    """Unaccompanied asylum-seeking children entering care (own streams: ``uasc-*``)."""

    arrival: np.ndarray      # day of entry to care, increasing
    age_years: np.ndarray
    locality: np.ndarray
    luck: np.ndarray


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


def past_masks(scenario: Scenario, u: np.ndarray) -> np.ndarray:
    """Earlier involvement new referrals bring with them, one uniform column each."""
    h = scenario.pathway.history
    return ((u[:, 0] < h.previous_cp.new_referral_share) * PAST_CP
            + (u[:, 1] < h.previous_cla.new_referral_share) * PAST_CLA)


def draw_unaccompanied(scenario: Scenario, streams: Streams, horizon: float) -> Unaccompanied:
    """Entries of unaccompanied children over [0, horizon), a Poisson stream of their own."""
    spec = scenario.demand.unaccompanied
    rate = 0.0 if spec is None else spec.entries_per_10k * scenario.population / 10_000
    rng = streams.generator("uasc-arrivals")
    # from before day 0, so that those still in care on day 0 are there (see the journey)
    start = 0.0 if spec is None else -(spec.age_at_entry_years.edges[-1]
                                       - spec.age_at_entry_years.edges[0]) * DAYS_PER_YEAR
    n = int(rng.poisson(rate * (horizon - start) / DAYS_PER_YEAR)) if rate > 0 else 0
    arrival = np.sort(rng.uniform(start, horizon, n))  # a Poisson process, given its count
    u = streams.generator("uasc-attributes").random((n, 2))
    if spec is not None and n:
        bands = spec.age_at_entry_years.model_dump()
        ages = build_distribution({"dist": "histogram", **bands, "unit": "years"})
        age = ages.ppf_many(u[:, 0]) / DAYS_PER_YEAR
    else:
        age = np.zeros(n)
    return Unaccompanied(arrival=arrival, age_years=age, locality=localities(scenario, u[:, 1]),
                         luck=streams.generator("uasc-luck").random((n, LUCK_PER_CHILD)))


def demand_multiplier(scenario: Scenario, day: np.ndarray, age_years: np.ndarray) -> np.ndarray:
    """Contacts at each (day, age) relative to day 0: growth by age band and dated steps."""
    demand = scenario.demand
    bands = demand.age_at_contact_years
    rates = np.asarray(demand.growth.rates(len(bands.weights)), float)
    band = np.clip(np.searchsorted(bands.edges, age_years, side="right") - 1, 0, len(rates) - 1)
    years = np.maximum(day, 0.0) / DAYS_PER_YEAR
    m = (1.0 + rates[band]) ** years
    for change in demand.changes:
        m = np.where(years >= change.at_years, m * change.factor, m)
    return m


def peak_multiplier(scenario: Scenario, horizon: float) -> float:
    """The largest multiplier over the run: growth is monotone between steps, so the peak
    is at day 0, a step or the horizon, in some age band."""
    demand = scenario.demand
    edges = demand.age_at_contact_years.edges
    mids = np.array([(a + b) / 2 for a, b in zip(edges, edges[1:], strict=False)])
    days = [0.0, horizon] + [c.at_years * DAYS_PER_YEAR for c in demand.changes
                             if c.at_years * DAYS_PER_YEAR < horizon]
    return max(float(demand_multiplier(scenario, np.full(len(mids), d), mids).max())
               for d in days)


def _layer(scenario: Scenario, streams: Streams, layer: int, start: float, horizon: float,
           front_door: Distribution) -> tuple[Contacts, np.ndarray]:
    """One homogeneous Poisson stream of contacts at the day-0 rate, with every child's
    attributes; layer 0 uses the original stream names, so a scenario whose demand does
    not change draws exactly what it always did."""
    demand = scenario.demand
    per_day = demand.contacts_per_10k * scenario.population / 10_000 / DAYS_PER_YEAR
    suffix = f"-{layer}" if layer else ""
    rng = streams.generator("arrivals" + suffix)
    chunks, last = [], start
    while last <= horizon:
        times = last + np.cumsum(rng.exponential(1.0 / per_day, CHUNK))
        chunks.append(times)
        last = times[-1]
    arrival = np.concatenate(chunks)
    arrival = arrival[arrival < horizon]
    n = len(arrival)
    u = streams.generator("child-attributes" + suffix).random((n, 8))
    source_cum = np.cumsum(list(demand.referral_sources.values()))
    drawn = Contacts(
        arrival=arrival,
        decision=arrival + front_door.ppf_many(u[:, 1]),
        referred=u[:, 0] < demand.front_door.referral_rate,
        age_years=age_distribution(scenario).ppf_many(u[:, 2]) / DAYS_PER_YEAR,
        source=np.searchsorted(source_cum / source_cum[-1], u[:, 3], side="right"),
        locality=localities(scenario, u[:, 4]),
        factors=factor_masks(scenario, u[:, 5:8]),
        luck_row=np.arange(n, dtype=np.int64),
        key=np.zeros(n, dtype=np.int64),
        past=past_masks(scenario, streams.generator("child-history" + suffix).random((n, 2))),
    )
    keep = drawn.decision >= 0.0
    # the key is the child's place among the kept: what it always was for layer 0
    drawn.key[keep] = np.arange(int(keep.sum()), dtype=np.int64) + (layer << LAYER_SHIFT)
    return drawn, keep


def _subset(c: Contacts, keep: np.ndarray) -> Contacts:
    return Contacts(**{f: getattr(c, f)[keep] for f in Contacts.__dataclass_fields__})


def draw_contacts(scenario: Scenario, streams: Streams, horizon: float,
                  front_door: Distribution) -> Contacts:
    """Contacts over [0, horizon), starting a little before day 0 so that the front door
    too starts in steady state: contacts that arrived just before day 0 and still await a
    decision are kept (negative arrival days); those decided before day 0 are history.

    Demand that grows or steps (demand.growth, demand.changes) is drawn by thinning
    stacked layers of the day-0 stream: layer L keeps a child with probability
    clip(m(t, age) - L, 0, 1), from its own uniform. Where two scenarios' demand is
    equal the same children arrive in both, and a longer run extends a shorter one.
    """
    start = -(float(np.ceil(front_door.ppf(0.9999))) + 1.0)
    base, keep = _layer(scenario, streams, 0, start, horizon, front_door)
    if not scenario.demand.varies:
        return _subset(base, keep)
    parts = []
    for layer in range(int(np.ceil(peak_multiplier(scenario, horizon) - 1e-9))):
        drawn, keep = (base, keep) if layer == 0 else _layer(
            scenario, streams, layer, start, horizon, front_door)
        share = np.clip(demand_multiplier(scenario, drawn.arrival, drawn.age_years) - layer,
                        0.0, 1.0)
        thin = streams.generator("thinning" + (f"-{layer}" if layer else "")).random(
            len(drawn.arrival))
        parts.append(_subset(drawn, keep & (thin < share)))
    merged = Contacts(**{f: np.concatenate([getattr(p, f) for p in parts])
                         for f in Contacts.__dataclass_fields__})
    return _subset(merged, np.argsort(merged.arrival, kind="stable"))


def draw_luck(streams: Streams, contacts: Contacts, idx: np.ndarray) -> np.ndarray:
    """The rows of uniforms of contacts ``idx`` (in that order), LUCK_PER_CHILD wide.

    Row i of a layer is the i-th block of LUCK_PER_CHILD numbers of its ``journey``
    stream. The stream is read in chunks and only the rows asked for are kept: the same
    numbers as drawing every contact's row up front, without holding the ~83% that
    belong to contacts ending at the front door (~100 MiB at 20 years).
    """
    out = np.empty((len(idx), LUCK_PER_CHILD))
    layers = contacts.key[idx] >> LAYER_SHIFT
    for layer in np.unique(layers).tolist():
        where = np.flatnonzero(layers == layer)
        rows = contacts.luck_row[idx[where]]
        order = np.argsort(rows, kind="stable")
        wanted = rows[order]
        rng = streams.generator("journey" + (f"-{layer}" if layer else ""))
        end = int(wanted[-1]) + 1
        for start in range(0, end, CHUNK):
            block = rng.random((min(CHUNK, end - start), LUCK_PER_CHILD))
            lo, hi = np.searchsorted(wanted, [start, start + CHUNK])
            out[where[order[lo:hi]]] = block[wanted[lo:hi] - start]
    return out
