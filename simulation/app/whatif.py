"""What a room can ask: the controls, their allowed ranges, and how a what-if becomes data.

A what-if never reaches the engine as code: it is an overlay mapping (more staff in
every team's ``staff``, a higher ``caseload_limit``, another ``turnover_rate``, an
effect's ``value``) merged onto the scenario and validated again by the scenario layer,
exactly as an ``overlays:`` file would be. Every value is checked against its range
here, so a value the page's sliders cannot produce is refused by the server too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from simulation.scenario import Effect, Scenario, apply_overlay, without_effects


class WhatIfError(ValueError):
    """A question the app cannot run; ``str()`` names the control and the problem."""


@dataclass(frozen=True)
class Control:
    """A slider: its range, step and what it changes in the scenario."""

    name: str
    label: str
    help: str
    low: float
    high: float
    step: float
    unit: str


CONTROLS: tuple[Control, ...] = (
    Control("staff_pct", "Case-holding social workers", "FTE of every case-holding role "
            "(caseload_share above 0) in every team, up or down by this share", -30, 30, 5, "%"),
    Control("turnover_pct", "Social worker turnover", "permanent staff leaving a year "
            "(workforce.turnover_rate)", 0, 40, 1, "% a year"),
    Control("agency_cover", "Agency cover for vacancies", "1: vacancies are covered by "
            "agency staff; 0: they stay empty until a permanent recruit starts "
            "(workforce.agency_cover)", 0, 1, 1, ""),
    Control("agency_start_weeks", "Time to agency cover", "weeks from a vacancy to agency "
            "cover (workforce.agency_start)", 1, 26, 1, "weeks"),
    Control("caseload_change", "Caseload limit", "cases added to (or taken from) every "
            "team's caseload limit (structure.teams.*.caseload_limit)", -6, 6, 1, "cases"),
    Control("demand_pct", "Demand", "new contacts a year, up or down by this share "
            "(demand.contacts_per_10k; a level change for the whole horizon)", -20, 30, 5, "%"),
)


def has_growth_field() -> bool:
    """Whether this scenario schema declares a demand trend (``demand.growth``)."""
    from simulation.scenario.schema.demand import Demand

    return "growth" in Demand.model_fields


# A trend in demand where the schema has one: the level control above moves every year
# alike, this one compounds (the room's rate replaces any per-age-band rates).
GROWTH = Control("growth_pct", "Demand growth", "compound yearly change in new contacts "
                 "(demand.growth.annual_rate)", -5, 10, 1, "% a year")
if has_growth_field():
    CONTROLS = (*CONTROLS, GROWTH)
CONTROL_BY_NAME = {c.name: c for c in CONTROLS}
YEARS = Control("years", "Horizon", "simulated years", 1, 10, 1, "years")
WORKSHOP_YEARS = 3.0  # long enough for care numbers to move, short enough to answer live


def scenario_defaults(scenario: Scenario) -> dict[str, float]:
    """Where each control starts for this scenario (its own values, or no change)."""
    wf = scenario.workforce
    start = wf.agency_start
    weeks = _fixed_weeks(start)
    defaults = {"staff_pct": 0.0, "turnover_pct": round(wf.turnover_rate * 100, 1),
            "agency_cover": 1.0 if wf.agency_cover else 0.0,
            "agency_start_weeks": weeks if weeks is not None else 4.0,
            "caseload_change": 0.0, "demand_pct": 0.0,
            "years": WORKSHOP_YEARS}
    if GROWTH in CONTROLS:
        defaults["growth_pct"] = round(scenario.demand.growth.annual_rate * 100, 2)
    return defaults


def _fixed_weeks(spec: Any) -> float | None:
    data = spec.model_dump() if hasattr(spec, "model_dump") else dict(spec)
    if data.get("dist") != "fixed":
        return None
    days = {"days": 1, "weeks": 7, "months": 30.4375, "years": 365.25,
            "working_days": 7 / 5}.get(data.get("unit", "days"))
    return None if days is None else round(data["value"] * days / 7, 1)


def check_number(name: str, value: Any, low: float, high: float, label: str = "") -> float:
    """A finite number within [low, high], or WhatIfError naming the control."""
    who = label or name
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise WhatIfError(f"{who}: must be a number, got {value!r}")
    if not low <= value <= high:
        raise WhatIfError(f"{who}: must be between {low:g} and {high:g}, got {value:g}")
    return float(value)


def check_values(values: Mapping[str, Any]) -> dict[str, float]:
    """The set controls (None or absent = as the scenario has it), each within its range."""
    if not isinstance(values, Mapping):
        raise WhatIfError("whatif: must be a mapping of control names to numbers")
    out = {}
    for name, value in values.items():
        control = CONTROL_BY_NAME.get(name)
        if control is None:
            raise WhatIfError(f"whatif.{name}: unknown control (known: "
                              f"{', '.join(CONTROL_BY_NAME)})")
        if value is not None:
            out[name] = check_number(f"whatif.{name}", value, control.low, control.high)
    return out


def check_effects(values: Mapping[str, Any], known: Mapping[str, Effect]) -> dict[str, float]:
    """Effect values ("group.name" -> value), each within that effect's evidence range."""
    if not isinstance(values, Mapping):
        raise WhatIfError("effects: must be a mapping of effect names to numbers")
    out = {}
    for key, value in values.items():
        effect = known.get(key)
        if effect is None:
            raise WhatIfError(f"effects.{key}: no compared scenario assumes this effect")
        out[key] = check_number(f"effects.{key}", value, effect.low, effect.high)
    return out


