"""The root of the scenario schema: a council, its operating model, effects and run settings.

A scenario YAML file is checked once, up front, against this schema: unknown keys,
wrong types, probabilities outside [0, 1], branches that do not sum to 1, bad
distributions, a stage no team holds, a role no catalogue defines. Each problem
becomes one line naming the field path, so a council analyst can fix the file
without reading Python.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from simulation.scenario.schema.base import Strict
from simulation.scenario.schema.demand import Demand
from simulation.scenario.schema.effect import Effect, dated_target_problem
from simulation.scenario.schema.local import LocalFigure, check_measures
from simulation.scenario.schema.pathway import InitialState, Pathway
from simulation.scenario.schema.structure import Structure, Team, size_structure
from simulation.scenario.schema.workforce import PRESSURE_TARGETS, Costs, Workforce
from simulation.scenario.targets import check_target, expand, targets

MAX_POPULATION = 100_000_000  # children; sizing a structure to more is refused, not attempted
MANAGER = "team_manager"  # the role the management rule sets


class RunSettings(Strict):
    years: Annotated[float, Field(gt=0.0, le=100.0)] = 5.0
    seed: Annotated[int, Field(ge=0)] = 1
    # At least daily: the snapshot list grows as years / interval.
    snapshot_interval_days: Annotated[float, Field(ge=1.0, le=366.0)] = 7.0


class Scenario(Strict):
    """One council and its operating model, validated and immutable: what a run reads."""

    name: str = Field(min_length=1)
    description: str = ""
    population: Annotated[int, Field(gt=0, le=MAX_POPULATION)] = Field(
        description="children aged 0-17 in the council")
    demand: Demand
    pathway: Pathway
    initial_state: InitialState = InitialState()
    workforce: Workforce
    structure: Structure
    costs: Costs = Costs()
    effects: dict[str, dict[str, Effect]] = Field(default_factory=dict)
    run: RunSettings = RunSettings()
    local_figures: dict[str, LocalFigure] = Field(
        default_factory=dict, description="the council's own published figures by measure "
                                          "(schema/local.py): targets and comparators")

    @field_validator("local_figures")
    @classmethod
    def _local_names(cls, v: dict[str, LocalFigure]) -> dict[str, LocalFigure]:
        return check_measures(v)

    @model_validator(mode="before")
    @classmethod
    def _size_structure(cls, data: Any) -> Any:
        """Teams follow the council's size (structure.sized_for_population or
        structure.case_holding_fte) before anything is checked, and so does a description
        that says ``{population}``."""
        if not isinstance(data, dict):
            return data
        structure, population = data.get("structure"), data.get("population")
        description = data.get("description")
        if isinstance(description, str) and isinstance(population, int) \
                and "{population}" in description:  # "a council of {population} children"
            data = {**data, "description": description.replace("{population}",
                                                               f"{population:,}")}
        workforce = data.get("workforce")
        roles = workforce.get("roles") if isinstance(workforce, dict) else None
        valid_population = (isinstance(population, int) and not isinstance(population, bool)
                            and 0 < population <= MAX_POPULATION)
        if isinstance(structure, dict) and valid_population and isinstance(roles, dict):
            roles = {k: (v if isinstance(v, dict) else {}) for k, v in roles.items()}
            data = {**data, "structure": size_structure(structure, population, roles)}
        return data

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
        used = {r for t in self.structure.teams for r in t.staff} | set(
            self.workforce.turnover_roles or [])
        if self.structure.qualified_per_team_manager is not None:
            used.add(MANAGER)  # derived per unit by the management rule, not declared
        for name in sorted(set(roles) - used):
            near = difflib.get_close_matches(name, sorted(used), n=1, cutoff=0.9)
            if near:  # an unused role spelt like a used one: a typo beside the real entry
                raise ValueError(f"workforce.roles.{name}: no team uses this role; did you mean "
                                 f"{near[0]!r}?")
        for name in self.workforce.turnover_roles or []:
            if name not in roles:
                raise ValueError(f"workforce.turnover_roles: {name!r} is not in workforce.roles")
        priced = self.costs.placement_weekly_gbp
        unknown = sorted(set(priced) - set(self.pathway.cla.placements))
        if unknown:
            raise ValueError(f"costs.placement_weekly_gbp: {', '.join(unknown)}: not a placement "
                             f"type in pathway.cla.placements{_did_you_mean(unknown, self.pathway.cla.placements)}")
        if priced:
            missing = sorted(set(self.pathway.cla.placements) - set(priced))
            if missing:
                raise ValueError(f"costs.placement_weekly_gbp: no cost for placement(s) "
                                 f"{', '.join(missing)}")
        uasc = self.demand.unaccompanied
        if uasc is not None:
            unknown = sorted(set(uasc.placements) - set(self.pathway.cla.placements))
            if unknown:
                raise ValueError(f"demand.unaccompanied.placements: not in "
                                 f"pathway.cla.placements: {', '.join(unknown)}")
        for group, effects in self.effects.items():
            for name, eff in effects.items():
                problem = check_target(eff, self) or dated_problem(eff, self)
                if problem:
                    raise ValueError(f"effects.{group}.{name}: {problem}")
        for i, c in enumerate(self.structure.changes):
            where = f"structure.changes.{i}"
            if c.role not in roles or roles[c.role].caseload_share <= 0:
                raise ValueError(f"{where}.role: {c.role!r} is not a case-holding role in "
                                 f"workforce.roles")
            teams = [t for t in self.structure.teams if c.team in (None, t.name)]
            if not any(t.staff.get(c.role, 0.0) > 0 for t in teams):
                raise ValueError(f"{where}: no {c.role} in team "
                                 f"{c.team or 'any team'} to change")
            late = at_or_after_end(c.at_years, self.run.years)
            if late:
                raise ValueError(f"{where}.at_years: {late}")
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


def at_or_after_end(at_years: float, years: float) -> str | None:
    """Why a date at or after the end of the run is refused, or None if it is inside."""
    if at_years >= years:
        return (f"{at_years:g} is at or after the end of the run (run.years {years:g}): "
                f"it would change nothing")
    return None


def dated_problem(effect: Effect, scenario: Scenario) -> str | None:
    """Why a dated effect cannot start at its date in this scenario, or None."""
    if not effect.dated:
        return None
    late = at_or_after_end(effect.starts_at_years, scenario.run.years)
    if late:
        return f"starts_at_years: {late}"
    for target in targets(effect):
        for path, *_ in expand(scenario, target):
            problem = dated_target_problem(path)
            if problem:
                return problem
    return None


def _did_you_mean(names: list[str], known) -> str:
    near = difflib.get_close_matches(names[0], sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {near[0]!r}?)" if near else ""
