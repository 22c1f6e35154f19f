"""The simulation: children's journeys through social care under one operating model.

Read ``Simulation.journey`` top to bottom: it is the flow chart of DOMAIN.md section 1.

    contact -> front door -> referral -> (no further action | assessment)
    assessment -> close | CIN plan | s47 enquiry (-> ICPC -> CP plan) | looked after
    CIN plan   -> close | s47 | looked after
    CP plan    -> step down to CIN | close | looked after   (reviews at 3 months, then 6-monthly)
    looked after -> home | SGO | adoption | other | turns 18  -> closed
    closed     -> maybe re-referred later
    unaccompanied children (16-17) -> looked after directly -> leave at 18 (or earlier)

A child carries their past (CP plans and periods of care so far); the pathway numbers a
child meets depend on it and on their parental factors (``routing.Routes``).

Every stage from assessment on needs an allocated social worker from a team that
holds it (``models.teams.Allocator``). Contacts that end at the front door are
tabulated in bulk rather than simulated one by one: they touch no worker.

The time unit is the calendar day.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy
from simpy.core import URGENT

from models.accounts import WeeklyAccounts
from models.teams import Allocator
from models.workforce import WorkforceDynamics
from simulation.engine import policy
from simulation.engine.contacts import (
    PAST_CLA,
    PAST_CP,
    Contacts,
    Unaccompanied,
    draw_contacts,
    draw_luck,
    draw_unaccompanied,
)
from simulation.engine.initial import seed_initial_caseload
from simulation.engine.recorder import Child, Recorder
from simulation.engine.routing import Decision, Routes, Routing
from simulation.randomness.distributions import (
    DAYS_PER_UNIT,
    DAYS_PER_YEAR,
    build_distribution,
)
from simulation.randomness.streams import Luck, Streams, luck_rows
from simulation.scenario import STAGES, Scenario
from simulation.scenario.effects import apply_effects

WORKING_DAY = DAYS_PER_UNIT["working_days"]
PREVIOUS_EPISODE_DAYS = 91.0


class _Steps:
    """Runs a journey that starts now, in the middle of another process's step, on SimPy
    events' callbacks rather than as a ``simpy.Process``.

    A process would cost two more events per child, both at this same instant: its
    start (``Initialize``, urgent, taken right after the current step) and its end
    (which nobody waits for). Running the first leg at once does what that start would
    do next; each event the journey yields then resumes it as a process's would. An
    error in the journey propagates out of ``env.run`` as it would from a process.
    The journey is resumed with None: it never reads the value of an event it waits on
    (its stages return their next place through ``yield from``). An event already
    processed when yielded resumes it at once, as a process would.

    It is resumed with ``next(journey, None)``, which is ``send(None)`` except at the
    end: a finished generator then gives the default, where ``send`` would raise a
    StopIteration to be caught (~0.4 us, once per child). A journey yields only events,
    so None means it has ended.
    """

    __slots__ = ("journey",)

    def __init__(self, journey: Generator[Any, Any, None]) -> None:
        self.journey = journey

    def __call__(self, _event: Any = None) -> None:
        journey = self.journey
        while True:
            event = next(journey, None)
            if event is None:  # the journey has ended
                return
            callbacks = event.callbacks
            if callbacks is not None:  # not yet processed: wait for it
                callbacks.append(self)
                return


class _AtTimes:
    """Calls ``start(j)`` at ``times[j]`` for each j from ``first`` on (times non-decreasing),
    stopping at the first time at or after ``until``: what a process looping over
    ``yield env.timeout(times[j] - env.now); start(j)`` did, on the timeouts' callbacks.

    A process would resume its generator through ``Process._resume`` for every arrival
    (tens of thousands a run); here each timeout calls this object directly, and the
    timeouts are created at the same moments, so the run is the same bit for bit. Like
    that loop, a start due now (``times[j]`` not after the clock) happens at once, and
    one woken by its timeout starts without comparing the clock again.
    """

    __slots__ = ("env", "times", "start", "until", "j")

    def __init__(self, env: simpy.Environment, times: list[float],
                 start: Callable[[int], None], first: int = 0,
                 until: float = float("inf")) -> None:
        self.env, self.times, self.start, self.until, self.j = env, times, start, until, first

    def __call__(self, _event: Any = None) -> None:
        """Start what is due now, then wait for the next time."""
        env, times, start, until = self.env, self.times, self.start, self.until
        j, n = self.j, len(times)
        while j < n:
            t = times[j]
            if t >= until:
                return
            now = env.now
            if t > now:
                self.j = j
                env.timeout(t - now).callbacks.append(self._due)
                return
            start(j)
            j += 1

    def _due(self, _event: Any) -> None:
        """The timeout for ``times[j]``: start it, then go on."""
        self.start(self.j)
        self.j += 1
        self()


class Simulation:
    """One replication of one scenario: build with a seed, then ``run()``."""

    def __init__(self, scenario: Scenario, seed: int, years: float | None = None) -> None:
        self.scenario = scenario
        self.effective = apply_effects(scenario, at_years=0.0)  # dated ones: policy.py
        self.years = float(years if years is not None else scenario.run.years)
        self.horizon = self.years * DAYS_PER_YEAR
        self.streams = Streams(seed)
        self.env = simpy.Environment()
        self.processes_started = 0
        self.rec = Recorder(self.years)
        self.alloc = Allocator(self.effective, self.env, self.rec)
        self.workforce = WorkforceDynamics(self.effective, self.env, self.alloc, self.streams,
                                           self.rec)
        self.accounts = WeeklyAccounts(self.effective, self.alloc)
        self.rec.adult_ledger = self.accounts
        self.routes = Routes(scenario, self.effective)
        self._compile(self.effective)

    # ------------------------------------------------------------------ set-up
    def _compile(self, s: Scenario) -> None:
        """Turn the scenario's declarations into fast callables for the hot path."""
        p, d = s.pathway, s.demand
        base = self.routes.default  # the pathway of a child with no factors and no past
        self.d_assessment, self.d_time_to_icpc = base.d_assessment, base.d_time_to_icpc
        self.d_cin, self.d_cp, self.d_cla = base.d_cin, base.d_cp, base.d_cla
        self.d_front_door = build_distribution(d.front_door.decision_time)
        self.d_re_referral = build_distribution(d.re_referral.delay)
        self.rec.placements = dict.fromkeys(p.cla.placements, 0)
        self.uasc_route = self._uasc_routing(s)
        self.re_referral_p = d.re_referral.probability
        self.adult_age_days = p.cla.leaving_age_years * DAYS_PER_YEAR
        month = DAYS_PER_YEAR / 12
        self.first_review = p.cp.first_review_months * month
        self.review_interval = p.cp.review_interval_months * month
        self.sources = list(d.referral_sources)
        self.last_locality = len(s.structure.localities) - 1
        self.stage_handlers = {
            "assessment": self._assessment, "s47": self._s47, "cin": self._cin,
            "cp": self._cp, "cla": self._cla, "closed_returning": self._returning,
        }
        # assessments slowed by their unit's load: asked only when the scenario says so
        self.slowed_by_load = bool(self.workforce.k_assessment)

    def _uasc_routing(self, s: Scenario) -> Routing | None:
        """Care as unaccompanied children meet it: their placement mix and time in care; an
        exit before 18 is 'other' (to family, an age reassessment, moving on)."""
        spec = s.demand.unaccompanied
        if spec is None:
            return None
        route = Routing(s.pathway)
        route.placement = Decision(list(spec.placements.items()))
        route.d_cla = build_distribution(spec.duration)
        route.cla_exit = Decision([("other", 1.0)])
        return route

    def _route(self, child: Child) -> Routing:
        """The pathway numbers this child meets now: their factors and their past. Kept on
        the child (``child.route``) and renewed when their past changes."""
        if child.uasc:
            return self.uasc_route
        return self.routes.get(child.factors, child.cp_plans > 0, child.cla_periods > 0)

    def _make_child(self, cid: int, key: int, arrival: float, age_years: float,
                    locality: int, source: str, luck_row: list[float],
                    initial: bool = False, factors: int = 0, past: int = 0,
                    stream: str | None = None) -> Child:
        name = stream or ("luck-initial" if initial else "luck-contact")
        luck = Luck(luck_row, self.streams, key, name)
        child = Child(cid, arrival, arrival - age_years * DAYS_PER_YEAR,
                      min(int(locality), self.last_locality), source, luck, initial, factors)
        if past & PAST_CP:
            child.cp_plans = 1
        if past & PAST_CLA:
            child.cla_periods = 1
        child.route = self._route(child)
        self.rec.children.append(child)
        return child

    def _initial_caseload(self) -> None:
        """Open cases on day 0: counts or groups of ``initial_state`` (engine.initial)."""
        seed_initial_caseload(self)

    # ------------------------------------------------------------------ the journey
    def journey(self, child: Child, place: str, remaining: float | None = None,
                elapsed: float = 0.0) -> Generator[Any, Any, None]:
        """One child's path from referral to closure, and back if re-referred.

        The referral and the closure take no time, so they are plain calls; each stage
        is a generator that waits out its time and returns where the child goes next.
        """
        stages = self.stage_handlers
        while place is not None:
            if place == "referral":
                place = self._referral(child)
            elif place == "close":
                delay = self._close(child)
                if delay is None:
                    break
                yield from self._due_back(child, delay)
                place = "referral"
            else:
                place = yield from stages[place](child, remaining, elapsed)
            remaining, elapsed = None, 0.0
        # Closed for good: what only the journey uses goes, so that a long run holds each
        # child's record and not their unused luck (~0.5 KB a child).
        child.luck = child.known = None

    def _returning(self, child: Child, remaining: float, elapsed: float):
        """Day 0's re-referral pipeline: a case closed ``elapsed`` days ago that will return.

        Its previous referral date is unknown; we place it a typical closed episode
        (three months) before the closure, for the 12-month re-referral measure.
        """
        self.rec.move(child, "closed", self.env.now)
        child.referral_day = -elapsed - PREVIOUS_EPISODE_DAYS
        yield from self._due_back(child, remaining)
        return "referral"

    def _due_back(self, child: Child, delay: float):
        """A closed case that will be referred again after ``delay`` days."""
        rec = self.rec
        rec.returning += 1
        child.due_back = True
        yield self.env.timeout(delay)
        child.due_back = False
        rec.returning -= 1

    def _referral(self, child: Child) -> str:
        now = self.env.now
        events = self.rec.events
        events["referral"].append(now)
        if child.referral_day is not None and now - child.referral_day <= DAYS_PER_YEAR:
            events["re_referral_12m"].append(now)
        child.referral_day = now
        child.referrals += 1
        if child.luck() < child.route.nfa_rate:
            events["referral_nfa"].append(now)
            return "close"
        return "assessment"

    def _assessment(self, child: Child, remaining: float | None, elapsed: float):
        env, rec = self.env, self.rec
        now = env.now
        rec.move(child, "assessment", now)
        started = child.referral_day if child.referral_day is not None else now - elapsed
        luck = child.luck
        u_duration, u_outcome = luck(), luck()
        wait = self.alloc.enter(child, "assessment", now)
        if wait is not None:
            yield wait
        route = child.route
        if remaining is None:
            remaining = route.d_assessment.ppf(u_duration)
            if self.slowed_by_load:
                remaining *= self.workforce.duration_factor(child.worker)
        yield env.timeout(remaining)
        now = env.now
        rec.events["assessment"].append(now)
        rec.assessment_working_days.append((now - started) / WORKING_DAY)
        return route.assessment_outcome(u_outcome)

    def _s47(self, child: Child, remaining: float | None, elapsed: float):
        """Strategy meeting and s47 enquiry; some reach an initial CP conference."""
        env, rec = self.env, self.rec
        now = env.now
        rec.move(child, "s47", now)
        rec.events["s47"].append(now)
        luck = child.luck
        u_icpc, u_duration, u_plan, u_next = luck(), luck(), luck(), luck()
        wait = self.alloc.enter(child, "s47", now)
        if wait is not None:
            yield wait
        route = child.route
        if u_icpc < route.icpc_rate:
            yield env.timeout(remaining if remaining is not None
                              else route.d_time_to_icpc.ppf(u_duration))
            rec.events["icpc"].append(env.now)
            return "cp" if u_plan < route.cp_plan_rate else route.icpc_otherwise(u_next)
        yield env.timeout(remaining if remaining is not None
                          else route.d_s47_no_icpc.ppf(u_duration))
        return route.no_icpc_outcome(u_next)

    def _start_plan(self, child: Child, stage: str, counter: str,
                    remaining: float | None) -> None:
        """Enter a plan stage: move there, count the start (not for day 0's caseload, whose
        plans began before the run), and ask for a worker; the plan runs on regardless."""
        now = self.env.now
        self.rec.move(child, stage, now)
        if remaining is None:
            self.rec.events[counter].append(now)
        self.alloc.enter(child, stage, now)

    def _cin(self, child: Child, remaining: float | None, elapsed: float):
        env = self.env
        self._start_plan(child, "cin", "cin_start", remaining)
        u_duration, u_next = child.luck(), child.luck()
        route = child.route
        yield env.timeout(remaining if remaining is not None else route.d_cin.ppf(u_duration))
        return route.cin_outcome(u_next)

    def _cp(self, child: Child, remaining: float | None, elapsed: float):
        """A CP plan, reviewed at 3 months then 6-monthly, ending by one of its routes."""
        env, rec = self.env, self.rec
        start = env.now - elapsed
        self._start_plan(child, "cp", "cp_start", remaining)
        if remaining is None and child.cp_plans:
            rec.events["cp_start_repeat"].append(env.now)
        if child.cp_plans == 0:
            child.cp_plans = 1
            child.route = self._route(child)
        else:
            child.cp_plans += 1
        u_duration, u_next = child.luck(), child.luck()
        route = child.route
        yield env.timeout(remaining if remaining is not None else route.d_cp.ppf(u_duration))
        # Review conferences change nothing the model tracks, so they are counted, not
        # simulated as events.
        review, reviews = start + self.first_review, rec.events["cp_review"]
        while review < env.now:
            if review >= 0.0:  # reviews before day 0 belong to the initial caseload's past
                reviews.append(review)
            review += self.review_interval
        rec.cp_lengths.append(env.now - start)
        return route.cp_outcome(u_next)

    def _cla(self, child: Child, remaining: float | None, elapsed: float):
        """A looked-after episode: a placement, then an exit route (or turning 18)."""
        env, rec = self.env, self.rec
        start = env.now - elapsed
        self._start_plan(child, "cla", "cla_start", remaining)
        u_duration, u_placement, u_exit = child.luck(), child.luck(), child.luck()
        routing = child.route
        if child.cla_periods == 0:
            child.cla_periods = 1
            child.route = self._route(child)
        else:
            child.cla_periods += 1
        placement = routing.placement(u_placement)
        length = remaining if remaining is not None else routing.d_cla.ppf(u_duration)
        to_adulthood = child.birth_day + self.adult_age_days - env.now
        if to_adulthood <= length + 1e-9:  # (day 0's unaccompanied children end exactly at 18)
            length, route = max(to_adulthood, 0.0), "18+"
        else:
            route = routing.cla_exit(u_exit)
        rec.placements[placement] += 1
        child.cla_since = (start, placement)
        rec.uasc_in_care += child.uasc
        yield env.timeout(length)
        rec.uasc_in_care -= child.uasc
        rec.placements[placement] -= 1
        child.cla_since = None
        rec.cla_episodes.append((child.id, start, env.now, placement, route))
        return "close"

    def _close(self, child: Child) -> float | None:
        """Close the case; some children are referred again later: returns the delay
        before the next referral, or None if the case is closed for good."""
        now = self.env.now
        self.rec.move(child, "closed", now)
        self.alloc.close(child, now)
        luck = child.luck
        u_return, u_delay = luck(), luck()
        if u_return < self.re_referral_p and not child.uasc:
            delay = self.d_re_referral.ppf(u_delay)
            if now + delay < child.birth_day + self.adult_age_days:
                return delay
        return None

    # ------------------------------------------------------------------ processes
    def _arrivals(self, contacts: Contacts, first_id: int) -> None:
        """Start a journey at each referral's front-door decision, in time order, from the
        first step on day 0 (``_AtTimes``)."""
        env = self.env
        referred = np.flatnonzero(contacts.referred)
        order = referred[np.argsort(contacts.decision[referred], kind="stable")]
        rows = luck_rows(draw_luck(self.streams, contacts, order))
        decision = contacts.decision[order].tolist()
        arrival = contacts.arrival[order].tolist()
        age = contacts.age_years[order].tolist()
        locality = contacts.locality[order].tolist()
        source = [self.sources[i] for i in contacts.source[order].tolist()]
        factors = contacts.factors[order].tolist()
        keys = contacts.key[order].tolist()
        past = contacts.past[order].tolist()
        ids = (order + first_id).tolist()
        make_child, journey = self._make_child, self.journey

        def start(j: int) -> None:
            child = make_child(ids[j], keys[j], arrival[j], age[j], locality[j], source[j],
                               rows[j], factors=factors[j], past=past[j])
            child.spells.append(("front_door", child.arrival))
            if env.now > 0.0:
                self._start_now(journey(child, "referral"))
            else:  # day 0: started after everything else begun on day 0
                self.start_soon(journey(child, "referral"))
            self.processes_started += 1

        self._soon(_AtTimes(env, decision, start, until=self.horizon))

    def _start_now(self, journey: Generator[Any, Any, None]) -> None:
        """Start a journey at once, inside the current step, without a process (``_Steps``);
        as a process started now would, when nothing else is due at this instant."""
        _Steps(journey)()

    def _soon(self, callback: Callable[[Any], None]) -> None:
        """Call ``callback`` in this instant, after what is already due now: when a process
        created now would take its first step (SimPy's ``Initialize``, an urgent event made
        at creation), so the run keeps the order of events a process gave it."""
        event = simpy.Event(self.env)
        event._ok, event._value = True, None  # triggered, as Initialize is
        event.callbacks.append(callback)
        self.env.schedule(event, URGENT)

    def start_soon(self, journey: Generator[Any, Any, None]) -> None:
        """Start a journey as ``env.process`` would (its first step in this instant, after
        what is already due), but on callbacks (``_Steps``): no process to resume at each
        step, and no end event."""
        self._soon(_Steps(journey))

    def _unaccompanied(self, arrivals: Unaccompanied, first_id: int) -> None:
        """Unaccompanied children entering care on their arrival days (no front door).

        The stream starts before day 0 (entrants are at most two years from 18): those who
        arrived earlier and are still in care on day 0 are day 0's unaccompanied children
        (their own stationary law, so ``initial_state.cla`` excludes them), started at once
        like the initial caseload. Their time in care is drawn as the journey would (first
        uniform of their row, capped at 18).
        """
        rows = luck_rows(arrivals.luck)
        age_days = (arrivals.age_years * DAYS_PER_YEAR).tolist()
        times = arrivals.arrival.tolist()
        first_new = int(np.searchsorted(arrivals.arrival, 0.0))
        for j in range(first_new):
            t = times[j]
            stay = min(self.uasc_route.d_cla.ppf(rows[j][0]), self.adult_age_days - age_days[j])
            if stay > -t:  # otherwise they left care before day 0
                self._start_unaccompanied(first_id + j, j, t, age_days[j], arrivals, rows[j],
                                          stay + t, -t)

        def start(j: int) -> None:
            self._start_unaccompanied(first_id + j, j, times[j], age_days[j], arrivals, rows[j])

        self._soon(_AtTimes(self.env, times, start, first=first_new))

    def _start_unaccompanied(self, cid: int, j: int, t: float, age_days: float,
                             arrivals: Unaccompanied, row: Any,
                             remaining: float | None = None, elapsed: float = 0.0) -> None:
        child = self._make_child(cid, j, t, age_days / DAYS_PER_YEAR,
                                 int(arrivals.locality[j]), "unaccompanied", row,
                                 stream="luck-uasc")
        child.uasc = True
        child.route = self.uasc_route
        self.start_soon(self.journey(child, "cla", remaining, elapsed))
        self.processes_started += 1

    def _snapshots(self, contacts: Contacts):
        interval = self.effective.run.snapshot_interval_days
        while True:
            self._snapshot(self.env.now, contacts)
            yield self.env.timeout(interval)

    def _snapshot(self, now: float, contacts: Contacts) -> None:
        """Weekly stocks: open cases in each place, and how many wait for a worker."""
        arrived = int(np.searchsorted(contacts.arrival, now, side="right"))
        decided = int(np.searchsorted(self._decisions_sorted, now, side="right"))
        closed_at_door = int(np.searchsorted(self._fd_only_decisions, now, side="right"))
        counts, unalloc = self.rec.counts, self.alloc.unallocated
        snap = self.rec.snapshots.append
        snap((now, "front_door", arrived - decided, 0))
        for stage in STAGES:
            snap((now, stage, counts[stage], unalloc[stage]))
        snap((now, "closed", counts["closed"] + closed_at_door, 0))
        self.rec.caseload_snapshots.append(
            (now, self.alloc.allocated_cases(), self.alloc.case_holding_fte(), self.rec.returning,
             self.rec.uasc_in_care))
        accounts = self.accounts
        permanent, agency = accounts.staff_cost()
        allocated = {stage: counts[stage] - unalloc[stage] for stage in STAGES}
        weeks = min(self.effective.run.snapshot_interval_days, self.horizon - now) / 7.0
        direct, needed, cases, direct_f, cases_f = accounts.time(allocated, weeks)
        self.rec.accounts.append((now, permanent, agency,
                                  accounts.placements_cost(self.rec.placements),
                                  direct, needed, cases, direct_f, cases_f))
        self.rec.workforce.extend(accounts.composition(now))

    def dispose(self) -> None:
        """Break the reference cycles of a finished run so it is freed at once; the
        simulation cannot be used afterwards.

        Pending events point at processes that point back at their events; workers hold
        children that hold them; the simulation's bound methods and generator frames point
        back at it. Left alone, a replication is ~300,000 objects for the cyclic garbage
        collector (~0.4 s each in a batch); ``test_batch`` counts what is left.
        """
        for *_, event in self.env._queue:
            event.callbacks = None
        self.env._queue.clear()
        for worker in self.alloc.people:
            worker.cases.clear()
        for kind in self.alloc.kinds:
            kind.queue.clear()
            for unit in kind.units:
                unit.queue.clear()
        for child in self.rec.children:
            child.worker = None
            child.request = None
            child.adult_entry = None
        self.rec.adult_ledger = None  # recorder -> accounts -> allocator -> recorder
        self.__dict__.clear()  # everything it owns is then freed by reference counting

    def run(self) -> Recorder:
        """Simulate to the horizon and return the recorder."""
        contacts = draw_contacts(self.effective, self.streams, self.horizon, self.d_front_door)
        self.contacts = contacts
        self._decisions_sorted = np.sort(contacts.decision)
        self._fd_only_decisions = np.sort(contacts.decision[~contacts.referred])
        self.workforce.staff_day_zero()
        policy.start(self)  # dated effects and staffing changes
        self._initial_caseload()
        first_id = len(self.rec.children)
        self.first_contact_id = first_id
        self._arrivals(contacts, first_id)
        self.unaccompanied = draw_unaccompanied(self.effective, self.streams, self.horizon)
        if len(self.unaccompanied.arrival):
            self._unaccompanied(self.unaccompanied, first_id + len(contacts.arrival))
        self.env.process(self._snapshots(contacts))
        self.env.run(until=self.horizon)
        self._snapshot(self.horizon, contacts)
        self.accounts.settle(self.rec.children)
        self.events_processed = next(self.env._eid)  # SimPy's own count of scheduled events
        return self.rec
