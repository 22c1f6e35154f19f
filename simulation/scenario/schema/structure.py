"""The operating model: kinds of team, what they hold, who is in them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from simulation.scenario.schema.base import STAGES, NonNegative, Positive, Stage, Strict


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


class Structure(Strict):
    localities: dict[str, Positive] = Field(default_factory=lambda: {"all": 1.0})
    teams: list[Team] = Field(min_length=1)
    over_limit_stages: list[Stage] = Field(
        default_factory=list,
        description="stages allocated even when every worker is at the limit (urgent work)")
    rebalance: bool = Field(
        True, description="when a worker has room, take a case off the most over-limit colleague")
    qualified_per_team_manager: Positive | None = Field(
        None, description="the management rule: each unit gets one team_manager FTE per this "
                          "many FTE of qualified roles (workforce.roles.*.qualified); teams "
                          "then declare no team_manager. None: team managers as declared")
    new_starter_fill: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        0.0, description="a new worker starting in a vacant post takes cases from colleagues "
                         "more loaded than them, up to this share of their limit "
                         "(cause caseload_management)")

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


