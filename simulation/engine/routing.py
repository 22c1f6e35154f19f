"""The pathway numbers each child meets: one resolved pathway per group of children.

Most of the pathway is the same for every child. Two things make it differ:
* a child's past (``pathway.history``): a child with a previous CP plan meets higher odds
  of s47, ICPC and a plan; a child looked after before meets higher odds of care;
* assumed effects that select children by parental factor (``applies_to``);
* the date: assumed effects that start at a date (``starts_at_years``) change the pathway
  from then on. The run is cut into periods at those dates; ``Routes.advance`` moves to the
  next one (``simulation.engine.policy`` calls it at each date).

Children fall into at most 8 factor masks x 2 x 2 pasts per period; each group's pathway is
resolved and compiled once, on first use, and the journey picks the child's group at each
decision.
"""

from __future__ import annotations

import bisect
from typing import Any

from simulation.randomness.distributions import build_distribution
from simulation.scenario import Scenario, apply_effects
from simulation.scenario.effects import effect_dates, selects
from simulation.scenario.schema.pathway import Pathway
from simulation.scenario.schema.workforce import PARENTAL_FACTORS

# Routes each past makes likelier: (path to a branch share or probability).
PREVIOUS_CP_ROUTES = ("assessment.outcomes.s47", "cin.outcomes.s47", "icpc.cp_plan_rate")
PREVIOUS_CLA_ROUTES = ("assessment.outcomes.cla", "cin.outcomes.cla", "cp.outcomes.cla")


class Decision:
    """Mutually exclusive branches picked by one uniform against cumulative shares."""

    __slots__ = ("labels", "cum")

    def __init__(self, branches: list[tuple[str, float]]) -> None:
        self.labels = [b for b, _ in branches]
        total, cum = 0.0, []
        for _, p in branches:
            total += p
            cum.append(total)
        cum[-1] = 1.0 + 1e-12  # u < 1 always lands in a branch despite rounding
        self.cum = cum

    def __call__(self, u: float) -> str:
        return self.labels[bisect.bisect_right(self.cum, u)]


def raise_odds(p: float, odds_ratio: float) -> float:
    """A probability whose odds are multiplied by ``odds_ratio``."""
    if p >= 1.0:
        return 1.0
    return odds_ratio * p / (1.0 - p + odds_ratio * p)


def with_history(pathway: Pathway, previous_cp: bool, previous_cla: bool) -> Pathway:
    """The pathway a child with this past meets (odds raised on the routes it favours)."""
    h = pathway.history
    changes = []
    if previous_cp and h.previous_cp.odds_ratio != 1.0:
        changes += [(r, h.previous_cp.odds_ratio) for r in PREVIOUS_CP_ROUTES]
    if previous_cla and h.previous_cla.odds_ratio != 1.0:
        changes += [(r, h.previous_cla.odds_ratio) for r in PREVIOUS_CLA_ROUTES]
    if not changes:
        return pathway
    data = pathway.model_dump()
    for path, ratio in changes:
        *head, last = path.split(".")
        parent: Any = data
        for part in head:
            parent = parent[part]
        old = parent[last]
        new = raise_odds(old, ratio)
        parent[last] = new
        if head and head[-1] == "outcomes":  # a branch share: rescale the others
            rest = 1.0 - old
            for k in parent:
                if k != last:
                    parent[k] = parent[k] * (1.0 - new) / rest if rest > 0 else 0.0
    return Pathway.model_validate(data)


class Routing:
    """One group's pathway compiled into fast callables for the hot path."""

    def __init__(self, p: Pathway) -> None:
        self.d_assessment = build_distribution(p.assessment.duration)
        self.d_time_to_icpc = build_distribution(p.s47.time_to_icpc)
        self.d_s47_no_icpc = build_distribution(p.s47.duration_no_icpc)
        self.d_cin = build_distribution(p.cin.duration)
        self.d_cp = build_distribution(p.cp.duration)
        self.d_cla = build_distribution(p.cla.duration)
        self.assessment_outcome = Decision(p.assessment.outcomes.items())
        self.no_icpc_outcome = Decision(p.s47.no_icpc_outcomes.items())
        self.icpc_otherwise = Decision(p.icpc.otherwise.items())
        self.cin_outcome = Decision(p.cin.outcomes.items())
        self.cp_outcome = Decision(p.cp.outcomes.items())
        self.cla_exit = Decision(p.cla.exits.items())
        self.placement = Decision(list(p.cla.placements.items()))
        self.nfa_rate = p.referral_nfa_rate
        self.icpc_rate = p.s47.icpc_rate
        self.cp_plan_rate = p.icpc.cp_plan_rate


class Routes:
    """Every group's ``Routing``, built on first use.

    ``scenario`` is the raw scenario (effects not folded in); ``effective`` the one with the
    effects for every child in force on day 0 folded in (what the rest of the run reads).
    ``dates``: the years at which dated effects start (``effects.effect_dates``); period k
    runs from ``dates[k-1]`` (0 for k = 0) to the next date.
    """

    def __init__(self, scenario: Scenario, effective: Scenario,
                 dates: list[float] | None = None) -> None:
        self.scenario = scenario
        self.targeted = [e for g in scenario.effects.values() for e in g.values()
                         if e.value != 0 and e.applies_to is not None]
        self.base = effective.pathway
        self.dates = effect_dates(scenario) if dates is None else list(dates)
        self.period = 0
        self._pathways: dict[tuple[int, int], Pathway] = {}
        self._cache: dict[tuple[int, int, bool, bool], Routing] = {}
        n_masks = 1 << len(PARENTAL_FACTORS)
        self._groups = [self._group(m) for m in range(n_masks)]
        self.default = self.get(0, False, False)

    def _group(self, factors: int) -> int:
        """The targeted effects a child's factors select, as a bit mask over them."""
        return sum(1 << i for i, e in enumerate(self.targeted) if selects(e, factors))

    def advance(self) -> None:
        """Move to the next period: from now on children meet the effects started by its date."""
        if self.period < len(self.dates):
            self.period += 1

    def get(self, factors: int, previous_cp: bool, previous_cla: bool) -> Routing:
        group, period = self._groups[factors], self.period
        key = (period, group, previous_cp, previous_cla)
        routing = self._cache.get(key)
        if routing is None:
            pathway = self._pathways.get((period, group))
            if pathway is None:
                at = self.dates[period - 1] if period else 0.0
                pathway = (apply_effects(self.scenario, factors, at_years=at).pathway
                           if group or period else self.base)
                self._pathways[(period, group)] = pathway
            routing = self._cache[key] = Routing(with_history(pathway, previous_cp,
                                                              previous_cla))
        return routing
