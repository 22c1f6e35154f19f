"""The root of the scenario schema: a council, its operating model, effects and run settings.

A scenario YAML file is checked once, up front, against this schema: unknown keys,
wrong types, probabilities outside [0, 1], branches that do not sum to 1, bad
distributions, a stage no team holds, a role no catalogue defines. Each problem
becomes one line naming the field path, so a council analyst can fix the file
without reading Python.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from simulation.scenario.schema.base import Positive, Strict
from simulation.scenario.schema.demand import Demand
from simulation.scenario.schema.effect import Effect
from simulation.scenario.schema.pathway import InitialState, Pathway
from simulation.scenario.schema.structure import Structure, Team
from simulation.scenario.schema.workforce import PRESSURE_TARGETS, Costs, Workforce
from simulation.scenario.targets import check_target

MANAGER = "team_manager"  # the role the management rule sets


class RunSettings(Strict):
    years: Positive = 5.0
    seed: Annotated[int, Field(ge=0)] = 1
    snapshot_interval_days: Positive = 7.0


class Scenario(Strict):
    """One council and its operating model, validated and immutable: what a run reads."""

    name: str = Field(min_length=1)
    description: str = ""
    population: Annotated[int, Field(gt=0)] = Field(description="children aged 0-17 in the council")
    demand: Demand
    pathway: Pathway
    initial_state: InitialState = InitialState()
    workforce: Workforce
    structure: Structure
    costs: Costs = Costs()
    effects: dict[str, dict[str, Effect]] = Field(default_factory=dict)
    run: RunSettings = RunSettings()

    @model_validator(mode="after")
    def _roles_known(self) -> Scenario:
        for i, t in enumerate(self.structure.teams):
            unknown = sorted(set(t.staff) - set(self.workforce.roles))
            if unknown:
                raise ValueError(f"structure.teams.{i}.staff: role(s) not in workforce.roles: "
                                 f"{', '.join(unknown)} (team {t.name!r})")
            capacity = sum(self.workforce.roles[r].caseload_share * fte
                           for r, fte in t.staff.items())
            if capacity * t.caseload_limit < 1:
                raise ValueError(f"structure.teams.{i}.staff: team {t.name!r} holds "
                                 f"{', '.join(t.holds)} but has no case-holding capacity")
        roles = self.workforce.roles
        if self.structure.qualified_per_team_manager is not None:
            if MANAGER not in roles:
                raise ValueError(f"structure.qualified_per_team_manager: needs a "
                                 f"{MANAGER!r} role in workforce.roles")
            for i, t in enumerate(self.structure.teams):
                if MANAGER in t.staff:
                    raise ValueError(
                        f"structure.teams.{i}.staff.{MANAGER}: set by the management rule "
                        f"(structure.qualified_per_team_manager); remove it (team {t.name!r})")
        for name in self.workforce.turnover_roles or []:
            if name not in roles:
                raise ValueError(f"workforce.turnover_roles: {name!r} is not in workforce.roles")
        priced = self.costs.placement_weekly_gbp
        if priced:
            missing = sorted(set(self.pathway.cla.placements) - set(priced))
            if missing:
                raise ValueError(f"costs.placement_weekly_gbp: no cost for placement(s) "
                                 f"{', '.join(missing)}")
        for group, effects in self.effects.items():
            for name, eff in effects.items():
                problem = check_target(eff, self)
                if problem:
                    raise ValueError(f"effects.{group}.{name}: {problem}")
        return self

    def staff_of(self, team: Team) -> dict[str, float]:
        """FTE per unit by role, with the team managers the management rule gives."""
        staff = dict(team.staff)
        ratio = self.structure.qualified_per_team_manager
        if ratio is not None:
            qualified = sum(fte for r, fte in staff.items() if self.workforce.roles[r].qualified)
            staff[MANAGER] = qualified / ratio
        return staff

    def qualified_fte(self) -> float:
        """Qualified case-holding FTE of the whole structure (all units)."""
        roles = self.workforce.roles
        return sum(fte * t.count for t in self.structure.teams for r, fte in t.staff.items()
                   if roles[r].qualified)

    def assumed_effects(self) -> list[tuple[str, Effect]]:
        """Every non-zero assumed effect as (dotted name, effect): the practice effects,
        then the workload feedback (``workforce.pressure``), shown as rate effects on
        what they scale."""
        practice = [(f"{g}.{n}", e) for g, es in self.effects.items() for n, e in es.items()
                    if e.value != 0]
        pressure = [(f"workforce.pressure.{n}", Effect(
            kind="rate", target=PRESSURE_TARGETS[n], value=e.value, low=e.low, high=e.high,
            evidence=e.evidence)) for n, e in self.workforce.pressure.effects()]
        return practice + pressure
