"""The establishment of each structure: FTE by role, read from the resolved scenario.

What a director asks first about a new structure is "how many people, of what kind, at
what cost". This is the planned establishment (every post filled), not who is in post in a
given week: vacancies and agency cover are in the run's outputs.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from simulation.randomness.distributions import DAYS_PER_YEAR
from simulation.scenario import Scenario

STAFFING_COLUMNS = ["scenario", "role", "group", "fte", "case_holding_fte",
                    "cost_gbp_year"]
GROUPS = ("Case-holding practitioners", "Managers", "Adult practitioners", "Support staff")


def role_group(name: str, role: Any) -> str:
    """Managers by name; adult practitioners by the parental factors they serve;
    case-holding by a caseload share; the rest support the teams."""
    if "manager" in name:
        return "Managers"
    if role.serves_factors:
        return "Adult practitioners"
    return "Case-holding practitioners" if role.caseload_share > 0 else "Support staff"


def staffing_table(scenarios: list[Scenario]) -> pd.DataFrame:
    """One row per scenario and role: FTE, its case-holding equivalent, and yearly cost."""
    rows = []
    for s in scenarios:
        fte: dict[str, float] = {}
        for team in s.structure.teams:
            for role, per_unit in s.staff_of(team).items():  # with derived team managers
                fte[role] = fte.get(role, 0.0) + team.count * per_unit
        for role, total in fte.items():
            r = s.workforce.roles[role]
            rows.append({"scenario": s.name, "role": role.replace("_", " ").capitalize(),
                         "group": role_group(role, r), "fte": total,
                         "case_holding_fte": total * r.caseload_share,
                         "cost_gbp_year": total * r.weekly_cost_gbp * DAYS_PER_YEAR / 7})
    table = pd.DataFrame(rows, columns=STAFFING_COLUMNS)
    order = {g: i for i, g in enumerate(GROUPS)}
    return table.assign(_g=table["group"].map(order)).sort_values(
        ["scenario", "_g", "fte"], ascending=[True, True, False], kind="stable").drop(
        columns="_g").reset_index(drop=True)
