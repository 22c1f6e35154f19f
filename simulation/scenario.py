"""The scenario: one validated, immutable description of a council and its operating model.

A scenario YAML file is checked once, up front, against this schema: unknown keys,
wrong types, probabilities outside [0, 1], branches that do not sum to 1, bad
distributions, a stage no team holds, a role no catalogue defines. Each problem
becomes one line naming the field path, so a council analyst can fix the file
without reading Python. ``extends: other.yaml`` lets a scenario be a small diff of
another (mappings merge key by key, lists and values replace).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    Field,
    ValidationError,
    model_validator,
)

from simulation.schema.base import (  # noqa: F401  (re-exported for callers)
    PLACES,
    STAGES,
    Branches,
    DistSpec,
    Positive,
    Probability,
    Stage,
    Strict,
)
from simulation.schema.demand import Demand
from simulation.schema.pathway import InitialState, Pathway
from simulation.schema.structure import Structure
from simulation.schema.workforce import Costs, Workforce


class ScenarioError(ValueError):
    """A scenario that cannot be used; ``str()`` is one line per problem, naming the field."""


# ---------------------------------------------------------------- effects and run
class Effect(Strict):
    """An assumed practice effect: a relative change the user asserts, with its evidence.

    ``value`` -0.3 means 30% fewer (a probability or rate times 0.7) or 30% shorter.
    """

    kind: Literal["probability", "duration", "rate"]
    target: str | list[str] = Field(
        description="dotted path(s) into the scenario; '*' matches every item of a list or map")
    value: float
    low: float
    high: float
    evidence: str = Field(min_length=1)

    @model_validator(mode="after")
    def _range(self) -> Effect:
        if self.low > self.high:
            raise ValueError(f"low ({self.low:g}) must not exceed high ({self.high:g})")
        if self.value <= -1.0:
            raise ValueError(f"value must be > -1 (a relative change), got {self.value:g}")
        return self


class RunSettings(Strict):
    years: Positive = 5.0
    seed: Annotated[int, Field(ge=0)] = 1
    snapshot_interval_days: Positive = 7.0


class Scenario(Strict):
    name: str = Field(min_length=1)
    description: str = ""
    population: Annotated[int, Field(gt=0)] = Field(description="children aged 0-17 in the council")
    demand: Demand
    pathway: Pathway
    initial_state: InitialState = InitialState()
    workforce: Workforce
    structure: Structure
    costs: Costs = Costs()
    effects: dict[str, dict[str, Effect]] = Field(default_factory=dict)
    run: RunSettings = RunSettings()

    @model_validator(mode="after")
    def _roles_known(self) -> Scenario:
        for i, t in enumerate(self.structure.teams):
            unknown = sorted(set(t.staff) - set(self.workforce.roles))
            if unknown:
                raise ValueError(f"structure.teams.{i}.staff: role(s) not in workforce.roles: "
                                 f"{', '.join(unknown)} (team {t.name!r})")
            capacity = sum(self.workforce.roles[r].caseload_share * fte
                           for r, fte in t.staff.items())
            if capacity * t.caseload_limit < 1:
                raise ValueError(f"structure.teams.{i}.staff: team {t.name!r} holds "
                                 f"{', '.join(t.holds)} but has no case-holding capacity")
        roles = self.workforce.roles
        for name in self.workforce.turnover_roles or []:
            if name not in roles:
                raise ValueError(f"workforce.turnover_roles: {name!r} is not in workforce.roles")
        priced = self.costs.placement_weekly_gbp
        if priced:
            missing = sorted(set(self.pathway.cla.placements) - set(priced))
            if missing:
                raise ValueError(f"costs.placement_weekly_gbp: no cost for placement(s) "
                                 f"{', '.join(missing)}")
        from simulation.effects import check_target  # local: effects imports this module

        for group, effects in self.effects.items():
            for name, eff in effects.items():
                problem = check_target(eff, self)
                if problem:
                    raise ValueError(f"effects.{group}.{name}: {problem}")
        return self

    def assumed_effects(self) -> list[tuple[str, Effect]]:
        """Every non-zero assumed effect as (dotted name, effect)."""
        return [(f"{g}.{n}", e) for g, es in self.effects.items() for n, e in es.items()
                if e.value != 0]


# ---------------------------------------------------------------- loading
def _deep_merge(base: dict[str, Any], diff: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in diff.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read ({exc.__class__.__name__}: {exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ScenarioError(f"{path}: not valid YAML{where}: "
                            f"{getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: top level must be a mapping of sections")
    return data


def load_raw(path: str | Path, overlays: list[str | Path] | tuple = (),
             _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The merged mapping of a scenario file, everything it extends, and its overlays.

    Order: the ``extends`` parent, then the file itself, then each file in its
    ``overlays:`` list (paths relative to the file), then ``overlays`` given here
    (e.g. ``--overlay`` on the command line). An overlay is a fragment, typically a
    practice model's ``effects``, that applies on top of any structure.
    """
    path = Path(path).resolve()
    if path in _chain:
        raise ScenarioError(f"{path}: extends loop: {' -> '.join(p.name for p in (*_chain, path))}")
    data = _read_yaml(path)
    parent = data.pop("extends", None)
    own_overlays = data.pop("overlays", [])
    if parent is not None:
        if not isinstance(parent, str):
            raise ScenarioError(f"{path}: extends: must be a file name, got {parent!r}")
        data = _deep_merge(load_raw(path.parent / parent, (), (*_chain, path)), data)
    if not isinstance(own_overlays, list) or not all(isinstance(o, str) for o in own_overlays):
        raise ScenarioError(f"{path}: overlays: must be a list of file names")
    for overlay in [path.parent / o for o in own_overlays] + [Path(o) for o in overlays]:
        fragment = _read_yaml(Path(overlay).resolve())
        if "extends" in fragment or "overlays" in fragment:
            raise ScenarioError(f"{overlay}: an overlay cannot use extends or overlays")
        data = _deep_merge(data, fragment)
    return data


def format_validation_error(exc: ValidationError, source: str = "") -> str:
    """One line per problem: ``file: field.path: message``."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (check spelling; see configs/baseline.yaml)"
        # Cross-section checks run on the whole scenario and name their own field.
        where = f"{loc}: " if loc else ""
        lines.append(f"{source + ': ' if source else ''}{where}{msg}")
    return "\n".join(lines)


def validate(data: Mapping[str, Any], source: str = "") -> Scenario:
    """A Scenario from a mapping, or ScenarioError with one line per problem."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(exc, source)) from None


def without_effects(scenario: Scenario) -> Scenario:
    """The same scenario with every assumed effect set to 0 (the structure alone)."""
    zeroed = {g: {n: e.model_copy(update={"value": 0.0}) for n, e in es.items()}
              for g, es in scenario.effects.items()}
    return scenario.model_copy(update={"effects": zeroed})


def load_scenario(path: str | Path, overlays: list[str | Path] | tuple = ()) -> Scenario:
    """Read, merge (``extends``, overlays) and validate a scenario file."""
    return validate(load_raw(path, overlays), str(path))


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
