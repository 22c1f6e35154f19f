"""Establishment changes at dates (structure start dates): funded posts open or close.

``structure.changes`` declares, for a date, a case-holding role and a team (or every team
with the role), a ``factor`` on its FTE (1.1 = +10%) or an ``fte`` change shared between
the units in proportion to their FTE of the role. ``apply_change`` does it on that day:

* **More staff.** Each unit gets new posts for its share (whole-time posts and one
  part-time remainder, sized by the team's caseload limit, as when the run is built). A new
  post opens vacant and is filled like any vacancy (``WorkforceDynamics.open_vacancy``):
  agency cover after the agency lag where the scenario allows it, a permanent recruit after
  the recruitment lag; the starter then takes waiting cases and, with
  ``structure.new_starter_fill``, cases from more loaded colleagues (cause
  ``caseload_management``).
* **Fewer staff: vacancies, agency contracts, then attrition.** Councils cut case-holding
  posts by not filling vacancies, ending agency contracts and not replacing leavers, not
  by making permanent social workers redundant mid-case; so posts close in that order:
  vacant posts at once (their pending agency cover and recruitment lapse); posts covered
  by agency staff at once, the agency worker released on the date; then permanent posts,
  newest first, when their holder leaves. A released or leaving worker's cases are
  reallocated inside the unit like any departure (cause ``departure``, a change of worker
  for each family) and the post is not refilled. (Keeping agency staff until they chose
  to leave would cut the cheaper permanent recruits instead and raise the agency share.)
  Posts close whole: as many as fit the cut, plus one more if at least half of it is still
  to go.

Team managers derived by the management rule (``structure.qualified_per_team_manager``)
are not re-derived at the date: the change is to case-holding staff only.

Randomness: a new post draws from its own named stream (``establishment``, post id), so
no existing post's story shifts and paired scenarios share every draw before the date.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models.teams import Allocator, Post, Unit
from simulation.randomness.streams import Streams
from simulation.scenario import Scenario
from simulation.scenario.schema.structure import StaffChange

EPS = 1e-9


@dataclass
class Outcome:
    """What one change did on its date: FTE opened and FTE closed (or marked to close)."""

    at_years: float
    team: str
    role: str
    opened_fte: float
    closed_fte: float


class Establishment:
    """Opens and closes posts at the dates of ``structure.changes``."""

    def __init__(self, scenario: Scenario, alloc: Allocator, workforce: Any,
                 streams: Streams) -> None:
        self.alloc, self.workforce, self.streams = alloc, workforce, streams
        self.changes = sorted(scenario.structure.changes, key=lambda c: c.at_years)
        self.done: list[Outcome] = []

    def _posts(self, unit: Unit, role: str) -> list[Post]:
        """The unit's funded posts of a role, not already cut."""
        return [p for p in unit.posts if p.role == role and p.id not in self.workforce.closed]

    def apply_change(self, change: StaffChange, now: float) -> Outcome:
        """Open or close posts for ``change`` on day ``now``."""
        units = [u for k in self.alloc.kinds if change.team in (None, k.name) for u in k.units]
        per_unit = [sum(p.fte for p in self._posts(u, change.role)) for u in units]
        total = sum(per_unit)
        delta = total * (change.factor - 1.0) if change.factor is not None else change.fte
        opened = closed = 0.0
        if delta > EPS and total > 0:
            for unit, fte in zip(units, per_unit, strict=True):
                opened += self._open(unit, change.role, delta * fte / total, now)
        elif delta < -EPS:
            closed = self._close(units, change.role, -delta)
        outcome = Outcome(change.at_years, change.team or "all", change.role, opened, closed)
        self.done.append(outcome)
        return outcome

    def _open(self, unit: Unit, role: str, fte: float, now: float) -> float:
        posts = self.alloc.add_posts(unit, role, fte)
        for post in posts:
            if post.turns_over:
                self.workforce.open_vacancy(post, self.streams.generator("establishment",
                                                                         post.id))
            else:  # a post nobody leaves is filled at once
                self.workforce._start(self.alloc.hire(post, agency=False, now=now))
        return sum(post.fte for post in posts)

    def _close(self, units: list[Unit], role: str, cut: float) -> float:
        """Close posts worth ``cut`` FTE: vacant first, then agency-held (released now),
        then permanent, newest first (closed when their holder leaves)."""
        def order(p: Post) -> tuple[int, int]:
            holder = p.holder
            rank = 0 if holder is None else 1 if holder.agency else 2
            return rank, -p.id
        candidates = sorted((p for u in units for p in self._posts(u, role)), key=order)
        closed = 0.0
        for post in candidates:
            left = cut - closed
            if left <= EPS or (post.fte > left + EPS and left < post.fte / 2):
                continue
            closed += post.fte
            holder = post.holder
            self.workforce.closed.add(post.id)
            if holder is None:
                self.workforce.drop_post(post)
            elif holder.agency:  # the contract ends: cases reallocated, post dropped
                self.workforce.release(holder)
        return closed
