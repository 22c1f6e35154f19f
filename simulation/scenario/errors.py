"""Scenario problems as one line each, and the schema check every path through the code uses.

Kept apart from ``loading`` so that ``effects`` (which re-checks a scenario after folding
effects in) and ``loading`` (which checks the effect-applied scenario at validation time)
can both use it without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from simulation.scenario.schema.scenario import Scenario


class ScenarioError(ValueError):
    """A scenario that cannot be used; ``str()`` is one line per problem, naming the field."""


def format_validation_error(exc: ValidationError, source: str = "") -> str:
    """One line per problem: ``file: field.path: message``."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (check spelling; see configs/baseline.yaml)"
        elif err["type"] in ("float_type", "int_type") and isinstance(err.get("input"), bool):
            msg = f"must be a number, got {str(err['input']).lower()} (a yes/no value)"
        elif err["type"] == "finite_number":
            msg = f"must be a finite number, got {err.get('input')!r}"
        elif err["type"] == "int_type" and isinstance(err.get("input"), float):
            msg = f"must be a whole number, got {err['input']!r}"
        # Cross-section checks run on the whole scenario and name their own field.
        where = f"{loc}: " if loc else ""
        lines.append(f"{source + ': ' if source else ''}{where}{msg.splitlines()[0]}")
    return "\n".join(lines)


def parse(data: Mapping[str, Any], source: str = "") -> Scenario:
    """The schema check alone: a Scenario, or ScenarioError with one line per problem."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(exc, source)) from None
    except RecursionError:
        raise ScenarioError(f"{source + ': ' if source else ''}nested too deeply") from None
