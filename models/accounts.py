"""Weekly accounts of time and money: who is in post, what they cost, what time families get.

Taken at each weekly snapshot:
* staff cost: every person in post (at work or away) at their role's weekly cost, the
  agency rate for agency staff; vacant posts cost nothing;
* placement cost: children looked after by placement type at its weekly cost;
* time: each person at work gives ``weekly_hours x FTE``, split by their role's
  ``time_split``. Support roles spend ``recording_offload_share`` of their hours taking
  recording and admin off the unit's case-holding staff; that time moves from their
  recording to direct work (up to what they record). Direct hours of the unit's
  case-holders and family support are face-to-face time for all the unit's families;
  an adult practitioner (``serves_factors``) works only with the unit's families that
  have one of their factors: their direct hours are shared among those families (and
  credited to each child, ``Child.adult_hours``), and reach nobody in a week the unit
  has no such family;
* the time cases need: ``hours_needed_per_case_week`` by stage, over allocated cases.
"""

from __future__ import annotations

from typing import Any

from models.teams import Allocator
from simulation.scenario import Scenario
from simulation.scenario.schema.workforce import PARENTAL_FACTORS


class WeeklyAccounts:
    """Computes one week's figures from the allocator and the looked-after placements."""

    def __init__(self, scenario: Scenario, alloc: Allocator) -> None:
        self.alloc = alloc
        self.roles = scenario.workforce.roles
        self.needed = scenario.workforce.hours_needed_per_case_week
        self.placement_cost = scenario.costs.placement_weekly_gbp
        # per adult-practitioner role: the factors it serves as (bit, column index)
        self.serves = {name: [(1 << PARENTAL_FACTORS.index(f), PARENTAL_FACTORS.index(f))
                              for f in role.serves_factors]
                       for name, role in self.roles.items() if role.serves_factors}
        self.masks = {name: sum(bit for bit, _ in fs) for name, fs in self.serves.items()}
        n_masks = 1 << len(PARENTAL_FACTORS)
        self.adult_roles = list(self.serves)  # the order of each unit's ledger
        self.role_index = {name: j for j, name in enumerate(self.adult_roles)}
        # for each child's factor mask: per adult role, the factor column its hours count
        # under (-1: the role does not work with this family)
        self.columns = [[next((i for bit, i in self.serves[r] if m & bit), -1)
                         for r in self.adult_roles] for m in range(n_masks)]
        units = [unit for kind in alloc.kinds for unit in kind.units]
        self.ledger: dict[Any, list[float]] = {
            unit: [0.0] * len(self.adult_roles) for unit in units
            if any(post.role in self.serves for post in unit.posts)}
        # allocated cases per unit by factor mask, kept by the allocation hooks
        self.families: dict[Any, list[int]] = {unit: [0] * n_masks for unit in units}
        self._tabulate()

    def _tabulate(self) -> None:
        """Each post's weekly figures, worked out once, and again only when the posts or
        the roles' numbers change (a staffing change or a dated effect): the weekly walk
        then only asks who is in post and at work. The arithmetic is the same, in the same
        order, as working them out each week."""
        alloc = self.alloc
        self.post_costs = [self._costs(post) for post in alloc.posts]
        self.unit_posts = [(unit, [(post, *self._hours(post)) for post in unit.posts])
                           for kind in alloc.kinds for unit in kind.units]
        self.kind_posts = [(kind.name, [post for unit in kind.units for post in unit.posts
                                        if post.turns_over], kind.units)
                           for kind in alloc.kinds]
        self._tabulated = alloc.establishment_version

    def _current(self) -> None:
        if self._tabulated != self.alloc.establishment_version:
            self._tabulate()

    def switch(self, roles: dict[str, Any], needed: dict[str, float],
               placement_cost: dict[str, float]) -> None:
        """From now on, these numbers (a dated effect's: ``simulation.engine.policy``)."""
        self.roles, self.needed, self.placement_cost = roles, needed, placement_cost
        self._tabulate()

    def _costs(self, post: Any) -> tuple[Any, float, float]:
        """(post, weekly cost of a permanent holder, of an agency holder)."""
        role = self.roles[post.role]
        rate = role.agency_weekly_cost_gbp
        return (post, post.fte * role.weekly_cost_gbp,
                post.fte * (role.weekly_cost_gbp if rate is None else rate))

    def _hours(self, post: Any) -> tuple[float, str | None, float, float]:
        """(direct hours, adult role or None, recording hours if case-holding, offload
        hours) a week of a person at work in ``post``."""
        role = self.roles[post.role]
        hours = role.weekly_hours * post.fte
        own = hours * role.time_split.get("direct", 0.0)
        recording = hours * role.time_split.get("recording", 0.0) if post.capacity > 0 else None
        return (own, post.role if post.role in self.serves else None, recording,
                hours * role.recording_offload_share)

    def staff_cost(self) -> tuple[float, float]:
        """(weekly cost of permanent staff, weekly cost of agency staff)."""
        self._current()
        permanent = agency = 0.0
        for post, own, hired in self.post_costs:
            person = post.holder
            if person is None:
                continue
            if person.agency:
                agency += hired
            else:
                permanent += own
        return permanent, agency

    def placements_cost(self, counts: dict[str, int]) -> float:
        return sum(n * self.placement_cost.get(p, 0.0) for p, n in counts.items())

    def time(self, allocated_by_stage: dict[str, int],
             credit_weeks: float = 0.0) -> tuple[float, float, int, float, int]:
        """(direct hours available, direct hours the cases need, allocated cases, direct
        hours reaching families with parental factors, allocated cases with factors) this
        week. Adult practitioners' hours for ``credit_weeks`` weeks go on each unit's
        ledger of hours per family (``enter`` / ``leave`` credit them to children)."""
        self._current()
        direct = direct_factors = 0.0
        cases = cases_factors = 0
        needed = sum(self.needed.get(stage, 0.0) * n for stage, n in allocated_by_stage.items())
        for unit, posts in self.unit_posts:
            recording = offload = general = 0.0
            adult: dict[str, float] = {}
            for post, own, adult_role, records, offloads in posts:
                person = post.holder
                if person is None or not person.present:
                    continue
                if adult_role is not None:
                    adult[adult_role] = adult.get(adult_role, 0.0) + own
                else:
                    general += own
                if records is not None:
                    recording += records
                offload += offloads
            general += min(offload, recording)
            families = self.families[unit]
            n = sum(families)
            n_factors = n - families[0]
            direct += general
            if n:
                direct_factors += general * n_factors / n
            if adult:
                got = self._adult_hours(unit, adult, families, credit_weeks)
                direct += got
                direct_factors += got
            cases += n
            cases_factors += n_factors
        return direct, needed, cases, direct_factors, cases_factors

    def _adult_hours(self, unit: Any, hours: dict[str, float], families: list[int],
                     weeks: float) -> float:
        """Share each adult practitioner role's direct hours among the unit's families with
        one of its factors (on the unit's ledger); returns the hours that reached one."""
        ledger = self.ledger[unit]
        got = 0.0
        for role, h in hours.items():
            mask = self.masks[role]
            n = sum(k for f, k in enumerate(families) if f & mask)
            if n:
                got += h
                ledger[self.role_index[role]] += h * weeks / n
        return got

    # The ledger: per unit with adult practitioners, per role, the cumulative hours one
    # family with the role's factor has received. A case records it on joining the unit
    # and is credited the difference on leaving: the same as crediting every family each
    # week, without a weekly walk over the families.
    def enter(self, child: Any, unit: Any) -> None:
        """A case joins a worker in ``unit`` (the recorder's allocation hook)."""
        factors = child.factors
        self.families[unit][factors] += 1
        if not factors:  # a family without parental factors gets no adult hours
            child.adult_entry = (unit, None)
            return
        ledger = self.ledger.get(unit)
        child.adult_entry = (unit, ledger[:] if ledger is not None else None)

    def leave(self, child: Any) -> None:
        """The case leaves its worker: credit the adult hours it received meanwhile."""
        unit, start = child.adult_entry
        child.adult_entry = None
        self.families[unit][child.factors] -= 1
        if start is None:
            return
        for total, before, column in zip(self.ledger[unit], start, self.columns[child.factors],
                                         strict=True):
            got = total - before
            if got > 0.0 and column >= 0:
                if child.adult_hours is None:
                    child.adult_hours = [0.0] * len(PARENTAL_FACTORS)
                child.adult_hours[column] += got

    def settle(self, children: list[Any]) -> None:
        """At the end of a run: credit the cases still held."""
        for child in children:
            if child.adult_entry is not None:
                self.leave(child)

    def composition(self, now: float) -> list[tuple[Any, ...]]:
        """Per team kind: (day, team, posts FTE, permanent FTE, agency FTE, away FTE, cases)."""
        self._current()
        rows = []
        for name, turning_over, units in self.kind_posts:
            posts = permanent = agency = away = 0.0
            for post in turning_over:
                posts += post.fte
                person = post.holder
                if person is not None:
                    if person.agency:
                        agency += post.fte
                    else:
                        permanent += post.fte
                    if not person.present:
                        away += post.fte
            cases = 0
            for unit in units:
                cases += sum(len(w.cases) for w in unit.workers)
            rows.append((now, name, posts, permanent, agency, away, cases))
        return rows
