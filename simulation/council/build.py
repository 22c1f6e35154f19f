"""A council profile solved into a scenario: a short ``extends:`` file of the template.

What is solved (simulation.council.solve):
- ``demand.contacts_per_10k`` from contacts a month (observed directly);
- ``demand.front_door.referral_rate`` so that front-door referrals plus re-referrals
  give the referrals a month;
- ``pathway.assessment.outcomes`` (s47 share) from strategy meetings a month;
- ``pathway.cin|cp|cla.duration.multiplier`` so that entries x mean length = the open
  CIN, CP and looked-after counts (Little's law);
- ``initial_state`` = the open counts, assessment and s47 stocks and the re-referral
  pipeline scaled with the flows;
- ``structure`` sized to the council (population, or declared case-holding FTE);
- ``local_figures`` = the profile's figures, as targets and comparators.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from simulation.council import solve
from simulation.council.profile import Profile
from simulation.scenario.loading import ScenarioError, load_raw, validate
from simulation.scenario.loading import _deep_merge as deep_merge
from simulation.scenario.schema.scenario import Scenario
from simulation.scenario.schema.structure import case_holding_fte


def _with_multiplier(spec: dict[str, Any], factor: float) -> dict[str, Any]:
    return {**spec, "multiplier": spec.get("multiplier", 1.0) * factor}


def template_path(profile: Profile, profile_path: str | Path) -> Path:
    """The scenario the profile scales: its structure file if it names one (structure
    files extend the baseline), else its template."""
    return (Path(profile_path).resolve().parent
            / (profile.structure or profile.template)).resolve()


def solve_profile(profile: Profile, profile_path: str | Path) -> tuple[dict[str, Any], Scenario]:
    """(the diff over the template, the full validated scenario) for a profile."""
    field = "structure" if profile.structure else "template"
    try:
        template_raw = load_raw(template_path(profile, profile_path))
        template = validate(template_raw, str(template_path(profile, profile_path)))
    except ScenarioError as exc:
        raise solve.SolveError(f"{field}: {' '.join(str(exc).split())}") from None
    per_year = {k: v * 12 for k, v in profile.per_month.model_dump().items()}
    referrals, s47 = per_year["referrals"], per_year["strategy_meetings"]
    f = solve.re_referral_share(template)
    outcomes = solve.s47_share(template, referrals, s47)
    flows = solve.flows(template, referrals, outcomes["s47"])
    # the template's own flows, to scale the stocks the profile does not give
    t_contacts = template.demand.contacts_per_10k * template.population / 10_000
    t_referrals = t_contacts * template.demand.front_door.referral_rate / (1 - f)
    t_flows = solve.flows(template, t_referrals)
    p = template.pathway
    open_ = profile.open
    cin_k = solve.duration_multiplier(p.cin.duration, flows.cin, open_.cin)
    cp_k = solve.duration_multiplier(p.cp.duration, flows.cp, open_.cp)
    # the looked-after count includes unaccompanied children, who come on their own stream
    cla_others = max(round(open_.cla - solve.unaccompanied_in_care(template, profile.population)),
                     1)
    cla_k = solve.care_multiplier(template, flows.cla, cla_others, "open.cla")
    t_init = template.initial_state
    diff: dict[str, Any] = {
        "name": profile.name,
        "description": profile.description or (
            f"{profile.name}: a council of {profile.population:,} children, from its own "
            f"figures ({profile.source}, year ending 31 March {profile.year})."),
        "population": profile.population,
        "demand": {
            "contacts_per_10k": round(per_year["contacts"] / profile.population * 10_000, 3),
            "front_door": {"referral_rate": round(referrals * (1 - f) / per_year["contacts"],
                                                  5)},
        },
        "pathway": {
            "assessment": {"outcomes": {k: round(v, 5) for k, v in outcomes.items()}},
            "cin": {"duration": {"multiplier": round(
                p.cin.duration.get("multiplier", 1.0) * cin_k, 4)}},
            "cp": {"duration": {"multiplier": round(
                p.cp.duration.get("multiplier", 1.0) * cp_k, 4)}},
            "cla": {"duration": {"multiplier": round(
                p.cla.duration.get("multiplier", 1.0) * cla_k, 4)}},
        },
        "initial_state": {
            "assessment": round(t_init.assessment * flows.assessments / t_flows.assessments),
            "s47": round(t_init.s47 * flows.s47 / t_flows.s47),
            "cin": open_.cin, "cp": open_.cp, "cla": cla_others,
            "closed_returning": round(t_init.closed_returning * referrals / t_referrals),
        },
        "local_figures": local_figures(profile),
    }
    diff["structure"] = {"case_holding_fte": round(
        profile.case_holding_fte or _caseload_sized_fte(template, diff["initial_state"]), 1)}
    costs = _costs(profile, template_raw)
    if costs:
        diff.update(costs)
    full = validate(deep_merge(template_raw, diff), f"{profile.name} (solved)")
    return diff, full


def _caseload_sized_fte(template: Scenario, initial: dict[str, int]) -> float:
    """Case-holding capacity that keeps the template's cases per worker at the council's
    own open caseload (the template's capacity x council open cases / template's)."""
    t_init = template.initial_state.model_dump()
    stages = ("assessment", "s47", "cin", "cp", "cla")
    ratio = sum(initial[s] for s in stages) / max(sum(t_init[s] for s in stages), 1)
    teams = [t.model_dump() for t in template.structure.teams]
    roles = {k: v.model_dump() for k, v in template.workforce.roles.items()}
    return case_holding_fte(teams, roles) * ratio


def local_figures(profile: Profile) -> dict[str, Any]:
    """The profile's figures as ``local_figures`` (schema/local.py)."""
    y, src = profile.year, profile.source
    m = profile.per_month
    return {
        "contacts": {"values": {y: m.contacts * 12}, "source": src},
        "referrals": {"values": {y: m.referrals * 12}, "source": src},
        "s47_enquiries": {"values": {y: m.strategy_meetings * 12},
                          "source": f"{src} (strategy meetings)"},
        "cin_open": {"values": {y: profile.open.cin}, "source": src},
        "cp_open": {"values": {y: profile.open.cp}, "source": src},
        "cla_open": {"values": {y: profile.open.cla}, "source": src},
    }


def _costs(profile: Profile, template_raw: dict[str, Any]) -> dict[str, Any]:
    c = profile.costs
    out: dict[str, Any] = {}
    if c.role_weekly_gbp:
        roles = template_raw.get("workforce", {}).get("roles", {})
        unknown = sorted(set(c.role_weekly_gbp) - set(roles))
        if unknown:
            raise solve.SolveError(f"costs.role_weekly_gbp: role(s) not in the template: "
                                   f"{', '.join(unknown)}")
        out["workforce"] = {"roles": {r: {"weekly_cost_gbp": v}
                                      for r, v in c.role_weekly_gbp.items()}}
    costs: dict[str, Any] = {}
    if c.placement_weekly_gbp:
        costs["placement_weekly_gbp"] = dict(c.placement_weekly_gbp)
    if c.price_year is not None:
        costs["price_year"] = c.price_year
    if c.sources:
        costs["sources"] = c.sources
    if costs:
        out["costs"] = costs
    return out


def relative_template(profile: Profile, profile_path: str | Path, out: str | Path) -> str:
    """The template's path relative to the written scenario, for its ``extends:``."""
    return os.path.relpath(template_path(profile, profile_path), Path(out).resolve().parent)
