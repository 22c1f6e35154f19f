"""Assumed practice effects, applied to a scenario as plain data before a run.

An effect is something the user asserts (e.g. "Family Safeguarding cuts entries to
care by 30%"), never something the model finds. Keeping them as data transforms
means the engine only ever sees resolved numbers, a scenario with every effect at
zero shows the structural difference alone, and reports list exactly what was assumed.

Targets are dotted paths into the scenario (a list of them is allowed; ``*`` matches
every item of a list or mapping, e.g. ``structure.teams.*.caseload_limit``):
- ``probability``: a probability field (``pathway.s47.icpc_rate``) or one share of a set
  that sums to 1 (``pathway.cp.outcomes.cla``, ``workforce.roles.social_worker.time_split.direct``);
  the share is scaled by (1 + value) and the others rescaled so the set still sums to 1;
- ``duration``: a distribution (``pathway.cp.duration``), stretched by (1 + value);
- ``rate``: any other positive number, scaled by (1 + value).
Several effects on one target multiply.

An effect may declare ``applies_to: {factors: [...]}``: it then acts only on children with
at least one of those parental factors, and only on pathway numbers. ``apply_effects``
folds such an effect in only when asked for a child's factors (``factors``, a bit mask in
the order of ``PARENTAL_FACTORS``); the engine keeps one resolved pathway per group of
children (``simulation.engine.routing``) and picks it child by child.

An effect may declare ``starts_at_years`` (a policy start date): before it the run is as
without the effect, from it on with it. ``apply_effects(..., at_years=t)`` folds in the
effects in force at ``t``; the engine builds the run from ``t = 0`` and resolves the pathway
again for each later period (``routing.Routes``), so decisions and durations drawn from
the date on meet the effect (a duration already running keeps its length). A dated effect
on ``demand.contacts_per_10k`` becomes a step in demand at its date (``demand.changes``),
drawn by thinning, so contacts before the date are the same as without it. Other targets
are read once when the run is built and cannot switch; the schema refuses them dated
(``schema.effect.dated_target_problem``).
"""

from __future__ import annotations

from typing import Any

from simulation.scenario.errors import ScenarioError, parse
from simulation.scenario.schema.demand import DemandChange
from simulation.scenario.schema.effect import Effect
from simulation.scenario.schema.scenario import Scenario
from simulation.scenario.schema.workforce import PARENTAL_FACTORS
from simulation.scenario.targets import expand, is_share_set, targets

ALL_FACTORS = (1 << len(PARENTAL_FACTORS)) - 1  # a child with every parental factor


def factor_mask(names: list[str]) -> int:
    """Bit mask of parental factors (bit i = PARENTAL_FACTORS[i])."""
    return sum(1 << PARENTAL_FACTORS.index(n) for n in names)


def selects(effect: Effect, factors: int) -> bool:
    """Whether ``effect`` acts on a child with the parental factors ``factors``."""
    sel = effect.applies_to
    return sel is None or bool(factor_mask(sel.factors) & factors)


def active_effects(scenario: Scenario) -> list[tuple[str, Effect]]:
    """Every non-zero practice effect as (dotted name, effect)."""
    return [(f"{g}.{n}", e) for g, group in scenario.effects.items()
            for n, e in group.items() if e.value != 0]


def effect_dates(scenario: Scenario, horizon_years: float | None = None) -> list[float]:
    """The dates (years, ascending, after day 0 and before ``horizon_years``) at which
    dated effects start: where the pathway a child meets changes."""
    return sorted({e.starts_at_years for _, e in active_effects(scenario)
                   if e.dated and (horizon_years is None or e.starts_at_years < horizon_years)})


def apply_effects(scenario: Scenario, factors: int = 0, source: str = "",
                  at_years: float | None = None) -> Scenario:
    """The scenario with every non-zero assumed effect folded into its numbers: those for
    every child, and those selecting children by parental factor when ``factors`` (a
    child's bit mask) has one of theirs.

    ``at_years``: only the effects in force then (``starts_at_years`` at or before it);
    a dated effect on the contacts rate not yet in force becomes a step in
    ``demand.changes`` at its date. None: every effect, as if all had started.

    The result is checked against the schema like any scenario, so an effect that pushes
    a value out of its bounds is a ScenarioError naming the field (``source`` prefixes it).
    """
    chosen = [(n, e) for n, e in active_effects(scenario) if selects(e, factors)]
    effects = [e for _, e in chosen if e.in_force(at_years)]
    steps = [DemandChange(at_years=e.starts_at_years, factor=1.0 + e.value,
                          reason=f"assumed effect {n}").model_dump()
             for n, e in chosen if not e.in_force(at_years)
             and "demand.contacts_per_10k" in targets(e)]
    if not effects and not steps:
        return scenario
    data = scenario.model_dump()
    data["demand"]["changes"] = data["demand"]["changes"] + steps
    for effect in effects:
        for target in targets(effect):
            for path, parent, _, _ in expand(scenario, target):
                try:
                    _apply_one(data, path, effect, is_share=is_share_set(parent))
                except ArithmeticError as exc:
                    raise ScenarioError(f"{source + ': ' if source else ''}{path}: effect "
                                        f"cannot be applied ({exc})") from None
    return parse(data, source or f"{scenario.name} (after effects)")


def _apply_one(data: dict[str, Any], path: str, effect: Effect, is_share: bool) -> None:
    *head, last = path.split(".")
    parent: Any = data
    for part in head:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    key: Any = int(last) if isinstance(parent, list) else last
    factor = 1.0 + effect.value
    if effect.kind == "duration":
        spec = dict(parent[key])
        spec["multiplier"] = spec.get("multiplier", 1.0) * factor
        parent[key] = spec
    elif effect.kind == "rate":
        parent[key] = parent[key] * factor
    elif is_share:
        old = parent[key]
        new = min(1.0, old * factor)
        rest_old = 1.0 - old
        for k in parent:
            if k != key:
                parent[k] = parent[k] * (1.0 - new) / rest_old if rest_old > 0 else 0.0
        parent[key] = new
    else:
        parent[key] = min(1.0, parent[key] * factor)


def scenario_dates(scenario: Scenario) -> list[dict[str, Any]]:
    """Every date at which the scenario changes, in order: steps in demand, assumed effects
    that start, establishment changes. For manifests and reports: what a projection rests
    on and from when (demand growth, a trend rather than a date, is in the scenario)."""
    rows: list[dict[str, Any]] = [
        {"at_years": c.at_years, "kind": "demand", "what": f"contacts x{c.factor:g}",
         "reason": c.reason} for c in scenario.demand.changes]
    rows += [{"at_years": e.starts_at_years, "kind": "assumed effect",
              "what": f"{name} {e.value:+g}", "reason": " ".join(e.evidence.split())[:200]}
             for name, e in active_effects(scenario) if e.dated]
    rows += [{"at_years": c.at_years, "kind": "staffing",
              "what": f"{c.role} in {c.team or 'every team'} "
                      + (f"x{c.factor:g}" if c.factor is not None else f"{c.fte:+g} FTE"),
              "reason": c.reason} for c in scenario.structure.changes]
    return sorted(rows, key=lambda r: r["at_years"])
