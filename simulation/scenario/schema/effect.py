"""An assumed practice effect: a named relative change with its evidence and range."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from simulation.scenario.schema.base import Strict

MAX_EFFECT = 100.0


Factor = Literal["domestic_abuse", "mental_health", "substance_misuse"]


class AppliesTo(Strict):
    """The children an effect acts on: those with at least one of ``factors``."""

    factors: list[Factor] = Field(min_length=1)


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
    applies_to: AppliesTo | None = Field(
        None, description="only children with these parental factors (pathway targets only); "
                          "default: every child")

    @model_validator(mode="after")
    def _range(self) -> Effect:
        if self.low > self.high:
            raise ValueError(f"low ({self.low:g}) must not exceed high ({self.high:g})")
        if self.value <= -1.0:
            raise ValueError(f"value must be > -1 (a relative change), got {self.value:g}")
        if self.value > MAX_EFFECT:
            raise ValueError(f"value must be at most {MAX_EFFECT:g} (a {MAX_EFFECT + 1:g}-fold "
                             f"increase), got {self.value:g}")
        if self.applies_to is not None:
            paths = [self.target] if isinstance(self.target, str) else self.target
            bad = [t for t in paths if not t.startswith("pathway.")]
            if bad:
                raise ValueError(f"applies_to selects children, so targets must be in "
                                 f"pathway: {', '.join(bad)}")
        return self
