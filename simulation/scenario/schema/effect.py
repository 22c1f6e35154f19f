"""An assumed practice effect: a named relative change with its evidence and range."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from simulation.scenario.schema.base import Strict

MAX_EFFECT = 100.0


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

    @model_validator(mode="after")
    def _range(self) -> Effect:
        if self.low > self.high:
            raise ValueError(f"low ({self.low:g}) must not exceed high ({self.high:g})")
        if self.value <= -1.0:
            raise ValueError(f"value must be > -1 (a relative change), got {self.value:g}")
        if self.value > MAX_EFFECT:
            raise ValueError(f"value must be at most {MAX_EFFECT:g} (a {MAX_EFFECT + 1:g}-fold "
                             f"increase), got {self.value:g}")
        return self
