"""Size limits that make an out-of-memory run or a run that never ends impossible.

Field bounds live in the schema; these checks need several fields at once (a council's
size and the years run), and ``--years`` on the command line can change them, so they
run at validation and again before a run starts. The figures are measured: a baseline
run holds about 1.3 KB per contact (children, spells, events), so 2 KB is the estimate
used, and the limit is far above any English council (Kent: ~350,000 children).
"""

from __future__ import annotations

from simulation.scenario.errors import ScenarioError
from simulation.scenario.schema.scenario import Scenario

MAX_YEARS = 100.0
BYTES_PER_CONTACT = 2_000
MAX_MEMORY_GB = 64.0
MAX_STAFF_FTE = 100_000.0   # England has ~35,000 children's social workers


def peak_demand_multiplier(scenario: Scenario, years: float) -> float:
    """An upper bound on how far growth and dated steps raise contacts within ``years``."""
    demand = scenario.demand
    rates = demand.growth.rates(len(demand.age_at_contact_years.weights))
    steps = 1.0
    for change in demand.changes:
        steps *= max(1.0, change.factor)
    return max(max(1.0, 1.0 + r) ** years for r in rates) * steps


def size_problems(scenario: Scenario, years: float) -> list[str]:
    """Why a run of ``scenario`` for ``years`` would not fit in memory, or [] if it fits."""
    problems = []
    if not 0 < years <= MAX_YEARS:
        problems.append(f"run.years: must be > 0 and at most {MAX_YEARS:g}, got {years:g}")
        return problems
    contacts = (scenario.population * scenario.demand.contacts_per_10k / 10_000 * years
                * peak_demand_multiplier(scenario, years))
    open_cases = sum(v for v in scenario.initial_state.model_dump().values()
                     if isinstance(v, int))  # the counts by stage, not the history shares
    gb = (contacts + open_cases) * BYTES_PER_CONTACT / 1e9
    if gb > MAX_MEMORY_GB:
        problems.append(
            f"population: {scenario.population:,} children with {contacts:.3g} contacts over "
            f"{years:g} years and {open_cases:.3g} open cases would need ~{gb:.3g} GB of memory "
            f"(limit {MAX_MEMORY_GB:g} GB)")
    if open_cases > scenario.population:
        problems.append(f"initial_state: {open_cases:,} open cases for a population of "
                        f"{scenario.population:,} children")
    fte = sum(t.count * sum(t.staff.values()) for t in scenario.structure.teams)
    if fte > MAX_STAFF_FTE:
        problems.append(f"structure.teams: {fte:.3g} FTE in all (limit {MAX_STAFF_FTE:g})")
    return problems


def ensure_fits(scenario: Scenario, years: float, source: str = "") -> None:
    """ScenarioError, one line per problem, if a run of ``years`` would not fit."""
    problems = size_problems(scenario, years)
    if problems:
        raise ScenarioError("\n".join(f"{source or scenario.name}: {p}" for p in problems))
