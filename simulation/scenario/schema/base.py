"""Building blocks of the scenario schema: strict sections, shares, distributions."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from simulation.randomness.distributions import DistributionError, build_distribution

# Stages that need an allocated social worker, in the order of the journey.
STAGES: tuple[str, ...] = ("assessment", "s47", "cin", "cp", "cla")
# Every place a child can be: the stages plus the front door and closed.
PLACES: tuple[str, ...] = ("front_door", *STAGES, "closed")
Stage = Literal["assessment", "s47", "cin", "cp", "cla"]

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]


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




def check_shares(v: dict[str, float], what: str = "shares") -> dict[str, float]:
    """A mapping of shares (sources, placements, time) must be non-empty and sum to 1."""
    if not v:
        raise ValueError(f"{what}: needs at least one entry")
    if not math.isclose(sum(v.values()), 1.0, abs_tol=1e-6):
        raise ValueError(f"{what} must sum to 1, got {sum(v.values()):.6g}")
    return v
