"""Dates in a run: assumed effects and establishment changes that start part-way through.

A strategy team projects years ahead with a policy or a new structure starting at a date.
Two kinds of date reach the engine here (demand's own dates, ``demand.growth`` and
``demand.changes``, are drawn with the contacts, ``contacts.draw_contacts``):

* ``effects.*.*.starts_at_years``: at each date the pathway moves to its next period
  (``routing.Routes.advance``) and every child's pathway is renewed, so decisions and
  durations drawn from then on meet the effect; durations already running keep their
  length. The other numbers a dated effect may target are read again from then on
  (``switch``): re-referrals at each closure, hours, time split and costs at each weekly
  account. Before the first date nothing differs from a run without the dated effects:
  the same uniforms meet the same numbers (common random numbers);
* ``structure.changes``: posts open or close at their date (``models.establishment``).

A date at or after the end of the run is refused by the schema (``run.years``); a run
shortened with ``--years`` warns instead (``dates_beyond``).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from models.establishment import Establishment
from simulation.randomness.distributions import DAYS_PER_YEAR, build_distribution
from simulation.scenario import Scenario
from simulation.scenario.effects import active_effects, apply_effects


def start(sim: Any) -> None:
    """Start the date processes of a built ``journey.Simulation`` (none if it has no dates),
    after day 0's staffing and before its caseload."""
    env = sim.env
    sim.establishment = None  # models.establishment.Establishment when staffing changes
    if sim.routes.dates:
        env.process(_effect_dates(sim))
    changes = [c for c in sim.effective.structure.changes
               if c.at_years * DAYS_PER_YEAR < sim.horizon]
    if changes:
        sim.establishment = Establishment(sim.effective, sim.alloc, sim.workforce, sim.streams)
        env.process(_staff_dates(sim, sim.establishment))


def _effect_dates(sim: Any) -> Generator[Any, Any, None]:
    env, routes = sim.env, sim.routes
    for at in routes.dates:
        day = at * DAYS_PER_YEAR
        if day >= sim.horizon:
            return
        if day > env.now:
            yield env.timeout(day - env.now)
        routes.advance()
        for child in sim.rec.children:  # those met later are built in the new period
            if not child.uasc:
                child.route = sim._route(child)
        switch(sim, apply_effects(sim.scenario, at_years=at))


def switch(sim: Any, now: Scenario) -> None:
    """From now on, the numbers outside the pathway that a dated effect may change
    (``schema.effect.DATED_TARGETS``) are those of ``now``: re-referrals, and what the
    weekly accounts read (role hours, time split and costs, hours cases need, placement
    costs)."""
    sim.re_referral_p = now.demand.re_referral.probability
    sim.d_re_referral = build_distribution(now.demand.re_referral.delay)
    sim.accounts.switch(now.workforce.roles, now.workforce.hours_needed_per_case_week,
                        now.costs.placement_weekly_gbp)


def _staff_dates(sim: Any, establishment: Establishment) -> Generator[Any, Any, None]:
    env = sim.env
    for change in establishment.changes:
        day = change.at_years * DAYS_PER_YEAR
        if day >= sim.horizon:
            return
        if day > env.now:
            yield env.timeout(day - env.now)
        establishment.apply_change(change, env.now)


def dates_beyond(scenario: Scenario, years: float) -> list[str]:
    """Warnings for dates a run of ``years`` years never reaches (``--years`` shorter than
    the scenario's own ``run.years``): what the run then does not show."""
    lines = [f"assumed effect {name} starts at year {e.starts_at_years:g}, after this "
             f"{years:g}-year run: it has no effect here"
             for name, e in active_effects(scenario) if e.dated and e.starts_at_years >= years]
    lines += [f"structure.changes.{i} ({c.reason or c.role}) starts at year {c.at_years:g}, "
              f"after this {years:g}-year run: it has no effect here"
              for i, c in enumerate(scenario.structure.changes) if c.at_years >= years]
    lines += [f"demand.changes.{i} ({c.reason or 'a step in demand'}) starts at year "
              f"{c.at_years:g}, after this {years:g}-year run: it has no effect here"
              for i, c in enumerate(scenario.demand.changes) if c.at_years >= years]
    return lines
