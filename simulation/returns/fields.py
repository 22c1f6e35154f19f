"""Where each estimate goes in the scenario: one table, re-pointed here if a schema's
names change, and a probe of whether this version's schema has a field.

Fields added by parallel changes (issue 9b: ``demand.unaccompanied``, ``pathway.history``,
``initial_state.history``; issue 10b: ``demand.growth``, ``local_figures``) are written
as soon as the schema has them.
"""

from __future__ import annotations

from typing import Any

from simulation.scenario import Scenario

# estimate -> scenario field (dotted). Re-point here when a schema's names change.
FIELDS: dict[str, str] = {
    "contacts_per_10k": "demand.contacts_per_10k",
    "age_at_contact_years": "demand.age_at_contact_years",
    "referral_sources": "demand.referral_sources",
    "re_referral_probability": "demand.re_referral.probability",
    "re_referral_delay": "demand.re_referral.delay",
    "parental_factors": "demand.parental_factors",
    "unaccompanied": "demand.unaccompanied",          # issue 9b (CONTRACT.md)
    "demand_growth": "demand.growth.annual_rate",     # issue 10b
    "referral_nfa_rate": "pathway.referral_nfa_rate",
    "assessment_duration": "pathway.assessment.duration",
    "assessment_outcomes": "pathway.assessment.outcomes",
    "icpc_rate": "pathway.s47.icpc_rate",
    "time_to_icpc": "pathway.s47.time_to_icpc",
    "duration_no_icpc": "pathway.s47.duration_no_icpc",
    "no_icpc_outcomes": "pathway.s47.no_icpc_outcomes",
    "cp_plan_rate": "pathway.icpc.cp_plan_rate",
    "icpc_otherwise": "pathway.icpc.otherwise",
    "cin_duration": "pathway.cin.duration",
    "cin_outcomes": "pathway.cin.outcomes",
    "cp_duration": "pathway.cp.duration",
    "cp_outcomes": "pathway.cp.outcomes",
    "cla_duration": "pathway.cla.duration",
    "cla_placements": "pathway.cla.placements",
    "cla_exits": "pathway.cla.exits",
    "leaving_age_years": "pathway.cla.leaving_age_years",
    "history": "pathway.history",                     # issue 9b (CONTRACT.md)
}


def in_schema(path: str) -> bool:
    """Whether the scenario schema has this dotted field (walking nested sections)."""
    model: Any = Scenario
    for part in path.split("."):
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            return False
        model = fields[part].annotation
    return True
