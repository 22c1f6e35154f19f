"""A living workforce: people leave, are away, are covered and are replaced.

Each post is a small story told by chains of SimPy events (``models.chains``):

* a person in post leaves after an exponential time at their turnover rate (permanent
  and agency staff have their own); their cases are reallocated (cause ``departure``);
* a vacant post gets agency cover after a short lag (if the scenario says so) and a
  permanent recruit after the recruitment lag; the recruit takes over the agency
  worker's cases (again a change of worker for those families);
* people take annual leave and are sick: while away they take no new cases and their
  families are covered, by a duty worker they do not know or by a colleague who then
  knows them (the team's ``cover``); an absence longer than ``reallocate_after_days``
  becomes a reallocation (cause ``absence``).

Workload feedback (``workforce.pressure``, assumed effects): every ``interval_days``
each unit's excess load is measured (``Allocator.unit_excess``); people in a unit with
excess ``x`` leave at their turnover rate times ``1 + turnover x``, start sickness
spells at the sickness rate times ``1 + sickness x`` (the extra hazard, drawn week by
week), and assessments started there run ``1 + assessment_duration x`` times as long.
So cutting staff shows up as more leavers, more sickness and slower assessments, which
feed back into vacancies and changes of worker.

Randomness comes from one named stream per post, so a post's story does not depend on
what happens elsewhere; the pressure draws come from the ``workforce-pressure`` stream,
a fixed number per post per measurement, so paired scenarios share them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from operator import attrgetter
from typing import Any

from models.chains import after, later, soon
from models.moves import InternalMoves
from models.teams import Allocator, Post, Worker
from simulation.randomness.distributions import DAYS_PER_YEAR, build_distribution
from simulation.randomness.streams import Streams
from simulation.scenario import Scenario

_by_id = attrgetter("id")  # cases and posts are walked in id order: reproducible


class Uniforms:
    """A post's own uniforms, drawn in blocks from its named stream."""

    __slots__ = ("_rng", "_buf", "_i")

    def __init__(self, rng: Any) -> None:
        self._rng = rng
        self._buf: list[float] = []
        self._i = 0

    def __call__(self) -> float:
        if self._i >= len(self._buf):
            self._buf = self._rng.random(64).tolist()
            self._i = 0
        self._i += 1
        return self._buf[self._i - 1]


