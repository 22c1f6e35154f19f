"""What the allocator keeps up to date as it goes (models.teams) equals a fresh recount,
week by week, through runs with co-working, cuts and additions of posts, pressure leavers,
sickness and long absences: the room counters, the over-limit count and the ids of the
people in post that co-working families come to know, and the live requests in each
queue (cancelled ones are dropped lazily, and in bulk when they pile up)."""

from __future__ import annotations

import copy
import math

import pytest

from models import teams
from simulation.engine import journey
from simulation.outputs.run import simulate
from simulation.scenario import load_scenario, validate
from simulation.scenario.loading import load_raw
from tests.conftest import CONFIGS


def _recount(alloc) -> int:
    """Assert every kept figure equals a recount; returns the units checked."""
    checked = 0
    for kind in alloc.kinds:
        assert kind.waiting == sum(1 for r in kind.queue if not r[6])
        for unit in kind.units:
            assert unit.waiting == sum(1 for r in unit.queue if not r[6])
            assert all(r[7] is unit for r in unit.queue)
            people = [p.holder for p in unit.posts if p.holder is not None]
            assert unit.people_ids == tuple(w.id for w in people)
            for w in unit.workers:
                assert w.free == (w.capacity - len(w.cases) if w.present else 0)
            assert unit.free == sum(max(w.free, 0) for w in unit.workers if w.present)
            checked += 1
    held = [w for w in alloc.people if w.cases]
    overload = {}
    for w in held:
        overload[w.unit] = overload.get(w.unit, 0) + max(len(w.cases) - w.capacity, 0)
    for kind in alloc.kinds:
        for unit in kind.units:
            assert unit.overload == overload.get(unit, 0)
    return checked


def _stressed(raw: dict) -> dict:
    data = copy.deepcopy(raw)
    for team in data["structure"]["teams"]:
        for role in team["staff"]:
            team["staff"][role] *= 0.6
    data["structure"]["changes"] = [
        {"at_years": 0.3, "role": "social_worker", "factor": 0.8, "reason": "cut"},
        {"at_years": 0.7, "role": "social_worker", "factor": 1.5, "reason": "add"}]
    return data


@pytest.mark.parametrize("config", ["pods", "hub"])
def test_kept_counts_equal_a_recount_every_week(config, monkeypatch):
    scenario = validate(_stressed(load_raw(CONFIGS / f"{config}.yaml")))
    weeks = []
    snapshot = journey.Simulation._snapshot

    def checked(self, now, contacts):
        weeks.append(_recount(self.alloc))
        return snapshot(self, now, contacts)

    monkeypatch.setattr(journey.Simulation, "_snapshot", checked)
    run = simulate(scenario, seed=3, years=1.2)
    sim = run.simulation
    assert len(weeks) > 50 and all(weeks)
    assert any(kind.co_working for kind in sim.alloc.kinds) == (config == "pods")
    assert any(p.id in sim.workforce.closed for p in sim.alloc.posts)  # posts were cut
    assert sum(1 for _, _, waited, _ in sim.rec.waits if waited > 0) > 100  # cases waited
    _recount(sim.alloc)
    assert sum(len(u.queue) for k in sim.alloc.kinds for u in k.units) > 0


def test_co_working_families_know_everyone_in_post():
    """A family allocated in a co-working unit knows every person then in post there."""
    run = simulate(load_scenario(CONFIGS / "pods.yaml"), seed=1, years=0.3)
    alloc = run.simulation.alloc
    units = [u for k in alloc.kinds if k.co_working for u in k.units]
    assert units
    known_all = 0
    for child in run.simulation.rec.children:
        worker = child.worker
        if worker is not None and worker.unit in units and child.known is not None:
            allocated = child.held[-1][1]
            in_post_then = {w.id for w in worker.unit.people() if w.since < allocated}
            assert in_post_then <= child.known
            known_all += 1
    assert known_all > 50


def test_dropping_cancelled_requests_changes_nothing(monkeypatch):
    """Queues compacted when cancelled requests pile up, or never: the same run bit for bit
    (the heap's keys are unique, so its layout never decides which case comes next)."""
    scenario = validate(_stressed(load_raw(CONFIGS / "baseline.yaml")))
    compactions = []
    heapify = teams.heapq.heapify
    monkeypatch.setattr(teams.heapq, "heapify", lambda q: (compactions.append(len(q)),
                                                            heapify(q)))
    monkeypatch.setattr(teams, "COMPACT_SLACK", -10**9)  # at every cancellation
    compacted = simulate(scenario, seed=4, years=1)
    monkeypatch.setattr(teams, "COMPACT_SLACK", 10**9)
    kept = simulate(scenario, seed=4, years=1)
    assert len(compactions) > 100
    a, b = compacted.simulation.rec, kept.simulation.rec
    assert a.allocations == b.allocations
    assert a.waits == b.waits
    assert a.workforce == b.workforce
    for k, v in compacted.kpis.items():
        assert v == kept.kpis[k] or (math.isnan(v) and math.isnan(kept.kpis[k])), k
