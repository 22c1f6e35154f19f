"""The workforce's stories on chains of events (models.chains) are the SimPy processes they
replaced, bit for bit: careers, agency cover, recruitment and internal moves run here as
the processes of main at 142700c, and the two runs must agree on every allocation, wait,
absence, departure and KPI, with fewer events. Likewise the weekly pressure check, which now
looks only at overloaded units. (Timings: benchmarks/, not here.)"""

from __future__ import annotations

import copy
import math

from models.chains import soon
from models.moves import InternalMoves
from models.workforce import WorkforceDynamics
from simulation.engine import journey
from simulation.outputs.run import simulate
from simulation.scenario.loading import validate


class _ProcessMoves(InternalMoves):
    """A move clock as a process per worker (as it was)."""

    def start(self, worker):
        if self.rate <= 0 or worker.agency or not worker.post.turns_over \
                or worker.capacity <= 0:
            return
        self.env.process(self._clock_process(worker))

    def _clock_process(self, worker):
        u = self._uniform(worker.post.id)
        yield self.env.timeout(-math.log(1.0 - u) / self.rate)
        if worker.left:
            return
        self.move(worker)


class _Processes(WorkforceDynamics):
    """Careers, agency cover and recruitment as a process each (as they were)."""

    def __init__(self, scenario, env, alloc, streams, rec):
        super().__init__(scenario, env, alloc, streams, rec)
        self.moves = _ProcessMoves(scenario.workforce.internal_move_rate, env, alloc, streams,
                                   self._start)

    def _start(self, worker):
        if worker.post.turns_over:
            rate = self.agency_turnover if worker.agency else self.turnover
            if rate > 0:
                self.env.process(self._career_process(worker, rate))
        if self.absence_rate > 0:
            soon(self.env, self._next_absence, worker)
        self.moves.start(worker)

    def _career_process(self, worker, rate):
        u = self.luck[worker.post.id]
        yield self.env.timeout(-math.log(1.0 - u()) / rate)
        if worker.left:
            return
        self._depart(worker)

    def _vacancy(self, post):
        if post.id in self.closed:
            self.drop_post(post)
            return
        u = self.luck[post.id]
        if self.agency_cover:
            self.env.process(self._agency_process(post, self.d_agency.ppf(u())))
        if post.id not in self.recruiting:
            self._recruit_later(post, self.d_recruit.ppf(u()))

    def _agency_process(self, post, lag):
        yield self.env.timeout(lag)
        self._agency(post)

    def _recruit_later(self, post, lag):
        self.recruiting.add(post.id)
        self.env.process(self._recruit_process(post, lag))

    def _recruit_process(self, post, lag):
        yield self.env.timeout(lag)
        self._recruit(post)


def _busy(raw: dict) -> dict:
    """Fewer staff (pressure leavers and sickness), fast internal moves, and posts cut then
    added (vacancies dropped, agency released, new posts recruited)."""
    data = copy.deepcopy(raw)
    for team in data["structure"]["teams"]:
        team["staff"]["social_worker"] *= 0.6
    data["workforce"]["internal_move_rate"] = 0.3
    data["structure"]["changes"] = [
        {"at_years": 0.4, "role": "social_worker", "factor": 0.8, "reason": "cut"},
        {"at_years": 0.9, "role": "social_worker", "factor": 1.4, "reason": "add"}]
    return data


def test_workforce_chains_are_the_processes_bit_for_bit(baseline_raw, monkeypatch):
    scenario = validate(_busy(baseline_raw))
    chains = simulate(scenario, seed=5, years=1.5)
    monkeypatch.setattr(journey, "WorkforceDynamics", _Processes)
    processes = simulate(scenario, seed=5, years=1.5)
    a, b = chains.simulation, processes.simulation
    assert isinstance(b.workforce, _Processes)
    assert a.workforce.moves.moves > 20 and len(a.rec.departures) > 50
    assert a.workforce.moves.moves == b.workforce.moves.moves
    assert a.rec.departures == b.rec.departures
    assert a.rec.absences == b.rec.absences
    assert a.rec.allocations == b.rec.allocations
    assert a.rec.waits == b.rec.waits
    assert a.rec.workforce == b.rec.workforce
    assert a.rec.accounts == b.rec.accounts
    assert [w.since for w in a.alloc.people] == [w.since for w in b.alloc.people]
    assert chains.events_processed < processes.events_processed  # no end events
    for k, v in chains.kpis.items():
        assert v == processes.kpis[k] or (math.isnan(v) and math.isnan(processes.kpis[k])), k


class _EveryPost(WorkforceDynamics):
    """The weekly pressure check as it was: a row of draws per post, every post walked."""

    def _pressure(self):
        env, alloc, dt = self.env, self.alloc, self.pressure_interval
        posts = alloc.posts
        while True:
            yield env.timeout(dt)
            draws = self.pressure_rng.random((len(posts), 3)).tolist()
            for unit in self.units:
                unit.excess = alloc.unit_excess(unit, self.max_excess)
            for post, (u_leave, u_sick, u_days) in zip(posts, draws, strict=True):
                worker = post.holder
                if worker is not None and worker.unit.excess > 0.0:
                    self._press(post, worker, u_leave, u_sick, u_days)


def test_pressure_looks_at_loaded_units_only_bit_for_bit(baseline_raw, monkeypatch):
    """Only the posts of overloaded units are looked at, in post order, with the same draws
    (posts added by a change sit at the end of the list but in earlier units)."""
    scenario = validate(_busy(baseline_raw))
    assert scenario.workforce.pressure.factor("turnover") > 0
    loaded = simulate(scenario, seed=6, years=1.5)
    monkeypatch.setattr(journey, "WorkforceDynamics", _EveryPost)
    every = simulate(scenario, seed=6, years=1.5)
    a, b = loaded.simulation.rec, every.simulation.rec
    assert len(a.departures) > 50 and sum(kind == "sickness" for *_, kind in a.absences) > 50
    assert a.departures == b.departures
    assert a.absences == b.absences
    assert a.allocations == b.allocations
    for k, v in loaded.kpis.items():
        assert v == every.kpis[k] or (math.isnan(v) and math.isnan(every.kpis[k])), k