class WorkforceDynamics:
    """Starts and runs every post's processes; records departures and absences."""

    def __init__(self, scenario: Scenario, env: Any, alloc: Allocator, streams: Streams,
                 rec: Any) -> None:
        w = scenario.workforce
        self.env, self.alloc, self.rec = env, alloc, rec
        self.turnover = w.turnover_rate / DAYS_PER_YEAR
        self.agency_turnover = w.agency_turnover_rate / DAYS_PER_YEAR
        self.agency_cover = w.agency_cover
        self.d_agency = build_distribution(w.agency_start)
        self.d_recruit = build_distribution(w.recruitment)
        self.initial_vacancy = w.initial_vacancy_rate
        self.reallocate_after = w.reallocate_after_days
        self.absences = [(a.spells_per_year / DAYS_PER_YEAR, build_distribution(a.duration), kind)
                         for a, kind in ((w.annual_leave, "leave"), (w.sickness, "sickness"))
                         if a is not None and a.spells_per_year > 0]
        self.absence_rate = sum(r for r, _, _ in self.absences)
        self.luck = {p.id: Uniforms(streams.generator("workforce", p.id)) for p in alloc.posts}
        self.recruiting: set[int] = set()
        self.closed: set[int] = set()  # posts cut (models.establishment): never refilled
        p = w.pressure
        self.pressure_interval = p.interval_days
        self.max_excess = p.max_excess
        self.k_turnover = p.factor("turnover")
        self.k_sickness = p.factor("sickness")
        self.k_assessment = p.factor("assessment_duration")
        self.sickness = next(((r, d) for r, d, kind in self.absences if kind == "sickness"),
                             None)
        self.pressure_rng = streams.generator("workforce-pressure")
        self.units = [u for k in alloc.kinds for u in k.units]
        self.moves = InternalMoves(w.internal_move_rate, env, alloc, streams, self._start)

    @property
    def pressure_on(self) -> bool:
        return bool(self.k_turnover or self.k_sickness or self.k_assessment)

    def duration_factor(self, worker: Worker | None) -> float:
        """How much longer an assessment run by ``worker`` takes under their unit's load."""
        if worker is None or not self.k_assessment:
            return 1.0
        return 1.0 + self.k_assessment * worker.unit.excess

    # ------------------------------------------------------------------ pressure
    def _pressure(self) -> Generator[Any, Any, None]:
        """Measure each unit's load; add the extra leaving and sickness hazard it brings.

        Each measurement draws three uniforms for every post ever created (post ``i`` reads
        ``draws[3i:3i + 3]``), used or not, so paired scenarios share them; only the posts
        of overloaded units, in post order, are then looked at (most weeks few or none)."""
        env, alloc, dt = self.env, self.alloc, self.pressure_interval
        posts = alloc.posts
        while True:
            yield env.timeout(dt)
            draws = self.pressure_rng.random(3 * len(posts))
            loaded: list[Post] = []
            for unit in self.units:
                unit.excess = alloc.unit_excess(unit, self.max_excess)
                if unit.excess > 0.0:
                    loaded.extend(unit.posts)
            loaded.sort(key=_by_id)  # posts added later sit in earlier units
            for post in loaded:
                worker = post.holder
                if worker is not None:
                    i = 3 * post.id
                    self._press(post, worker, *draws[i:i + 3].tolist())

    def _press(self, post: Post, worker: Worker, u_leave: float, u_sick: float,
               u_days: float) -> None:
        """One week of its unit's load on ``worker``: the extra hazard of leaving, then
        (if they stay and are at work) of going off sick, each from its own uniform."""
        x, dt = worker.unit.excess, self.pressure_interval
        if self.k_turnover and post.turns_over:
            rate = self.agency_turnover if worker.agency else self.turnover
            if u_leave < -math.expm1(-rate * self.k_turnover * x * dt):
                self._depart(worker)
                return
        if self.k_sickness and self.sickness is not None and worker.present:
            rate, duration = self.sickness
            if u_sick < -math.expm1(-rate * self.k_sickness * x * dt):
                soon(self.env, self._away, worker, duration.ppf(u_days), "sickness")

    # ------------------------------------------------------------------ set-up
    def staff_day_zero(self) -> None:
        """Fill posts on day 0: a share are vacant, covered by agency staff if allowed."""
        for post in self.alloc.posts:
            u = self.luck[post.id]
            if post.turns_over and u() < self.initial_vacancy:
                if self.agency_cover:
                    self._start(self.alloc.hire(post, agency=True, now=0.0))
                # A vacancy found at a random moment has a length-biased wait left; the
                # uniform share of a fresh lag is a simple, slightly short, stand-in.
                self._recruit_later(post, self.d_recruit.ppf(u()) * u())
            else:
                self._start(self.alloc.hire(post, agency=False, now=0.0))
        if self.pressure_on:
            self.env.process(self._pressure())

    def _start(self, worker: Worker) -> None:
        if worker.post.turns_over:
            rate = self.agency_turnover if worker.agency else self.turnover
            if rate > 0:
                soon(self.env, self._career, worker, rate)
        if self.absence_rate > 0:
            soon(self.env, self._next_absence, worker)
        self.moves.start(worker)  # moves inside the council (models.moves)

    # ------------------------------------------------------------------ careers
    # Careers, absences, agency cover and recruitment run as chains of events with
    # callbacks (models.chains), not a process each.
    def _career(self, worker: Worker, rate: float) -> None:
        """The time the worker will stay, from their post's uniforms."""
        u = self.luck[worker.post.id]
        later(self.env, -math.log(1.0 - u()) / rate, self._career_over, worker)

    def _career_over(self, worker: Worker) -> None:
        if not worker.left:
            self._depart(worker)

    def _depart(self, worker: Worker) -> None:
        self.rec.departures.append((self.env.now, worker.post.role, worker.agency,
                                    worker.post.fte))
        self.alloc.leave(worker, self.env.now, "departure")
        self._vacancy(worker.post)

    def open_vacancy(self, post: Post, rng: Any) -> None:
        """A new funded post (models.establishment), with its own stream: filled like any
        vacancy."""
        self.luck[post.id] = Uniforms(rng)
        self._vacancy(post)

    def release(self, worker: Worker) -> None:
        """An agency worker let go when their post is cut (models.establishment): a
        departure like any other, whose post is then dropped, not refilled."""
        self._depart(worker)

    def drop_post(self, post: Post) -> None:
        """A cut post, now empty, leaves its unit's establishment (models.establishment);
        it stays, empty for good, in ``alloc.posts``, which the pressure loop walks."""
        self.closed.add(post.id)
        self.alloc.remove_post(post)

    def _vacancy(self, post: Post) -> None:
        if post.id in self.closed:  # cut by attrition: the leaver is not replaced
            self.drop_post(post)
            return
        u = self.luck[post.id]
        if self.agency_cover:
            after(self.env, self.d_agency.ppf(u()), self._agency, post)
        if post.id not in self.recruiting:
            self._recruit_later(post, self.d_recruit.ppf(u()))

    def _agency(self, post: Post) -> None:
        """Agency cover arrives, if the post is still empty and funded."""
        if post.holder is None and post.id not in self.closed:
            self._start(self.alloc.hire(post, agency=True, now=self.env.now))

    def _recruit_later(self, post: Post, lag: float) -> None:
        self.recruiting.add(post.id)
        after(self.env, lag, self._recruit, post)

    def _recruit(self, post: Post) -> None:
        """The permanent recruit starts, taking over any agency cover's cases."""
        self.recruiting.discard(post.id)
        if post.id in self.closed:
            return
        now = self.env.now
        cover = post.holder
        if cover is not None:  # the agency worker hands their cases to the recruit
            self.alloc.leave(cover, now, "departure", to_successor=True)
        recruit = self.alloc.hire(post, agency=False, now=now, serve=cover is None)
        if cover is not None:
            self.alloc.take_over(cover, recruit, now)
        self._start(recruit)

    # ------------------------------------------------------------------ absence
    def _next_absence(self, worker: Worker) -> None:
        """The time to the worker's next absence spell, from their post's uniforms."""
        u = self.luck[worker.post.id]
        later(self.env, -math.log(1.0 - u()) / self.absence_rate, self._absence_due, worker)

    def _absence_due(self, worker: Worker) -> None:
        if worker.left:
            return
        u = self.luck[worker.post.id]
        duration, kind = self._which_absence(u() * self.absence_rate)
        days = duration.ppf(u())
        if not worker.present:  # already off sick under pressure: this spell lapses
            self._next_absence(worker)
            return
        self._away(worker, days, kind, self._absence_over)

    def _absence_over(self, worker: Worker) -> None:
        if not worker.left:
            self._next_absence(worker)

    def _which_absence(self, pick: float) -> tuple[Any, str]:
        """Leave or sickness, in proportion to their rates."""
        for rate, duration, kind in self.absences:
            if pick < rate:
                return duration, kind
            pick -= rate
        return self.absences[-1][1], self.absences[-1][2]

    def _away(self, worker: Worker, days: float, kind: str,
              then: Callable[[Worker], None] | None = None) -> None:
        """Away for ``days``: covered, reallocated if long; ``then(worker)`` once back."""
        alloc = self.alloc
        alloc.set_away(worker)
        self.rec.absences.append((self.env.now, days, kind))
        if worker.cases and worker.unit.team.cover == "colleague":
            colleagues = [w.id for w in worker.unit.workers if w.present and w is not worker]
            if colleagues:  # shared out in turn: each family meets one colleague
                n = len(colleagues)
                for i, child in enumerate(sorted(worker.cases, key=_by_id)):
                    child.known.add(colleagues[i % n])
        if days > self.reallocate_after:
            later(self.env, self.reallocate_after, self._long_absence, worker, days, then)
        else:
            later(self.env, days, self._back, worker, then)

    def _long_absence(self, worker: Worker, days: float,
                      then: Callable[[Worker], None] | None) -> None:
        if worker.left:
            return
        self.alloc.reallocate_all(worker, "absence", self.env.now)
        later(self.env, days - self.reallocate_after, self._back, worker, then)

    def _back(self, worker: Worker, then: Callable[[Worker], None] | None) -> None:
        self.alloc.set_back(worker, self.env.now)
        if then is not None:
            then(worker)
