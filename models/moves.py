"""Moves inside the council: a social worker changes role and their families change worker.

Councils lose case-holders not only to leaving (``models.workforce``, the turnover the DfE
workforce census counts) but to moves inside the council: promotion to senior practitioner
or manager, a move to another team or service, a secondment. The workforce census does not
count these as leavers, but for the families the effect is the same: their cases are
reallocated inside the team. The DfE's reasons for a looked-after child's new social worker
count them with "social worker left role" (SSDA903 code LEFTRL) or an organisational
restructure (ORGRST), which the published table puts with the departures and other reasons.

Modelled: each permanent person in a post that turns over moves on after an exponential
time at ``workforce.internal_move_rate`` a year. Their cases are reallocated inside the unit
(cause ``role_change``). The post is filled the same day by a colleague moving in from
elsewhere in the council (the move is one link of a chain of internal appointments), who
builds a caseload as any new starter does (``structure.new_starter_fill``), so an internal
move changes no vacancy or agency figure. Agency staff do not move: they leave.

Randomness: one named stream per post (``workforce-moves``), so the draws of a post do not
depend on what happens elsewhere and adding the stream shifts no other.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from typing import Any

from models.chains import later, soon
from models.teams import Allocator, Worker
from simulation.randomness.distributions import DAYS_PER_YEAR
from simulation.randomness.streams import Streams

ROLE_CHANGE = "role_change"


class InternalMoves:
    """Starts each permanent worker's clock to an internal move and carries the move out.

    ``start`` is called for every person who takes up a post (``WorkforceDynamics._start``);
    ``begin`` is how a new person's own processes (career, absences, their next move) are
    started, given by the workforce.
    """

    def __init__(self, rate_per_year: float, env: Any, alloc: Allocator, streams: Streams,
                 begin: Callable[[Worker], None]) -> None:
        self.rate = rate_per_year / DAYS_PER_YEAR
        self.env, self.alloc = env, alloc
        # weak: the workforce owns this object, so a strong reference back would leave
        # every run in a reference cycle for the garbage collector (test_batch)
        self._begin = weakref.WeakMethod(begin)
        self.streams = streams
        self._draws: dict[int, Any] = {}
        self.moves = 0  # internal moves carried out (for tests and diagnostics)

    def start(self, worker: Worker) -> None:
        """Start ``worker``'s clock to a move, if they can move (permanent, turns over)."""
        if self.rate <= 0 or worker.agency or not worker.post.turns_over \
                or worker.capacity <= 0:
            return
        soon(self.env, self._clock, worker)  # a chain of events (models.chains)

    def _uniform(self, post_id: int) -> float:
        rng = self._draws.get(post_id)
        if rng is None:
            rng = self._draws[post_id] = self.streams.generator("workforce-moves", post_id)
        return float(rng.random())

    def _clock(self, worker: Worker) -> None:
        """The time to the worker's move, from their post's stream."""
        u = self._uniform(worker.post.id)
        later(self.env, -math.log(1.0 - u) / self.rate, self._due, worker)

    def _due(self, worker: Worker) -> None:
        if not worker.left:
            self.move(worker)

    def move(self, worker: Worker) -> Worker:
        """``worker`` moves to another role: cases reallocated in the unit, post refilled."""
        now = self.env.now
        post = worker.post
        self.alloc.leave(worker, now, ROLE_CHANGE)
        self.moves += 1
        successor = self.alloc.hire(post, agency=False, now=now)
        begin = self._begin()
        if begin is not None:
            begin(successor)
        return successor
