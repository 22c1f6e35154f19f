"""Weekly accounts of time and money: who is in post, what they cost, what time families get.

Taken at each weekly snapshot:
* staff cost: every person in post (at work or away) at their role's weekly cost, the
  agency rate for agency staff; vacant posts cost nothing;
* placement cost: children looked after by placement type at its weekly cost;
* time: each person at work gives ``weekly_hours x FTE``, split by their role's
  ``time_split``. Support roles spend ``recording_offload_share`` of their hours taking
  recording and admin off the unit's case-holding staff; that time moves from their
  recording to direct work (up to what they record). Direct hours of everyone in a unit
  (case-holders, family support and adult practitioners) are face-to-face time for the
  unit's families;
* the time cases need: ``hours_needed_per_case_week`` by stage, over allocated cases.
"""

from __future__ import annotations

from typing import Any

from models.teams import Allocator
from simulation.scenario import Scenario


class WeeklyAccounts:
    """Computes one week's figures from the allocator and the looked-after placements."""

    def __init__(self, scenario: Scenario, alloc: Allocator) -> None:
        self.alloc = alloc
        self.roles = scenario.workforce.roles
        self.needed = scenario.workforce.hours_needed_per_case_week
        self.placement_cost = scenario.costs.placement_weekly_gbp

    def staff_cost(self) -> tuple[float, float]:
        """(weekly cost of permanent staff, weekly cost of agency staff)."""
        permanent = agency = 0.0
        for post in self.alloc.posts:
            person = post.holder
            if person is None:
                continue
            role = self.roles[post.role]
            if person.agency:
                rate = role.agency_weekly_cost_gbp
                agency += post.fte * (role.weekly_cost_gbp if rate is None else rate)
            else:
                permanent += post.fte * role.weekly_cost_gbp
        return permanent, agency

    def placements_cost(self, counts: dict[str, int]) -> float:
        return sum(n * self.placement_cost.get(p, 0.0) for p, n in counts.items())

    def time(self, allocated_by_stage: dict[str, int]) -> tuple[float, float, int]:
        """(direct hours available, direct hours the cases need, allocated cases) this week."""
        direct = 0.0
        cases = 0
        needed = sum(self.needed.get(stage, 0.0) * n for stage, n in allocated_by_stage.items())
        for kind in self.alloc.kinds:
            for unit in kind.units:
                recording = offload = 0.0
                for post in unit.posts:
                    person = post.holder
                    if person is None or not person.present:
                        continue
                    role = self.roles[post.role]
                    hours = role.weekly_hours * post.fte
                    direct += hours * role.time_split.get("direct", 0.0)
                    if post.capacity > 0:
                        recording += hours * role.time_split.get("recording", 0.0)
                    offload += hours * role.recording_offload_share
                direct += min(offload, recording)
                for worker in unit.workers:
                    cases += len(worker.cases)
        return direct, needed, cases

    def composition(self, now: float) -> list[tuple[Any, ...]]:
        """Per team kind: (day, team, posts FTE, permanent FTE, agency FTE, away FTE, cases)."""
        rows = []
        for kind in self.alloc.kinds:
            posts = permanent = agency = away = 0.0
            cases = 0
            for unit in kind.units:
                for post in unit.posts:
                    if not post.turns_over:
                        continue
                    posts += post.fte
                    person = post.holder
                    if person is not None:
                        if person.agency:
                            agency += post.fte
                        else:
                            permanent += post.fte
                        if not person.present:
                            away += post.fte
                cases += sum(len(w.cases) for w in unit.workers)
            rows.append((now, kind.name, posts, permanent, agency, away, cases))
        return rows
