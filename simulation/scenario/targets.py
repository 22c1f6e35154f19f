"""Dotted paths into a scenario (``structure.teams.*.caseload_limit``) and what they may target.

Shared by the schema (an effect whose target does not exist or does not fit its kind
is a validation error) and by ``effects`` (which folds the values in).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from simulation.scenario.schema.base import Branches
from simulation.scenario.schema.effect import Effect


def _children(node: Any) -> list[tuple[str, Any]]:
    if isinstance(node, BaseModel):
        return [(k, getattr(node, k)) for k in type(node).model_fields]
    if isinstance(node, dict):
        return list(node.items())
    if isinstance(node, list | tuple):
        return [(str(i), v) for i, v in enumerate(node)]
    return []


def _step(node: Any, part: str) -> Any:
    if isinstance(node, BaseModel):
        if part not in type(node).model_fields:
            raise KeyError(part)
        return getattr(node, part)
    if isinstance(node, dict):
        return node[part]
    if isinstance(node, list | tuple):
        if not part.isdigit():  # no negative or other Python-only indices
            raise KeyError(part)
        return node[int(part)]
    raise KeyError(part)


def expand(root: Any, path: str) -> list[tuple[str, Any, Any, str]]:
    """Concrete matches of a (possibly wildcard) path: (path, parent, value, last key)."""
    matches: list[tuple[str, Any, Any, str]] = []

    def walk(node: Any, parts: list[str], done: list[str], parent: Any, key: str) -> None:
        if not parts:
            matches.append((".".join(done), parent, node, key))
            return
        head, rest = parts[0], parts[1:]
        if head == "*":  # every item that has the rest of the path (e.g. teams with a role)
            for k, child in _children(node):
                try:
                    walk(child, rest, [*done, k], node, k)
                except KeyError:
                    continue
            return
        try:
            child = _step(node, head)
        except (KeyError, IndexError, ValueError):
            raise KeyError(".".join([*done, head])) from None
        walk(child, rest, [*done, head], node, head)

    walk(root, path.split("."), [], None, "")
    return matches


def targets(effect: Effect) -> list[str]:
    return [effect.target] if isinstance(effect.target, str) else list(effect.target)


def check_target(effect: Effect, scenario: BaseModel) -> str | None:
    """Why the effect's targets do not fit its kind in this scenario, or None if they do."""
    for target in targets(effect):
        try:
            found = expand(scenario, target)
        except KeyError as exc:
            return f"target {target!r}: no field {exc.args[0]!r} in the scenario"
        if not found:
            return f"target {target!r} matches nothing"
        for path, parent, value, last in found:
            problem = _kind_problem(effect.kind, path, parent, value, last)
            if problem:
                return problem
    return None


def _kind_problem(kind: str, path: str, parent: Any, value: Any, last: str) -> str | None:
    if kind == "duration":
        ok = isinstance(value, dict) and "dist" in value
        return None if ok else f"target {path!r} is not a duration distribution"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"target {path!r} is not a number"
    if is_whole_number_field(parent, last):
        return (f"target {path!r} is a whole number (a count): effects change continuous "
                f"numbers only; change the count in the scenario instead")
    share = is_share_set(parent) or _is_probability_field(parent, last)
    if kind == "probability" and not share:
        return f"target {path!r} is not a probability or a share"
    if kind == "rate" and share:
        return f"target {path!r} is a probability or share: use kind 'probability'"
    return None


def is_share_set(parent: Any) -> bool:
    """Decision branches, or a mapping of shares (sources, placements, time) summing to 1."""
    if isinstance(parent, Branches):
        return True
    return isinstance(parent, dict) and len(parent) > 1 and all(
        isinstance(v, float | int) and not isinstance(v, bool) for v in parent.values()) \
        and abs(sum(parent.values()) - 1.0) < 1e-6


def _is_probability_field(parent: Any, name: str) -> bool:
    if not isinstance(parent, BaseModel):
        return False
    field = type(parent).model_fields[name]
    return any(getattr(m, "le", None) == 1.0 for m in field.metadata)


def is_whole_number_field(parent: Any, name: str) -> bool:
    """A schema field declared as an integer (team counts, population, initial caseload)."""
    if not isinstance(parent, BaseModel) or name not in type(parent).model_fields:
        return False
    return type(parent).model_fields[name].annotation is int
