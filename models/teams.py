"""Teams, workers and case allocation: the operating model as data.

A scenario declares kinds of team (``count`` identical units each), the stages each
holds, the staff by role and a caseload limit. This module turns that into workers
and applies one rule everywhere:

* a case entering a stage keeps its worker if the worker's team holds the stage;
* otherwise it is handed to a team that does (a change of worker, cause ``handover``);
* when no worker in the right unit has room, the case waits unallocated in a queue
  ordered by urgency (s47, then CP, CLA, assessment, CIN), first come first served within.

Hub teams, pods and FSP teams differ only in what their scenario declares, so a
council can describe its own structure without writing Python.

Performance: allocation queues are heaps with lazy cancellation (not
``simpy.PriorityResource``, which re-sorts on every request), caseloads are plain
counters, and a unit is scanned linearly because units are small (4-20 workers).
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass, field
from typing import Any

from simulation.scenario import STAGES, Scenario

URGENCY = {"s47": 0, "cp": 1, "cla": 2, "assessment": 3, "cin": 4}
# Stages whose work cannot start until a worker is allocated; in the others the plan
# runs on while the case waits for a worker (an unallocated CIN/CP/CLA case).
WAIT_TO_START = frozenset({"assessment", "s47"})


class Worker:
    """One person (or part-time post) in a unit; ``capacity`` is their caseload limit."""

    __slots__ = ("id", "role", "fte", "capacity", "cases", "unit", "present", "free")

    def __init__(self, wid: int, role: str, fte: float, capacity: int, unit: Unit) -> None:
        self.id = wid
        self.role = role
        self.fte = fte
        self.capacity = capacity
        self.cases: set[Any] = set()
        self.unit = unit
        self.present = True
        # Room for more cases, kept up to date on every change (0 while away).
        self.free = capacity


class Unit:
    """One team: e.g. the Selby hub's intake team, or pod 7."""

    __slots__ = ("team", "index", "workers", "staff", "queue", "free")

    def __init__(self, team: TeamKind, index: int) -> None:
        self.team = team
        self.index = index
        self.workers: list[Worker] = []   # case-holding workers
        self.staff: list[Worker] = []     # everyone in the unit, case-holding or not
        self.queue: list[list[Any]] = team.queue if team.shared_queue else []
        self.free = 0                     # sum of the workers' free room

    def best_worker(self) -> Worker | None:
        """The worker with the most room (first listed on ties), or None if all full."""
        if self.free <= 0:
            return None
        best, best_free = None, 0
        for w in self.workers:
            if w.free > best_free:
                best, best_free = w, w.free
        return best


@dataclass
class TeamKind:
    """All units of one declared team (e.g. the four hubs' intake teams)."""

    name: str
    holds: frozenset[str]
    assignment: str
    units: list[Unit] = field(default_factory=list)
    queue: list[list[Any]] = field(default_factory=list)

    @property
    def shared_queue(self) -> bool:
        # Locality teams serve their own patch; others share one queue across units.
        return self.assignment != "locality"


def _split_fte(fte: float) -> list[float]:
    """Posts of one role: 4.5 FTE is four full-time posts and one half-time post."""
    whole = int(math.floor(fte + 1e-9))
    posts = [1.0] * whole
    rest = round(fte - whole, 6)
    if rest > 1e-6:
        posts.append(rest)
    return posts


