"""The speed-ups change no result: luck drawn only for referred children is the luck every
contact used to draw, and absences as a chain of events are the process per worker they
replaced, bit for bit. (Timings: benchmarks/, not here.)"""

from __future__ import annotations

import copy
import math

import numpy as np

from models.chains import soon
from models.workforce import WorkforceDynamics
from simulation.engine import journey
from simulation.engine.contacts import LAYER_SHIFT, draw_contacts, draw_luck
from simulation.outputs.run import simulate
from simulation.randomness.distributions import build_distribution
from simulation.randomness.streams import LUCK_PER_CHILD, Streams
from simulation.scenario.loading import validate


def test_luck_drawn_for_the_referred_is_the_luck_of_every_contact(baseline_raw):
    """Rows read in chunks for the referred only equal each layer's full matrix, row by
    row, with demand growing fast enough for several layers."""
    data = copy.deepcopy(baseline_raw)
    data["demand"]["growth"] = {"annual_rate": 0.4}
    scenario = validate(data)
    streams = Streams(3)
    front = build_distribution(scenario.demand.front_door.decision_time)
    contacts = draw_contacts(scenario, streams, 3 * 365.25, front)
    layers = contacts.key >> LAYER_SHIFT
    assert layers.max() >= 1
    idx = np.flatnonzero(contacts.referred)[::-1]  # any order
    got = draw_luck(streams, contacts, idx)
    for layer in np.unique(layers[idx]).tolist():
        rows = contacts.luck_row[idx]
        n = int(contacts.luck_row[layers == layer].max()) + 1
        full = streams.generator("journey" + (f"-{layer}" if layer else "")).random(
            (n, LUCK_PER_CHILD))
        mine = layers[idx] == layer
        np.testing.assert_array_equal(got[mine], full[rows[mine]])


class _ProcessAbsences(WorkforceDynamics):
    """Absences as they were: a SimPy process per worker (the reference for the chain)."""

    def _start(self, worker):
        if worker.post.turns_over:
            rate = self.agency_turnover if worker.agency else self.turnover
            if rate > 0:
                soon(self.env, self._career, worker, rate)
        if self.absence_rate > 0:
            self.env.process(self._absences(worker))
        self.moves.start(worker)

    def _absences(self, worker):
        u = self.luck[worker.post.id]
        env = self.env
        while True:
            yield env.timeout(-math.log(1.0 - u()) / self.absence_rate)
            if worker.left:
                return
            duration, kind = self._which_absence(u() * self.absence_rate)
            days = duration.ppf(u())
            if not worker.present:
                continue
            yield from self._away_for(worker, days, kind)
            if worker.left:
                return

    def _away_for(self, worker, days, kind):
        env, alloc = self.env, self.alloc
        alloc.set_away(worker)
        self.rec.absences.append((env.now, days, kind))
        if worker.cases and worker.unit.team.cover == "colleague":
            colleagues = [w for w in worker.unit.workers if w.present and w is not worker]
            for i, child in enumerate(sorted(worker.cases, key=lambda c: c.id)):
                if colleagues:
                    child.known.add(colleagues[i % len(colleagues)].id)
        if days > self.reallocate_after:
            yield env.timeout(self.reallocate_after)
            if worker.left:
                return
            alloc.reallocate_all(worker, "absence", env.now)
            yield env.timeout(days - self.reallocate_after)
        else:
            yield env.timeout(days)
        alloc.set_back(worker, env.now)


def test_absences_as_a_chain_of_events_are_the_process_per_worker_bit_for_bit(
        baseline_raw, monkeypatch):
    """Half the staff: absences, long ones reallocated, pressure sickness and leavers."""
    data = copy.deepcopy(baseline_raw)
    for team in data["structure"]["teams"]:
        team["staff"]["social_worker"] *= 0.5
    scenario = validate(data)
    chain = simulate(scenario, seed=2, years=1)
    monkeypatch.setattr(journey, "WorkforceDynamics", _ProcessAbsences)
    processes = simulate(scenario, seed=2, years=1)
    assert len(processes.simulation.rec.absences) > 100
    assert chain.simulation.rec.absences == processes.simulation.rec.absences
    assert chain.simulation.rec.allocations == processes.simulation.rec.allocations
    for k, v in chain.kpis.items():
        assert v == processes.kpis[k] or (math.isnan(v) and math.isnan(processes.kpis[k])), k


