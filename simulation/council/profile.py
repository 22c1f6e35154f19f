"""The council profile: the handful of published figures a council knows about itself.

A profile is what an analyst can fill in from a monthly performance pack, without the
statutory returns: population, contacts, referrals and strategy meetings a month,
children on CIN and CP plans and looked after, and optionally case-holding FTE and
costs. ``simulation.council.build`` solves it into a scenario whose flows and stocks
come back out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, ValidationError, model_validator

from simulation.scenario.loading import format_validation_error
from simulation.scenario.schema.base import NonNegative, Positive, Strict


class ProfileError(ValueError):
    """A profile that cannot be used; ``str()`` is one line per problem, naming the field."""


class PerMonth(Strict):
    """Monthly flows, as councils report them."""

    contacts: Positive = Field(description="contacts to the front door a month")
    referrals: Positive = Field(description="referrals to children's social care a month")
    strategy_meetings: Positive = Field(
        description="strategy meetings (section 47 enquiries) a month")


class OpenCases(Strict):
    """Children open on the profile's date (31 March, or the month of the figures)."""

    cin: Annotated[int, Field(ge=1)] = Field(description="children on CIN plans")
    cp: Annotated[int, Field(ge=1)] = Field(description="children on CP plans")
    cla: Annotated[int, Field(ge=1)] = Field(description="children looked after")


class ProfileCosts(Strict):
    """Local unit costs replacing the template's (each optional)."""

    price_year: Annotated[int, Field(ge=2000, le=2100)] | None = None
    role_weekly_gbp: dict[str, NonNegative] = Field(
        default_factory=dict, description="employer cost of 1 FTE a week, by role")
    placement_weekly_gbp: dict[str, NonNegative] = Field(default_factory=dict)
    sources: str = ""


class Profile(Strict):
    """A council in a dozen lines (docs/council-profile.md)."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    source: str = Field(min_length=1, description="where the figures are published")
    year: Annotated[int, Field(ge=1990, le=2100)] = Field(
        description="year ending 31 March the figures describe")
    population: Annotated[int, Field(ge=1000)] = Field(description="children aged 0-17")
    per_month: PerMonth
    open: OpenCases
    case_holding_fte: Positive | None = Field(
        None, description="case-holding capacity, FTE x role caseload_share; default: the "
                          "template's capacity scaled to the council's open caseload")
    costs: ProfileCosts = ProfileCosts()
    template: str = Field("../baseline.yaml", description="the scenario whose pathway, "
                          "workforce and structure are scaled (relative to the profile)")
    structure: str | None = Field(
        None, description="a structure file to use instead of the template's structure")

    @model_validator(mode="after")
    def _coherent(self) -> Profile:
        m = self.per_month
        if m.referrals > m.contacts:
            raise ValueError("per_month.referrals: more referrals than contacts "
                             f"({m.referrals:g} > {m.contacts:g})")
        if m.strategy_meetings > m.referrals:
            raise ValueError("per_month.strategy_meetings: more than referrals "
                             f"({m.strategy_meetings:g} > {m.referrals:g})")
        return self


def load_profile(path: str | Path) -> Profile:
    """Read and validate a profile file, or ProfileError with one line per problem."""
    path = Path(path)
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ProfileError(f"{path}: cannot read: {exc.__class__.__name__}: "
                           f"{' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: top level must be a mapping of fields")
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        message = format_validation_error(exc, str(path))
        raise ProfileError(message.replace("(check spelling; see configs/baseline.yaml)",
                                           "(see docs/council-profile.md)")) from None
