"""One question from the room, checked: a base, structures to compare, a what-if, a horizon.

The answer always pairs against the base as it stands (no what-if): replication i of
the base and of every what-if variant share a seed, so the differences shown are
paired differences of the same children meeting the same luck.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from simulation.app.catalogue import Catalogue
from simulation.app.whatif import (
    YEARS,
    WhatIfError,
    apply_whatif,
    check_effects,
    check_number,
    check_values,
    describe,
    effects_of,
    scenario_defaults,
)
from simulation.scenario import Scenario, ScenarioError

MAX_COMPARED = 5
FIELDS = {"base", "compare", "whatif", "effects", "effects_on", "years"}


@dataclass(frozen=True)
class Question:
    """A checked question and the scenarios it runs: [base, variant, variant, ...]."""

    base: str
    compare: tuple[str, ...]
    values: dict[str, float]
    effects: dict[str, float]
    effects_on: bool
    years: float
    label: str
    scenarios: tuple[Scenario, ...]
    seed: int

    def spec(self) -> dict[str, Any]:
        return {"base": self.base, "compare": list(self.compare), "whatif": self.values,
                "effects": self.effects, "effects_on": self.effects_on, "years": self.years}


def parse_question(data: Any, catalogue: Catalogue) -> Question:
    """A Question from the page's JSON, or WhatIfError / ScenarioError with one line."""
    if not isinstance(data, Mapping):
        raise WhatIfError("the question must be a JSON object")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise WhatIfError(f"{unknown[0]}: unknown field (known: {', '.join(sorted(FIELDS))})")
    if not isinstance(data.get("base"), str):
        raise WhatIfError("base: choose the scenario to compare against")
    base = catalogue.get(data["base"])
    compare = data.get("compare") or [data["base"]]
    if not isinstance(compare, list) or not all(isinstance(c, str) for c in compare):
        raise WhatIfError("compare: must be a list of scenario names")
    compare = list(dict.fromkeys(compare))
    if len(compare) > MAX_COMPARED:
        raise WhatIfError(f"compare: at most {MAX_COMPARED} structures at once, "
                          f"got {len(compare)}")
    chosen = [catalogue.under(data["base"], c) for c in compare]
    defaults = scenario_defaults(base)
    values = {k: v for k, v in check_values(data.get("whatif") or {}).items()
              if v != defaults.get(k)}
    known = effects_of(chosen)
    effects = check_effects(data.get("effects") or {}, known)
    effects = {k: v for k, v in effects.items() if v != known[k].value}
    effects_on = data.get("effects_on", True)
    if not isinstance(effects_on, bool):
        raise WhatIfError(f"effects_on: must be true or false, got {effects_on!r}")
    years = check_number("years", data.get("years", defaults["years"]), YEARS.low, YEARS.high,
                         "years")
    label = describe(values, effects, effects_on, defaults)
    variants = []
    for scenario in chosen:
        variant = apply_whatif(scenario, values, effects, effects_on, label)
        if variant != base and all(variant != v for v in variants):
            variants.append(variant)
    names = [base.name] + [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ScenarioError(f"compare: two scenarios share the name {names[-1]!r}; "
                            f"rename one to compare them")
    return Question(data["base"], tuple(compare), values, effects, effects_on, years, label,
                    (base, *variants), base.run.seed)