def _as_processes(monkeypatch) -> None:
    """The engine as it was: a SimPy process per journey started on day 0 (or by the
    unaccompanied entries), and a process looping over the arrival times."""
    def soon(self, callback):
        assert isinstance(callback, journey._AtTimes)
        at = callback

        def loop():
            env = at.env
            for j in range(at.j, len(at.times)):
                t = at.times[j]
                if t >= at.until:
                    return
                if t > env.now:
                    yield env.timeout(t - env.now)
                at.start(j)
        self.env.process(loop())

    monkeypatch.setattr(journey.Simulation, "_soon", soon)
    monkeypatch.setattr(journey.Simulation, "start_soon", lambda self, gen: self.env.process(gen))


def test_journeys_started_on_callbacks_are_processes_bit_for_bit(baseline_raw, monkeypatch):
    """Referrals after day 0 start their journey inside the arrivals' step and run on
    event callbacks (no process start or end events); day 0's journeys and unaccompanied
    children's start on an urgent event, as a process's first step, and run on callbacks
    too (no end event); arrivals come from a chain of timeouts, not a process: the same
    run, with fewer events, as a process for each. Half the staff, so that many cases
    wait for a worker."""
    data = copy.deepcopy(baseline_raw)
    for team in data["structure"]["teams"]:
        team["staff"]["social_worker"] *= 0.5
    scenario = validate(data)
    started_now, started_soon = [], []
    start_now, start_soon = journey.Simulation._start_now, journey.Simulation.start_soon
    monkeypatch.setattr(journey.Simulation, "_start_now",
                        lambda self, gen: started_now.append(start_now(self, gen)))
    monkeypatch.setattr(journey.Simulation, "start_soon",
                        lambda self, gen: started_soon.append(start_soon(self, gen)))
    steps = simulate(scenario, seed=4, years=1)
    monkeypatch.setattr(journey.Simulation, "_start_now",
                        lambda self, gen: self.env.process(gen))
    _as_processes(monkeypatch)
    processes = simulate(scenario, seed=4, years=1)
    a, b = steps.simulation, processes.simulation
    assert sum(1 for _, _, waited, _ in a.rec.waits if waited > 0) > 100  # cases waited
    assert len(started_now) > 1000 and len(started_soon) > 1000
    assert any(c.uasc for c in a.rec.children)
    # fewer events: each journey's start if started now, its end if it ended in the run,
    # and the arrivals' processes' ends
    fewer = b.events_processed - a.events_processed
    assert len(started_now) < fewer <= 2 * len(started_now) + len(started_soon) + 2
    assert a.rec.allocations == b.rec.allocations
    assert a.rec.waits == b.rec.waits
    assert [c.spells for c in a.rec.children] == [c.spells for c in b.rec.children]
    for k, v in steps.kpis.items():
        assert v == processes.kpis[k] or (math.isnan(v) and math.isnan(processes.kpis[k])), k


def test_allocations_made_from_the_childrens_records_are_those_logged_as_they_happened(
        baseline_raw, monkeypatch):
    """The recorder keeps no log of allocations during the run (a copy of the children's
    ``held`` records): the allocations it makes from those records at the end are the ones
    a log kept as they happened, and the children table counts workers and changes from
    them as it did from that log."""
    import pandas as pd

    from simulation.engine.recorder import Recorder

    logged = []
    on_allocate = Recorder.on_allocate

    def logging(self, child, worker, cause, now, known=False):
        logged.append((child.id, now, worker.id, worker.unit.team.name, cause))
        on_allocate(self, child, worker, cause, now, known)

    monkeypatch.setattr(Recorder, "on_allocate", logging)
    scenario = validate(copy.deepcopy(baseline_raw))
    rec = simulate(scenario, seed=5, years=1).simulation.rec
    made = rec.allocations
    assert len(made) > 1000 and any(cause for *_, cause in made)
    assert sorted(map(repr, made)) == sorted(map(repr, logged))
    assert [day for _, day, *_ in made] == sorted(day for _, day, *_ in logged)
    log = pd.DataFrame(logged, columns=["child_id", "day", "worker_id", "team", "cause"])
    per_child = log.groupby("child_id").agg(workers=("worker_id", "nunique"),
                                            sw_changes=("cause", "count"))
    table = rec.children_table().set_index("child_id")
    expected = per_child.reindex(table.index, fill_value=0)
    assert (table["workers"] == expected["workers"]).all()
    assert (table["sw_changes"] == expected["sw_changes"]).all()
    assert table["workers"].dtype == int and table["sw_changes"].dtype == int
