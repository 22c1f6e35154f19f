"""The operating model: kinds of team, what they hold, who is in them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from simulation.scenario.schema.base import STAGES, Positive, Stage, Strict, check_shares


class Team(Strict):
    """One kind of team, ``count`` identical units of it (e.g. four hubs' intake teams)."""

    name: str = Field(min_length=1)
    count: Annotated[int, Field(ge=1, le=10_000)] = 1
    assignment: Literal["locality", "least_loaded"] = "least_loaded"
    holds: list[Stage] = Field(min_length=1)
    caseload_limit: Annotated[float, Field(gt=0.0, le=1_000.0)]
    staff: dict[str, Annotated[float, Field(ge=0.0, le=1_000.0)]] = Field(
        min_length=1, description="FTE per unit by role")
    staff_split: Literal["equal", "by_locality"] = Field(
        "equal", description="by_locality: unit i gets count x its locality's share of staff")
    cover: Literal["duty", "colleague"] = Field(
        "duty", description="who covers a short absence: a duty worker the family does not "
                            "know, or a colleague in the unit, who then knows the family")
    co_working: bool = Field(
        False, description="the unit works each family together, so the family knows every "
                           "member (pods, Hackney units)")

    @model_validator(mode="after")
    def _split_needs_locality(self) -> Team:
        if self.staff_split == "by_locality" and self.assignment != "locality":
            raise ValueError("staff_split 'by_locality' needs assignment 'locality'")
        return self


class StaffChange(Strict):
    """A change of establishment at a date (a structure start date): the funded FTE of a
    case-holding role steps up or down from then on (models.establishment)."""

    at_years: Annotated[float, Field(ge=0.0)] = Field(
        description="years from the start of the run")
    team: str | None = Field(None, description="a team name; default: every team with the role")
    role: str = Field("social_worker", description="a case-holding role (caseload_share > 0)")
    factor: Annotated[float, Field(ge=0.0, le=100.0)] | None = Field(
        None, description="multiplies the role's FTE in each unit (1.1 = +10%)")
    fte: Annotated[float, Field(ge=-10_000.0, le=10_000.0)] | None = Field(
        None, description="FTE added (or, negative, removed) across the team(s), shared "
                          "between units in proportion to their FTE of the role")
    reason: str = ""

    @model_validator(mode="after")
    def _one_size(self) -> StaffChange:
        if (self.factor is None) == (self.fte is None):
            raise ValueError("give exactly one of factor or fte")
        return self


class Structure(Strict):
    localities: dict[str, Positive] = Field(default_factory=lambda: {"all": 1.0},
                                            description="shares of demand; must sum to 1")
    teams: list[Team] = Field(min_length=1)
    over_limit_stages: list[Stage] = Field(
        default_factory=list,
        description="stages allocated even when every worker is at the limit (urgent work)")
    rebalance: bool = Field(
        True, description="when a worker has room, take a case off the most over-limit colleague")
    sized_for_population: Annotated[int, Field(gt=0)] | None = Field(
        None, description="the council size (children) the team counts and staff are written "
                          "for: scaled by population / this when the scenario's population "
                          "differs; omit to take them as written (absolute)")
    case_holding_fte: Positive | None = Field(
        None, description="declared case-holding capacity (FTE x role caseload_share): teams "
                          "are scaled to it, overriding sized_for_population")
    qualified_per_team_manager: Positive | None = Field(
        None, description="the management rule: each unit gets one team_manager FTE per this "
                          "many FTE of qualified roles (workforce.roles.*.qualified); teams "
                          "then declare no team_manager. None: team managers as declared")
    new_starter_fill: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        0.0, description="a new worker starting in a vacant post takes cases from colleagues "
                         "more loaded than them, up to this share of their limit "
                         "(cause caseload_management)")
    changes: list[StaffChange] = Field(
        default_factory=list, description="establishment changes at dates (structure start "
                                          "dates): staff of a role step up or down")

    @field_validator("localities")
    @classmethod
    def _localities_sum(cls, v: dict[str, float]) -> dict[str, float]:
        return check_shares(v, "locality shares")

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
        for i, c in enumerate(self.changes):
            if c.team is not None and c.team not in names:
                raise ValueError(f"changes.{i}.team: no team {c.team!r} (teams: "
                                 f"{', '.join(names)})")
        return self


def case_holding_fte(teams: list[dict], roles: dict[str, dict]) -> float:
    """Case-holding capacity of raw teams: FTE x caseload_share (a senior practitioner
    at 0.6 counts 0.6), the unit sizing works in, so caseload per worker follows."""
    return sum(t.get("count", 1) * fte * float(roles.get(r, {}).get("caseload_share", 0.0))
               for t in teams for r, fte in t.get("staff", {}).items())


def size_structure(raw: dict, population: int, roles: dict[str, dict]) -> dict:
    """The raw structure section sized to a council, before validation.

    The ratio is declared case_holding_fte / the teams' capacity if given, else
    population / sized_for_population; with neither the structure is absolute. Unit
    counts scale by the ratio (rounded, at least 1; locality teams keep one unit per
    locality) and staff per unit absorb the rounding, so every team's FTE scales by
    exactly the ratio. The result records sized_for_population = population and drops
    case_holding_fte, so sizing a sized structure again changes nothing, and assumed
    effects or sweeps that change staff afterwards are not undone.
    """
    teams = raw.get("teams")
    if not isinstance(teams, list) or not all(isinstance(t, dict) for t in teams):
        return raw
    target, sized_for = raw.get("case_holding_fte"), raw.get("sized_for_population")
    if target is not None and not (isinstance(target, int | float) and target > 0):
        return raw  # left for validation to name
    if target is not None:
        current = case_holding_fte(teams, roles)
        ratio = target / current if current > 0 else 1.0
    elif isinstance(sized_for, int) and sized_for > 0:
        ratio = population / sized_for
    else:
        return raw
    out = {k: v for k, v in raw.items() if k != "case_holding_fte"}
    out["sized_for_population"] = population
    if abs(ratio - 1.0) < 1e-12:
        return out
    sized = []
    for t in teams:
        count = t.get("count", 1)
        staff = t.get("staff")
        if not isinstance(count, int) or not isinstance(staff, dict):
            sized.append(t)
            continue
        new_count = count if t.get("assignment") == "locality" else max(1, round(count * ratio))
        per_unit = ratio * count / new_count
        sized.append({**t, "count": new_count,
                      "staff": {r: (f * per_unit if isinstance(f, int | float) else f)
                                for r, f in staff.items()}})
    out["teams"] = sized
    return out
