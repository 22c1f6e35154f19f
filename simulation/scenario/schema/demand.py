"""Demand: contacts arriving, who they are, the front door and re-referrals."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from simulation.scenario.schema.base import (
    DistSpec,
    NonNegative,
    PlacementShares,
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


class Growth(Strict):
    """Demand that trends: contacts a year grow (or fall) by a compound yearly rate."""

    annual_rate: float = Field(
        0.0, ge=-0.5, le=1.0, description="compound yearly change in contacts (0.03 = +3%)")
    by_age: list[Annotated[float, Field(gt=-1.0, le=1.0)]] | None = Field(
        None, description="one yearly rate per band of age_at_contact_years (replaces "
                          "annual_rate for children in that band)")

    def rates(self, bands: int) -> list[float]:
        """The yearly rate of each age band."""
        return list(self.by_age) if self.by_age is not None else [self.annual_rate] * bands


class DemandChange(Strict):
    """A step in demand from a date on (a policy, a new front door): contacts x factor."""

    at_years: NonNegative = Field(description="years from the start of the run")
    factor: Annotated[float, Field(gt=0.0, le=100.0)] = Field(
        description="multiplies contacts from then on (1.1 = +10%)")
    reason: str = ""


class Unaccompanied(Strict):
    """Unaccompanied asylum-seeking children: they arrive aged 16-17 and enter care directly
    (no contact, referral or assessment), with their own placement mix, and leave care at
    the leaving age or earlier."""

    entries_per_10k: NonNegative = Field(
        description="entries to care a year per 10,000 children of the council")
    placements: PlacementShares = Field(
        description="shares over pathway.cla.placements keys")
    age_at_entry_years: AgeBands = Field(
        default_factory=lambda: AgeBands(edges=[16, 17, 18], weights=[1, 1]))
    duration: DistSpec = Field(
        default_factory=lambda: {"dist": "fixed", "value": 10, "unit": "years"},
        description="time in care if the child does not turn 18 first (default: all stay "
                    "to 18)")


class Demand(Strict):
    contacts_per_10k: Annotated[float, Field(gt=0.0, le=100_000.0)] = Field(
        description="new contacts a year per 10,000 children")
    referral_sources: dict[str, Probability]
    age_at_contact_years: AgeBands
    front_door: FrontDoor
    re_referral: ReReferral
    parental_factors: ParentalFactors = ParentalFactors()
    growth: Growth = Growth()
    changes: list[DemandChange] = Field(
        default_factory=list, description="steps in demand at dates; several multiply")
    unaccompanied: Unaccompanied | None = None

    @field_validator("referral_sources")
    @classmethod
    def _sources_sum(cls, v: dict[str, float]) -> dict[str, float]:
        return check_shares(v)

    @model_validator(mode="after")
    def _growth_bands(self) -> Demand:
        by_age = self.growth.by_age
        if by_age is not None and len(by_age) != len(self.age_at_contact_years.weights):
            raise ValueError(f"growth.by_age: needs one rate per age band "
                             f"({len(self.age_at_contact_years.weights)}), got {len(by_age)}")
        if any(r <= -1 for r in by_age or []):
            raise ValueError("growth.by_age: rates must be > -1")
        return self

    def multiplier(self, years: float, band: int = 0) -> float:
        """Contacts at time ``years`` (from day 0) relative to day 0, for an age band."""
        t = max(years, 0.0)
        m = (1.0 + self.growth.rates(len(self.age_at_contact_years.weights))[band]) ** t
        for change in self.changes:
            if t >= change.at_years:
                m *= change.factor
        return m

    @property
    def varies(self) -> bool:
        """True if contacts are not a constant rate over the run."""
        return bool(self.changes) or any(
            r != 0 for r in self.growth.rates(len(self.age_at_contact_years.weights)))
