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

# Stages and the re-referral delay form loops (CIN -> s47 -> CIN, closed -> referred): if
# they could take no time on average, a child could go round forever at one instant.
MIN_STAGE_MEAN_DAYS = 1.0


def _check_stage_duration(spec: dict[str, Any]) -> dict[str, Any]:
    try:
        mean = build_distribution(spec).mean_days
    except DistributionError as exc:
        raise ValueError(f"bad distribution: {exc}") from None
    if mean < MIN_STAGE_MEAN_DAYS:
        raise ValueError(f"bad distribution: mean {mean:.3g} days; a stage must last at "
                         f"least {MIN_STAGE_MEAN_DAYS:g} day on average")
    return spec


StageDuration = Annotated[dict[str, Any], AfterValidator(_check_stage_duration)]


class Strict(BaseModel):
    """Base for every section: unknown keys are errors, objects are immutable.

    Strict types: ``true`` is not 1 and ``"5"`` is not 5 (a YAML slip must not become a
    number), whole-number fields refuse 5.5, and no number may be NaN or infinite.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


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
    # (used for sources, placements, time splits and localities)
    """A mapping of shares (sources, placements, time) must be non-empty and sum to 1."""
    if not v:
        raise ValueError(f"{what}: needs at least one entry")
    if not math.isclose(sum(v.values()), 1.0, abs_tol=1e-6):
        raise ValueError(f"{what} must sum to 1, got {sum(v.values()):.6g}")
    return v


def _placement_shares(v: dict[str, float]) -> dict[str, float]:
    return check_shares(v, "placement shares")


# shares over placement types (pathway.cla.placements, demand.unaccompanied.placements)
PlacementShares = Annotated[dict[str, Probability], AfterValidator(_placement_shares)]
