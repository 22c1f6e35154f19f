"""The pathway: decisions and durations of each stage of a child's journey."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from simulation.scenario.schema.base import (
    Branches,
    DistSpec,
    Positive,
    Probability,
    Strict,
    check_shares,
)


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
        return check_shares(v, "placement shares")


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