def effects_of(scenarios: list[Scenario]) -> dict[str, Effect]:
    """Every assumed effect of these scenarios, by "group.name" (first declaration wins)."""
    found: dict[str, Effect] = {}
    for scenario in scenarios:
        for group, effects in scenario.effects.items():
            for name, effect in effects.items():
                found.setdefault(f"{group}.{name}", effect)
    return found


def describe(values: Mapping[str, float], effects: Mapping[str, float], effects_on: bool,
             defaults: Mapping[str, float]) -> str:
    """A short label of a what-if ("staff +10%, limit +2"): empty when nothing changes."""
    parts = []
    for name, value in values.items():
        if value == defaults.get(name, 0.0):
            continue
        if name == "staff_pct":
            parts.append(f"staff {value:+g}%")
        elif name == "turnover_pct":
            parts.append(f"turnover {value:g}%")
        elif name == "agency_cover":
            parts.append("agency cover " + ("on" if value else "off"))
        elif name == "agency_start_weeks":
            parts.append(f"agency after {value:g} wk")
        elif name == "caseload_change":
            parts.append(f"limit {value:+g}")
        elif name == "demand_pct":
            parts.append(f"demand {value:+g}%")
        elif name == "growth_pct":
            parts.append(f"growth {value:+g}%/yr")
    parts += [f"{key.split('.', 1)[1]} {value:+.2f}" for key, value in effects.items()]
    if not effects_on:
        parts.append("no assumed effects")
    return ", ".join(parts)


def apply_whatif(scenario: Scenario, values: Mapping[str, float],
                 effects: Mapping[str, float], effects_on: bool, label: str) -> Scenario:
    """The scenario with the what-if merged in as data (and renamed after it)."""
    overlay: dict[str, Any] = {}
    staff = values.get("staff_pct", 0.0)
    limit = values.get("caseload_change", 0.0)
    if staff or limit:
        holding = {r for r, role in scenario.workforce.roles.items() if role.caseload_share > 0}
        teams = []
        for team in scenario.structure.model_dump()["teams"]:
            team["staff"] = {r: fte * (1 + staff / 100) if r in holding else fte
                             for r, fte in team["staff"].items()}
            team["caseload_limit"] = max(1.0, team["caseload_limit"] + limit)
            teams.append(team)
        overlay["structure"] = {"teams": teams}
    workforce: dict[str, Any] = {}
    if "turnover_pct" in values:
        workforce["turnover_rate"] = values["turnover_pct"] / 100
    if "agency_cover" in values:
        workforce["agency_cover"] = bool(values["agency_cover"])
    if "agency_start_weeks" in values:
        workforce["agency_start"] = {"dist": "fixed", "value": values["agency_start_weeks"],
                                     "unit": "weeks"}
    if workforce:
        overlay["workforce"] = workforce
    demand: dict[str, Any] = {}
    if values.get("demand_pct"):
        demand["contacts_per_10k"] = (scenario.demand.contacts_per_10k
                                      * (1 + values["demand_pct"] / 100))
    if "growth_pct" in values:
        demand["growth"] = {"annual_rate": values["growth_pct"] / 100, "by_age": None}
    if demand:
        overlay["demand"] = demand
    mine = {}
    for key, value in effects.items():
        group, name = key.split(".", 1)
        if name in scenario.effects.get(group, {}):
            mine.setdefault(group, {})[name] = {"value": value}
    if mine:
        overlay["effects"] = mine
    if label:
        overlay["name"] = f"{scenario.name} · {label}"
    changed = apply_overlay(scenario, overlay, f"{scenario.name} (what-if)") if overlay \
        else scenario
    return changed if effects_on else without_effects(changed)
