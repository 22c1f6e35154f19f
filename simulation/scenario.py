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
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from simulation.distributions import DistributionError, build_distribution

# Stages that need an allocated social worker, in the order of the journey.
STAGES: tuple[str, ...] = ("assessment", "s47", "cin", "cp", "cla")
# Every place a child can be: the stages plus the front door and closed.
PLACES: tuple[str, ...] = ("front_door", *STAGES, "closed")
Stage = Literal["assessment", "s47", "cin", "cp", "cla"]

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]


class ScenarioError(ValueError):
    """A scenario that cannot be used; ``str()`` is one line per problem, naming the field."""


def _check_distribution(spec: dict[str, Any]) -> dict[str, Any]:
    try:
        build_distribution(spec)
    except DistributionError as exc:
        raise ValueError(f"bad distribution: {exc}") from None
    return spec


DistSpec = Annotated[dict[str, Any], AfterValidator(_check_distribution)]


class Strict(BaseModel):
    """Base for every section: unknown keys are errors, objects are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Branches(Strict):
    """Mutually exclusive outcomes of one decision; the shares must sum to 1."""

    @model_validator(mode="after")
    def _sum_to_one(self) -> Branches:
        total = sum(getattr(self, f) for f in type(self).model_fields)
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"branches must sum to 1, got {total:.6g}")
        return self

    def items(self) -> list[tuple[str, float]]:
        return [(f, getattr(self, f)) for f in type(self).model_fields]


# ---------------------------------------------------------------- demand
class FrontDoor(Strict):
    decision_time: DistSpec
    referral_rate: Probability = Field(description="share of contacts that become referrals")


class ReReferral(Strict):
    probability: Probability = Field(description="chance a closed case is referred again")
    delay: DistSpec = Field(description="time from closure to the new referral")


class AgeBands(Strict):
    edges: list[NonNegative] = Field(min_length=2)
    weights: list[NonNegative]

    @model_validator(mode="after")
    def _shape(self) -> AgeBands:
        if len(self.edges) != len(self.weights) + 1:
            raise ValueError("edges must have one more entry than weights")
        if any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
            raise ValueError("edges must increase")
        if sum(self.weights) <= 0:
            raise ValueError("weights must have a positive total")
        return self


class Demand(Strict):
    contacts_per_10k: Positive = Field(description="new contacts a year per 10,000 children")
    referral_sources: dict[str, Probability]
    age_at_contact_years: AgeBands
    front_door: FrontDoor
    re_referral: ReReferral

    @field_validator("referral_sources")
    @classmethod
    def _sources_sum(cls, v: dict[str, float]) -> dict[str, float]:
        if not v:
            raise ValueError("needs at least one source")
        if not math.isclose(sum(v.values()), 1.0, abs_tol=1e-6):
            raise ValueError(f"shares must sum to 1, got {sum(v.values()):.6g}")
        return v


# ---------------------------------------------------------------- pathway
class AssessmentOutcomes(Branches):
    close: Probability
    cin: Probability
    s47: Probability
    cla: Probability


class CinOrClose(Branches):
    cin: Probability
    close: Probability


class CinEnd(Branches):
    close: Probability
    s47: Probability
    cla: Probability


class CpEnd(Branches):
    cin: Probability
    close: Probability
    cla: Probability


class ClaExits(Branches):
    home: Probability
    sgo: Probability
    adoption: Probability
    other: Probability


class Assessment(Strict):
    duration: DistSpec
    outcomes: AssessmentOutcomes


class S47(Strict):
    icpc_rate: Probability = Field(description="share of s47 enquiries that reach an ICPC")
    time_to_icpc: DistSpec
    duration_no_icpc: DistSpec
    no_icpc_outcomes: CinOrClose


class Icpc(Strict):
    cp_plan_rate: Probability
    otherwise: CinOrClose


class Cin(Strict):
    duration: DistSpec
    outcomes: CinEnd


class Cp(Strict):
    duration: DistSpec
    first_review_months: Positive = 3.0
    review_interval_months: Positive = 6.0
    outcomes: CpEnd


class Cla(Strict):
    duration: DistSpec
    placements: dict[str, Probability]
    exits: ClaExits
    leaving_age_years: Positive = 18.0

    @field_validator("placements")
    @classmethod
    def _placements_sum(cls, v: dict[str, float]) -> dict[str, float]:
        if not v or not math.isclose(sum(v.values()), 1.0, abs_tol=1e-6):
            raise ValueError(f"placement shares must sum to 1, got {sum(v.values()):.6g}")
        return v


class Pathway(Strict):
    referral_nfa_rate: Probability
    assessment: Assessment
    s47: S47
    icpc: Icpc
    cin: Cin
    cp: Cp
    cla: Cla


class InitialState(Strict):
    """Open cases on day 0 (a council's current caseload), so year 1 is not a fill-up."""

    assessment: Annotated[int, Field(ge=0)] = 0
    s47: Annotated[int, Field(ge=0)] = 0
    cin: Annotated[int, Field(ge=0)] = 0
    cp: Annotated[int, Field(ge=0)] = 0
    cla: Annotated[int, Field(ge=0)] = 0
    closed_returning: Annotated[int, Field(ge=0)] = Field(
        0, description="closed cases that will be re-referred (the re-referral pipeline)")


# ---------------------------------------------------------------- structure
class Role(Strict):
    caseload_share: Annotated[float, Field(ge=0.0, le=2.0)] = Field(
        description="share of the team caseload limit one FTE holds (0 = not case-holding)")


class Workforce(Strict):
    roles: dict[str, Role]


class Team(Strict):
    """One kind of team, ``count`` identical units of it (e.g. four hubs' intake teams)."""

    name: str = Field(min_length=1)
    count: Annotated[int, Field(ge=1)] = 1
    assignment: Literal["locality", "least_loaded"] = "least_loaded"
    holds: list[Stage] = Field(min_length=1)
    caseload_limit: Positive
    staff: dict[str, NonNegative] = Field(min_length=1, description="FTE per unit by role")
    staff_split: Literal["equal", "by_locality"] = Field(
        "equal", description="by_locality: unit i gets count x its locality's share of staff")

    @model_validator(mode="after")
    def _split_needs_locality(self) -> Team:
        if self.staff_split == "by_locality" and self.assignment != "locality":
            raise ValueError("staff_split 'by_locality' needs assignment 'locality'")
        return self


class Structure(Strict):
    localities: dict[str, Positive] = Field(default_factory=lambda: {"all": 1.0})
    teams: list[Team] = Field(min_length=1)

    @model_validator(mode="after")
    def _coherent(self) -> Structure:
        names = [t.name for t in self.teams]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"team names must be unique: {', '.join(dupes)}")
        held = {s for t in self.teams for s in t.holds}
        missing = [s for s in STAGES if s not in held]
        if missing:
            raise ValueError(f"no team holds stage(s): {', '.join(missing)}")
        for t in self.teams:
            if t.assignment == "locality" and t.count != len(self.localities):
                raise ValueError(
                    f"team {t.name!r}: assignment 'locality' needs count == number of "
                    f"localities ({len(self.localities)}), got {t.count}")
        return self


# ---------------------------------------------------------------- effects and run
class Effect(Strict):
    """An assumed practice effect: a relative change the user asserts, with its evidence.

    ``value`` -0.3 means 30% fewer (a probability or rate times 0.7) or 30% shorter.
    """

    kind: Literal["probability", "duration", "rate"]
    target: str = Field(min_length=1)
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


def load_raw(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The merged mapping of a scenario file and everything it extends."""
    path = Path(path).resolve()
    if path in _chain:
        raise ScenarioError(f"{path}: extends loop: {' -> '.join(p.name for p in (*_chain, path))}")
    data = _read_yaml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ScenarioError(f"{path}: extends: must be a file name, got {parent!r}")
    return _deep_merge(load_raw(path.parent / parent, (*_chain, path)), data)


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


def load_scenario(path: str | Path) -> Scenario:
    """Read, merge (``extends``) and validate a scenario file."""
    return validate(load_raw(path), str(path))


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
