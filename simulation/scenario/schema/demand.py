"""Demand: contacts arriving, who they are, the front door and re-referrals."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from simulation.scenario.schema.base import (
    DistSpec,
    NonNegative,
    Probability,
    StageDuration,
    Strict,
    check_shares,
)
from simulation.scenario.schema.workforce import ParentalFactors


class FrontDoor(Strict):
    decision_time: DistSpec
    referral_rate: Probability = Field(description="share of contacts that become referrals")


class ReReferral(Strict):
    probability: Probability = Field(description="chance a closed case is referred again")
    delay: StageDuration = Field(description="time from closure to the new referral")


class AgeBands(Strict):
    edges: list[Annotated[float, Field(ge=0.0, le=25.0)]] = Field(min_length=2)
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
    contacts_per_10k: Annotated[float, Field(gt=0.0, le=100_000.0)] = Field(
        description="new contacts a year per 10,000 children")
    referral_sources: dict[str, Probability]
    age_at_contact_years: AgeBands
    front_door: FrontDoor
    re_referral: ReReferral
    parental_factors: ParentalFactors = ParentalFactors()

    @field_validator("referral_sources")
    @classmethod
    def _sources_sum(cls, v: dict[str, float]) -> dict[str, float]:
        return check_shares(v)