class Allocator:
    """Holds every team and worker; keeps, hands over, queues and allocates cases.

    The recorder's hooks: ``on_allocate(child, worker, cause, now)`` (cause is None for
    the first worker of an episode, else the reason for the change, e.g. "handover"),
    ``on_release(child, now)`` and
    ``on_wait_end(child, stage, day_requested, days_waited, allocated)``.
    """

    def __init__(self, scenario: Scenario, env: Any, recorder: Any) -> None:
        self.env = env
        self.on_allocate = recorder.on_allocate
        self.on_release = recorder.on_release
        self.on_wait_end = recorder.on_wait_end
        self.kinds: list[TeamKind] = []
        self.workers: list[Worker] = []
        self.unallocated = dict.fromkeys(STAGES, 0)
        self._seq = itertools.count()
        roles = scenario.workforce.roles
        weights = list(scenario.structure.localities.values())
        for team in scenario.structure.teams:
            kind = TeamKind(team.name, frozenset(team.holds), team.assignment)
            for u in range(team.count):
                unit = Unit(kind, u)
                size = 1.0
                if team.staff_split == "by_locality":
                    size = team.count * weights[u] / sum(weights)
                for role, fte in team.staff.items():
                    share = roles[role].caseload_share
                    for post in _split_fte(fte * size):
                        cap = int(math.floor(team.caseload_limit * share * post + 1e-9))
                        w = Worker(len(self.workers), role, post, cap, unit)
                        self.workers.append(w)
                        unit.staff.append(w)
                        if cap > 0:
                            unit.workers.append(w)
                            unit.free += cap
                kind.units.append(unit)
            self.kinds.append(kind)
        # The first declared team holding a stage receives cases handed over into it.
        self.kind_for: dict[str, TeamKind] = {}
        for stage in STAGES:
            self.kind_for[stage] = next(k for k in self.kinds if stage in k.holds)

    # ------------------------------------------------------------ case-holding FTE
    def case_holding_fte(self) -> float:
        return sum(w.fte for w in self.workers if w.capacity > 0 and w.present)

    def allocated_cases(self) -> int:
        return sum(len(w.cases) for w in self.workers)

    def pending_waits(self, now: float) -> list[float]:
        """Days waited so far by every case still waiting for a worker."""
        queues = [k.queue for k in self.kinds] + [
            u.queue for k in self.kinds if not k.shared_queue for u in k.units]
        return [now - r[5] for q in queues for r in q if not r[6]]

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
            if stage in worker.unit.team.holds:
                return None
            self._release(child, worker)
            child.change_cause = "handover"
        kind = self.kind_for[stage]
        unit = self._unit_for(child, kind)
        target = unit.best_worker() if unit is not None else None
        if target is not None:
            self.on_wait_end(child, stage, now, 0.0, True)
            self._assign(child, target, now)
            return None
        return self._enqueue(child, stage, kind, unit, now)

    def close(self, child: Any, now: float) -> None:
        """The case closes: free its worker and drop any pending request."""
        if child.request is not None:
            self._cancel(child, now)
        if child.worker is not None:
            self._release(child, child.worker)
        child.change_cause = None

    # ------------------------------------------------------------ internals
    def _unit_for(self, child: Any, kind: TeamKind) -> Unit | None:
        if kind.assignment == "locality":
            return kind.units[child.locality]
        # Least loaded: the unit with most room; None means all full (shared queue).
        best, best_free = None, 0
        for unit in kind.units:
            if unit.free > best_free:
                best, best_free = unit, unit.free
        return best

    def _assign(self, child: Any, worker: Worker, now: float) -> None:
        worker.cases.add(child)
        worker.free -= 1
        worker.unit.free -= 1
        child.worker = worker
        self.on_allocate(child, worker, child.change_cause, now)
        child.change_cause = None

    def _release(self, child: Any, worker: Worker) -> None:
        worker.cases.discard(child)
        child.worker = None
        self.on_release(child, self.env.now)
        if worker.present:
            worker.free += 1
            worker.unit.free += 1
            self._serve(worker.unit, self.env.now)

    def _enqueue(self, child: Any, stage: str, kind: TeamKind, unit: Unit | None,
                 now: float) -> Any:
        event = self.env.event() if stage in WAIT_TO_START else None
        request = [URGENCY[stage], next(self._seq), child, stage, event, now, False]
        queue = kind.queue if unit is None else unit.queue
        heapq.heappush(queue, request)
        child.request = request
        self.unallocated[stage] += 1
        return event

    def _cancel(self, child: Any, now: float) -> None:
        request = child.request
        request[6] = True
        child.request = None
        self.unallocated[request[3]] -= 1
        self.on_wait_end(child, request[3], request[5], now - request[5], False)

    def _serve(self, unit: Unit, now: float) -> None:
        """A worker in ``unit`` has room: allocate the most urgent waiting case."""
        queue = unit.queue
        while queue:
            worker = unit.best_worker()
            if worker is None:
                return
            request = heapq.heappop(queue)
            if request[6]:
                continue
            child, stage, event = request[2], request[3], request[4]
            child.request = None
            self.unallocated[stage] -= 1
            self.on_wait_end(child, stage, request[5], now - request[5], True)
            self._assign(child, worker, now)
            if event is not None:
                event.succeed()
