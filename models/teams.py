"""Teams, workers and case allocation: the operating model as data.

A scenario declares kinds of team (``count`` identical units each), the stages each
holds, the staff by role and a caseload limit. This module turns that into posts and
workers and applies one set of rules everywhere:

* a case entering a stage keeps its worker if the worker's team holds the stage;
* otherwise it is handed to a team that does (a change of worker, cause ``handover``);
* when nobody in the right unit has room, the case waits unallocated, in a queue
  ordered by urgency (s47, CP, CLA, assessment, CIN), first come first served within;
  stages the structure lists in ``over_limit_stages`` are allocated over the limit
  instead, to the least loaded worker present, as councils do with urgent work;
* a worker who leaves, or is away longer than the cover period, has their cases
  reallocated inside their unit (cause ``departure`` / ``absence``);
* caseload management (cause ``caseload_management``, the DfE reason of that name):
  when a worker has room and a colleague is over the limit, one case moves; and a
  new worker starting in a vacant post takes cases from colleagues more loaded than
  them, up to ``new_starter_fill`` of their limit, as councils do;
* each unit's load (cases held plus cases waiting, over the capacity of its people in
  post) is measured by ``unit_excess``; ``models.workforce`` turns it into pressure.

Hub teams, pods and FSP teams differ only in what their scenario declares.

Performance: queues are heaps with lazy cancellation (not ``simpy.PriorityResource``,
which re-sorts on every request); free room is kept as counters per worker and unit;
units are small, so picking a worker is a short scan.
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from simulation.scenario import STAGES, Scenario

URGENCY = {"s47": 0, "cp": 1, "cla": 2, "assessment": 3, "cin": 4}
# Stages whose work cannot start until a worker is allocated; in the others the plan
# runs on while the case waits for a worker (an unallocated CIN/CP/CLA case).
WAIT_TO_START = frozenset({"assessment", "s47"})
# A queued request: [urgency, sequence, child, stage, event or None, day, cancelled,
# the unit or team kind whose queue holds it]
Request = list
# A queue is compacted (its cancelled requests dropped) when it holds more than this many
# requests beyond twice its live ones: cancelled requests are only skipped when popped, and
# in an understaffed run most requests are cancelled (the case moved on) before a worker
# has room. Dropping them never changes which live request comes next (the heap's keys,
# urgency then sequence, are unique), only how long the heap is.
COMPACT_SLACK = 64
_child_id = attrgetter("id")  # cases are walked in id order: reproducible


def _over_limit(worker: Worker) -> int:
    """Cases held above the limit (negative: room left, counting away workers' too)."""
    return len(worker.cases) - worker.capacity


class Post:
    """A funded position in a unit; filled by a permanent worker, agency cover, or nobody."""

    __slots__ = ("id", "unit", "role", "fte", "capacity", "holder", "turns_over")

    def __init__(self, pid: int, unit: Unit, role: str, fte: float, capacity: int,
                 turns_over: bool) -> None:
        self.id = pid
        self.unit = unit
        self.role = role
        self.fte = fte
        self.capacity = capacity
        self.holder: Worker | None = None
        self.turns_over = turns_over


class Worker:
    """A person in a post. ``free`` is their room for more cases (negative if over)."""

    __slots__ = ("id", "post", "unit", "capacity", "cases", "present", "free", "agency",
                 "left", "since")

    def __init__(self, wid: int, post: Post, agency: bool, since: float) -> None:
        self.id = wid
        self.post = post
        self.unit = post.unit
        self.capacity = post.capacity
        self.cases: set[Any] = set()
        self.present = True
        self.free = post.capacity
        self.agency = agency
        self.left = False
        self.since = since


class Unit:
    """One team: e.g. the Selby hub's intake team, or pod 7."""

    __slots__ = ("team", "index", "holds", "co_working", "posts", "workers", "queue", "waiting",
                 "free", "overload", "excess", "people_ids")

    def __init__(self, team: TeamKind, index: int) -> None:
        self.team = team
        self.index = index
        self.holds = team.holds            # the team's, at hand for the hot path
        self.co_working = team.co_working
        self.posts: list[Post] = []
        self.workers: list[Worker] = []   # case-holding people in post
        self.queue: list[Request] = []    # cases of this unit waiting for a worker
        self.waiting = 0                  # the requests in ``queue`` not cancelled
        self.free = 0                     # sum of the workers' positive room
        self.overload = 0                 # cases held above the limit, summed
        self.excess = 0.0                 # load above capacity, as last measured
        # ids of everyone in post (case-holding or not), kept by ``Allocator.hire`` and
        # ``leave``: in a co-working unit each family comes to know them all, and building
        # the list at every allocation cost more than the allocation
        self.people_ids: tuple[int, ...] = ()

    def best_worker(self, exclude: Worker | None = None) -> Worker | None:
        """The present worker with the most room (first listed on ties), or None if all full."""
        if self.free <= 0:
            return None
        best, best_free = None, 0
        for w in self.workers:
            if w.free > best_free and w is not exclude:
                best, best_free = w, w.free
        return best

    def least_loaded(self, exclude: Worker | None = None) -> Worker | None:
        """The present worker with the fewest cases for their limit (for over-limit work)."""
        best, best_load = None, math.inf
        for w in self.workers:
            if w.present and w is not exclude:
                load = len(w.cases) / w.capacity
                if load < best_load:
                    best, best_load = w, load
        return best

    def people(self) -> list[Worker]:
        return [p.holder for p in self.posts if p.holder is not None]

    def staffing_changed(self) -> None:
        """Someone took up or left a post here: refresh ``people_ids``."""
        self.people_ids = tuple(p.holder.id for p in self.posts if p.holder is not None)


@dataclass
class TeamKind:
    """All units of one declared team (e.g. the four hubs' intake teams)."""

    name: str
    holds: frozenset[str]
    assignment: str
    cover: str
    co_working: bool
    units: list[Unit] = field(default_factory=list)
    queue: list[Request] = field(default_factory=list)  # new cases no unit has room for
    waiting: int = 0  # the requests in ``queue`` not cancelled
    # each child goes to the unit of their locality (else: the unit with the most room)
    by_locality: bool = field(init=False)

    def __post_init__(self) -> None:
        self.by_locality = self.assignment == "locality"


def _split_fte(fte: float) -> list[float]:
    """Posts of one role: 4.5 FTE is four full-time posts and one half-time post."""
    whole = int(math.floor(fte + 1e-9))
    posts = [1.0] * whole
    rest = round(fte - whole, 6)
    if rest > 1e-6:
        posts.append(rest)
    return posts


class Allocator:
    """Holds every team, post and worker; keeps, hands over, queues and reallocates cases.

    The recorder's hooks: ``on_allocate(child, worker, cause, now, known)`` (cause None
    for the first worker of an episode; known: the family already knew the new worker),
    ``on_release(child, now)`` and
    ``on_wait_end(child, stage, day_requested, days_waited, allocated)``.
    """

    def __init__(self, scenario: Scenario, env: Any, recorder: Any) -> None:
        self.env = env
        self.on_allocate = recorder.on_allocate
        self.on_release = recorder.on_release
        self.on_wait_end = recorder.on_wait_end
        self.kinds: list[TeamKind] = []
        self.posts: list[Post] = []
        self.people: list[Worker] = []
        self.unallocated = dict.fromkeys(STAGES, 0)
        self.over_limit = frozenset(scenario.structure.over_limit_stages)
        self.rebalance = scenario.structure.rebalance
        self.new_starter_fill = scenario.structure.new_starter_fill
        self._seq = itertools.count()
        self.roles = scenario.workforce.roles
        self.turnover_roles = scenario.workforce.turnover_roles
        self.caseload_limit = {team.name: team.caseload_limit for team in scenario.structure.teams}
        # bumped whenever a unit's posts change (models.establishment), so what is worked
        # out per post once (models.accounts) knows to work it out again
        self.establishment_version = 0
        weights = list(scenario.structure.localities.values())
        for team in scenario.structure.teams:
            kind = TeamKind(team.name, frozenset(team.holds), team.assignment, team.cover,
                            team.co_working)
            for u in range(team.count):
                unit = Unit(kind, u)
                size = team.count * weights[u] / sum(weights) \
                    if team.staff_split == "by_locality" else 1.0
                for role, fte in scenario.staff_of(team).items():
                    self.add_posts(unit, role, fte * size)
                kind.units.append(unit)
            self.kinds.append(kind)
        # The first declared team holding a stage receives cases handed over into it.
        self.kind_for = {s: next(k for k in self.kinds if s in k.holds) for s in STAGES}

    def add_posts(self, unit: Unit, role: str, fte: float) -> list[Post]:
        """New empty posts of ``role`` in ``unit`` worth ``fte`` (whole-time posts and one
        part-time remainder), each holding cases up to the team's limit times its share."""
        share = self.roles[role].caseload_share
        turns = role in self.turnover_roles if self.turnover_roles is not None else share > 0
        limit = self.caseload_limit[unit.team.name]
        added = []
        for part in _split_fte(fte):
            cap = int(math.floor(limit * share * part + 1e-9))
            post = Post(len(self.posts), unit, role, part, cap, turns)
            self.posts.append(post)
            unit.posts.append(post)
            added.append(post)
        self.establishment_version += 1
        return added

    def remove_post(self, post: Post) -> None:
        """A cut post, now empty, leaves its unit (it stays in ``posts``, empty for good)."""
        post.unit.posts.remove(post)
        self.establishment_version += 1

    # ------------------------------------------------------------ people
    def hire(self, post: Post, agency: bool, now: float, serve: bool = True) -> Worker:
        """Put a new person in ``post`` (which must be empty); they take waiting cases."""
        worker = Worker(len(self.people), post, agency, now)
        self.people.append(worker)
        post.holder = worker
        post.unit.staffing_changed()
        if post.capacity > 0:
            post.unit.workers.append(worker)
            post.unit.free += worker.free
            if serve:
                self._serve(post.unit, now)
                if self.new_starter_fill > 0 and now > 0:
                    self._take_from_colleagues(worker, now)
        return worker

    def leave(self, worker: Worker, now: float, cause: str = "departure",
              to_successor: bool = False) -> None:
        """The person leaves their post; their cases are reallocated inside the unit,
        or (``to_successor``) kept for ``take_over`` by whoever fills the post next."""
        worker.left = True
        self.set_away(worker)
        worker.post.holder = None
        worker.unit.staffing_changed()
        if worker.capacity > 0:
            worker.unit.workers.remove(worker)
            if not to_successor:
                self.reallocate_all(worker, cause, now)

    def take_over(self, old: Worker, new: Worker, now: float) -> None:
        """``new`` takes every case ``old`` held (a change of worker for each family)."""
        for child in sorted(old.cases, key=_child_id):
            self._take_off(child, old, now)
            child.change_cause = "departure"
            self._assign(child, new, now)
        self._serve(new.unit, now)

    def set_away(self, worker: Worker) -> None:
        """Absent (leave, sickness, gone): keeps their cases but takes no new ones."""
        if worker.present:
            worker.present = False
            worker.unit.free -= max(worker.free, 0)
            worker.free = 0

    def set_back(self, worker: Worker, now: float) -> None:
        if worker.left or worker.present:
            return
        worker.present = True
        worker.free = worker.capacity - len(worker.cases)
        worker.unit.free += max(worker.free, 0)
        self._serve(worker.unit, now)

    def reallocate_all(self, worker: Worker, cause: str, now: float) -> None:
        for child in sorted(worker.cases, key=_child_id):  # a fixed order: reproducible
            self._take_off(child, worker, now)
            child.change_cause = cause
            self._place(child, child.place, worker.unit.team, worker.unit, now, exclude=worker)

    # ------------------------------------------------------------ entering a stage
    def enter(self, child: Any, stage: str, now: float) -> Any:
        """Give ``child`` a worker for ``stage``; returns an event to wait on, or None.

        An event is returned only for stages that cannot start without a worker and
        when nobody has room; plan stages queue silently and run on.
        """
        worker = child.worker
        if child.request is not None:
            self._cancel(child, now)
        if worker is not None:
            if stage in worker.unit.holds:
                return None
            self._release(child, worker, now)
            child.change_cause = "handover"
        kind = self.kind_for[stage]
        unit = kind.units[child.locality] if kind.by_locality else None
        return self._place(child, stage, kind, unit, now)

    def close(self, child: Any, now: float) -> None:
        """The case closes: free its worker and drop any pending request."""
        if child.request is not None:
            self._cancel(child, now)
        worker = child.worker
        if worker is not None:
            self._release(child, worker, now)
        child.change_cause = None

    # ------------------------------------------------------------ internals
    def _place(self, child: Any, stage: str, kind: TeamKind, unit: Unit | None, now: float,
               exclude: Worker | None = None) -> Any:
        """Allocate in ``unit`` (or the unit of ``kind`` with the most room), over the limit,
        or queue."""
        if unit is None:
            best_free = 0
            for u in kind.units:
                if u.free > best_free:
                    unit, best_free = u, u.free
        if unit is not None and unit.free > 0:  # the common case: someone has room
            # Unit.best_worker, inline on the hot path: the first listed with most room
            target, best_free = None, 0
            for w in unit.workers:
                if w.free > best_free and w is not exclude:
                    target, best_free = w, w.free
            if target is not None:
                self.on_wait_end(child, stage, now, 0.0, True)
                self._assign(child, target, now)
                return None
        return self._overload_or_queue(child, stage, kind, unit, now, exclude)

    def _overload_or_queue(self, child: Any, stage: str, kind: TeamKind, unit: Unit | None,
                           now: float, exclude: Worker | None) -> Any:
        """Nobody has room: over the limit for urgent stages, otherwise wait in a queue."""
        target = None
        if stage in self.over_limit:
            pool = [unit] if unit is not None else kind.units
            target = min((w for w in (u.least_loaded(exclude) for u in pool) if w is not None),
                         key=lambda w: len(w.cases) / w.capacity, default=None)
        if target is not None:
            self.on_wait_end(child, stage, now, 0.0, True)
            self._assign(child, target, now)
            return None
        event = self.env.event() if stage in WAIT_TO_START and exclude is None else None
        owner: Unit | TeamKind = unit if unit is not None else kind
        request = [URGENCY[stage], next(self._seq), child, stage, event, now, False, owner]
        heapq.heappush(owner.queue, request)
        owner.waiting += 1
        child.request = request
        self.unallocated[stage] += 1
        return event

    def _assign(self, child: Any, worker: Worker, now: float) -> None:
        unit, cases = worker.unit, worker.cases
        if len(cases) >= worker.capacity:
            unit.overload += 1
        if worker.present:
            free = worker.free
            if free > 0:
                unit.free -= 1
            worker.free = free - 1
        cases.add(child)
        child.worker = worker
        cause, seen, wid = child.change_cause, child.known, worker.id
        known = cause is not None and wid in seen
        seen.add(wid)
        if unit.co_working:
            seen.update(unit.people_ids)
        self.on_allocate(child, worker, cause, now, known)
        if cause is not None:
            child.change_cause = None

    def _take_off(self, child: Any, worker: Worker, now: float) -> None:
        """Remove the case from the worker's list, keeping the room counters right."""
        cases = worker.cases
        cases.discard(child)
        child.worker = None
        self.on_release(child, now)
        if len(cases) >= worker.capacity:
            worker.unit.overload -= 1
        if worker.present:
            free = worker.free + 1
            worker.free = free
            if free > 0:
                worker.unit.free += 1

    def _release(self, child: Any, worker: Worker, now: float) -> None:
        """Take the case off its worker; if that leaves them room, serve their unit (only
        when a case waits or a colleague is over the limit: after most releases, neither)."""
        self._take_off(child, worker, now)
        if worker.free > 0:  # (an absent worker's is 0)
            unit = worker.unit
            if unit.waiting or unit.team.waiting or unit.overload:
                self._serve(unit, now)

    def _cancel(self, child: Any, now: float) -> None:
        request = child.request
        request[6] = True
        child.request = None
        owner = request[7]
        owner.waiting -= 1
        queue = owner.queue
        if len(queue) > 2 * owner.waiting + COMPACT_SLACK:
            queue[:] = [r for r in queue if not r[6]]
            heapq.heapify(queue)
        self.unallocated[request[3]] -= 1
        self.on_wait_end(child, request[3], request[5], now - request[5], False)

    def _serve(self, unit: Unit, now: float) -> None:
        """Room in ``unit``: allocate waiting cases (the unit's own first), then rebalance."""
        if unit.waiting:
            self._serve_queue(unit, unit, now)
        if unit.team.waiting:
            self._serve_queue(unit, unit.team, now)
        while self.rebalance and unit.overload > 0 and unit.free > 0:
            giver = max(unit.workers, key=_over_limit)
            receiver = unit.best_worker(exclude=giver)
            if receiver is None or len(giver.cases) <= giver.capacity:
                return
            child = max(giver.cases, key=_child_id)  # the newest case moves
            self._take_off(child, giver, now)
            child.change_cause = "caseload_management"
            self._assign(child, receiver, now)

    def _serve_queue(self, unit: Unit, owner: Unit | TeamKind, now: float) -> None:
        """Allocate from ``owner``'s queue (most urgent, then longest waiting) while ``unit``
        has room, dropping cancelled requests on the way."""
        queue = owner.queue
        while owner.waiting and unit.free > 0:
            request = heapq.heappop(queue)
            if request[6]:
                continue
            owner.waiting -= 1
            child, stage, event = request[2], request[3], request[4]
            child.request = None
            self.unallocated[stage] -= 1
            self.on_wait_end(child, stage, request[5], now - request[5], True)
            self._assign(child, unit.best_worker(), now)
            if event is not None:
                event.succeed()

    def _take_from_colleagues(self, new: Worker, now: float) -> None:
        """A new starter takes cases off the most loaded colleagues (newest case first)
        until they hold ``new_starter_fill`` of their limit or nobody is more loaded."""
        goal = int(self.new_starter_fill * new.capacity)
        unit = new.unit
        while len(new.cases) < goal and new.free > 0:
            giver = max((w for w in unit.workers if w is not new and w.cases),
                        key=lambda w: len(w.cases) / w.capacity, default=None)
            if giver is None or \
                    (len(giver.cases) - 1) / giver.capacity < (len(new.cases) + 1) / new.capacity:
                return
            child = max(giver.cases, key=_child_id)
            self._take_off(child, giver, now)
            child.change_cause = "caseload_management"
            self._assign(child, new, now)

    # ------------------------------------------------------------ measures
    def pending_waits(self, now: float) -> list[float]:
        """Days waited so far by every case still waiting for a worker."""
        queues = [k.queue for k in self.kinds] + [u.queue for k in self.kinds for u in k.units]
        return [now - r[5] for q in queues for r in q if not r[6]]

    def pending_requests(self) -> list[tuple[Any, float]]:
        """(child, day requested) of every case still waiting for a worker."""
        queues = [k.queue for k in self.kinds] + [u.queue for k in self.kinds for u in k.units]
        return [(r[2], r[5]) for q in queues for r in q if not r[6]]

    def unit_excess(self, unit: Unit, cap: float) -> float:
        """How far ``unit``'s load is above its capacity, as a share of it (0 if not,
        at most ``cap``). Load: cases its people hold plus cases waiting in its queue and
        its share of the team's common queue; capacity: the limits of its people in
        post (at work or away). A unit with nobody in post counts as fully loaded."""
        capacity = held = 0
        for w in unit.workers:
            capacity += w.capacity
            held += len(w.cases)
        kind = unit.team
        waiting: float = unit.waiting
        if kind.waiting:
            waiting += kind.waiting / len(kind.units)
        if capacity <= 0:
            return cap if held + waiting > 0 else 0.0
        return min(cap, max(0.0, (held + waiting) / capacity - 1.0))

    def allocated_cases(self) -> int:
        return sum(len(w.cases) for k in self.kinds for u in k.units for w in u.workers)

    def case_holding_fte(self) -> float:
        """FTE of case-holding people in post, whether at work or away."""
        return sum(w.post.fte for k in self.kinds for u in k.units for w in u.workers)
