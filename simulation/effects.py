"""Assumed practice effects, applied to a scenario as plain data before a run.

An effect is something the user asserts (e.g. "Family Safeguarding cuts entries to
care by 30%"), never something the model finds. Keeping them as data transforms
means the engine only ever sees resolved probabilities and durations, a scenario
with every effect at zero shows the structural difference alone, and the report
can list exactly which numbers were assumed.

Targets are dotted paths into the scenario:
- ``probability``: a probability field (``pathway.s47.icpc_rate``) or one branch of a
  decision (``pathway.cp.outcomes.cla``); the branch is scaled by (1 + value) and the
  other branches of that decision are rescaled so the shares still sum to 1;
- ``duration``: a distribution (``pathway.cp.duration``), stretched by (1 + value);
- ``rate``: a positive number (``demand.contacts_per_10k``), scaled by (1 + value).
Several effects on one target multiply.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

from simulation.scenario import Branches, Effect, Scenario, validate


def _resolve(root: BaseModel, path: str) -> tuple[Any, Any, str]:
    """(parent object, value, last key) for a dotted path, or raise KeyError."""
    parts = path.split(".")
    node: Any = root
    for part in parts[:-1]:
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    last = parts[-1]
    if isinstance(node, dict):
        return node, node[last], last
    if not isinstance(node, BaseModel) or last not in type(node).model_fields:
        raise KeyError(last)
    return node, getattr(node, last), last


def check_target(effect: Effect, scenario: BaseModel) -> str | None:
    """Why the effect's target does not fit its kind in this scenario, or None if it does."""
    try:
        parent, value, last = _resolve(scenario, effect.target)
    except (KeyError, AttributeError, TypeError):
        return f"target {effect.target!r} is not a field of the scenario"
    if effect.kind == "duration":
        ok = isinstance(value, dict) and "dist" in value
        return None if ok else f"target {effect.target!r} is not a duration distribution"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"target {effect.target!r} is not a number"
    if effect.kind == "probability":
        ok = _is_share_set(parent) or _is_probability_field(parent, last)
        return None if ok else f"target {effect.target!r} is not a probability or a branch"
    if _is_share_set(parent) or _is_probability_field(parent, last):
        return f"target {effect.target!r} is a probability: use kind 'probability'"
    return None


def _is_share_set(parent: Any) -> bool:
    """Decision branches, or a mapping of shares (sources, placements) that sums to 1."""
    if isinstance(parent, Branches):
        return True
    return isinstance(parent, dict) and len(parent) > 1 and all(
        isinstance(v, float | int) for v in parent.values()) and abs(
        sum(parent.values()) - 1.0) < 1e-6


def _is_probability_field(parent: Any, name: str) -> bool:
    if not isinstance(parent, BaseModel):
        return False
    field = type(parent).model_fields[name]
    return any(getattr(m, "le", None) == 1.0 for m in field.metadata)


def apply_effects(scenario: Scenario) -> Scenario:
    """The scenario with every assumed effect folded into its numbers."""
    effects = [e for group in scenario.effects.values() for e in group.values() if e.value != 0]
    if not effects:
        return scenario
    data = scenario.model_dump()
    for effect in effects:
        parent, _, _ = _resolve(scenario, effect.target)
        _apply_one(data, effect, is_share=_is_share_set(parent))
    return validate(data, f"{scenario.name} (after effects)")


def _apply_one(data: dict[str, Any], effect: Effect, is_share: bool) -> None:
    *head, last = effect.target.split(".")
    parent = data
    for part in head:
        parent = parent[part]
    factor = 1.0 + effect.value
    if effect.kind == "duration":
        spec = copy.deepcopy(parent[last])
        spec["multiplier"] = spec.get("multiplier", 1.0) * factor
        parent[last] = spec
    elif effect.kind == "rate":
        parent[last] = parent[last] * factor
    elif is_share:
        old = parent[last]
        new = min(1.0, old * factor)
        rest_old = 1.0 - old
        for key in parent:
            if key != last:
                parent[key] = parent[key] * (1.0 - new) / rest_old if rest_old > 0 else 0.0
        parent[last] = new
    else:
        parent[last] = min(1.0, parent[last] * factor)
