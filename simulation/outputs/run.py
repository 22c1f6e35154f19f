"""Running one replication: the engine, then its KPIs and tables.

``simulate`` is the single entry point every face of csflow uses (CLI, batches,
notebooks); it returns a ``RunResult`` that ``outputs.files`` writes.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from simulation.engine.journey import Simulation
from simulation.engine.recorder import ADULT_HOURS_COLUMNS
from simulation.outputs.guard import check_run
from simulation.outputs.histories import Histories, histories
from simulation.outputs.kpis import compute_kpis
from simulation.scenario import Scenario
from simulation.scenario.limits import ensure_fits
from simulation.scenario.schema.workforce import PARENTAL_FACTORS


@dataclass
class RunResult:
    """Everything one replication produced."""

    scenario: Scenario
    seed: int
    years: float
    kpis: dict[str, float]
    stocks: pd.DataFrame
    events_processed: int
    simulation: Simulation = field(repr=False)
    # the children's histories as flat arrays, built once for the KPIs and the checks
    history: Histories = field(repr=False)

    def children(self) -> pd.DataFrame:
        """One row per child: the referred ones from the run, plus front-door-only contacts."""
        return children_table(self.simulation)

    def spells(self) -> pd.DataFrame:
        return spells_table(self.simulation)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a run.

    SimPy allocates an event object per step; the collector's generational scans
    then cost ~40% of a run while finding almost nothing. Memory is bounded by the
    run, and one collection afterwards reclaims any cycles.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def simulate(scenario: Scenario, seed: int, years: float | None = None) -> RunResult:
    """Run one replication of ``scenario`` with ``seed``; ``years`` overrides the scenario."""
    ensure_fits(scenario, scenario.run.years if years is None else years)
    with gc_paused():  # the KPIs too: a collection of the run's heap finds nothing to free
        return _simulate(scenario, seed, years)


def _simulate(scenario: Scenario, seed: int, years: float | None) -> RunResult:
    sim = Simulation(scenario, seed, years)
    rec = sim.run()
    counts = rec.stocks_table()
    final = counts[counts["day"] == counts["day"].max()].set_index("stage")["open"].to_dict()
    history = histories(rec.children)
    kpis = compute_kpis(
        rec, years=sim.years, population=scenario.population,
        contacts=int(np.sum(sim.contacts.arrival >= 0)),
        pending_waits=sim.alloc.pending_waits(sim.horizon), final_counts=final,
        pending=sim.alloc.pending_requests(), history=history)
    check_run(history, rec.counts, kpis, f"{scenario.name} seed {seed}")
    return RunResult(scenario, seed, sim.years, kpis, counts, sim.events_processed, sim,
                     history)


def children_table(sim: Simulation) -> pd.DataFrame:
    """Referred children (simulated one by one) and the other contacts (in bulk)."""
    referred = sim.rec.children_table()
    c = sim.contacts
    door_only = _not_simulated(sim)
    sources = np.asarray(sim.sources, dtype=object)
    bulk = pd.DataFrame({
        "child_id": sim.first_contact_id + door_only,
        "arrival_day": c.arrival[door_only],
        "age_at_arrival": c.age_years[door_only],
        "referral_source": sources[c.source[door_only]],
        "locality": c.locality[door_only],
        "factors": c.factors[door_only],
        "initial_caseload": False,
        "referrals": 0,
        "stages": "",
        "final_place": np.where(c.decision[door_only] < sim.horizon, "closed", "front_door"),
        "final_place_since": np.minimum(c.decision[door_only], sim.horizon),
        "workers": 0,
        "sw_changes": 0,
        "days_looked_after": 0.0,
        "cp_plans": 0,
        "cla_periods": 0,
        "unaccompanied": False,
        **dict.fromkeys(ADULT_HOURS_COLUMNS, 0.0),
    })
    bulk.loc[bulk["final_place"] == "front_door", "final_place_since"] = \
        c.arrival[door_only][bulk["final_place"] == "front_door"]
    table = pd.concat([referred, bulk], ignore_index=True)
    for bit, name in zip((1, 2, 4), PARENTAL_FACTORS, strict=True):
        table[name] = (table["factors"].astype(int) & bit) > 0
    table = table.drop(columns="factors")
    return table.sort_values("child_id", ignore_index=True)


def _not_simulated(sim: Simulation) -> np.ndarray:
    """Contacts never simulated one by one: ended at the front door, or still there at the end."""
    c = sim.contacts
    return np.flatnonzero(~c.referred | (c.decision >= sim.horizon))


def spells_table(sim: Simulation) -> pd.DataFrame:
    """Every stay in a place as [start, end): simulated children plus the bulk contacts."""
    spells = sim.rec.spells_table()
    c = sim.contacts
    idx = _not_simulated(sim)
    ids = sim.first_contact_id + idx
    door = pd.DataFrame({"child_id": ids, "place": "front_door", "start": c.arrival[idx],
                         "end": np.minimum(c.decision[idx], sim.horizon)})
    decided = c.decision[idx] < sim.horizon
    closed = pd.DataFrame({"child_id": ids[decided], "place": "closed",
                           "start": c.decision[idx][decided], "end": sim.horizon})
    return pd.concat([spells, door, closed], ignore_index=True)
