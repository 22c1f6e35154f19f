"""What happened in a run, recorded cheaply as it happens and tabulated at the end.

During the run the recorder only appends tuples and bumps counters (the hot path);
``children_table``, ``stocks_table`` and friends turn them into tidy DataFrames once.
Logs of plain days or durations are compact arrays of doubles (``array('d')``: 8 bytes
an entry rather than a list's pointer and float object, ~32), read like lists.
"""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np
import pandas as pd

from simulation.scenario import PLACES, STAGES
from simulation.scenario.schema.workforce import PARENTAL_FACTORS

# children.parquet: adult practitioners' face-to-face hours with the family, by factor
ADULT_HOURS_COLUMNS = tuple(f"adult_hours_{f}" for f in PARENTAL_FACTORS)
NO_HOURS = (0.0,) * len(PARENTAL_FACTORS)


class Child:
    """A child known to children's social care: their attributes, luck and whereabouts."""

    __slots__ = (
        "id", "arrival", "birth_day", "locality", "source", "luck", "place", "spells",
        "worker", "request", "change_cause", "referral_day", "referrals", "initial", "held",
        "known", "factors", "cla_since", "gaps", "cp_plans", "cla_periods", "uasc",
        "adult_hours", "due_back", "route", "adult_entry",
    )

    def __init__(self, cid: int, arrival: float, birth_day: float, locality: int,
                 source: str, luck: Any, initial: bool = False, factors: int = 0) -> None:
        self.id = cid
        self.arrival = arrival
        self.birth_day = birth_day
        self.locality = locality
        self.source = source
        self.luck = luck
        self.place = ""
        self.spells: list[tuple[str, float]] = []
        self.worker = None
        self.request = None
        self.change_cause: str | None = None
        self.referral_day: float | None = None
        self.referrals = 0
        self.initial = initial
        # [worker id, from day, to day or None while held, cause or None, known before?]
        self.held: list[list[Any]] = []
        # workers who held or covered the case (None, like luck, once closed for good)
        self.known: set[int] | None = set()
        self.factors = factors             # bit mask of parental factors
        self.cla_since: tuple[float, str] | None = None  # current care episode
        self.gaps: list[tuple[float, float]] = []  # (from, to): waits for a worker over 0 days
        self.cp_plans = 0       # CP plans started so far (incl. ones before the run saw them)
        self.cla_periods = 0    # periods of care so far (likewise)
        self.uasc = False       # an unaccompanied asylum-seeking child
        self.due_back = False   # closed, and will be re-referred
        self.route: Any = None  # the pathway numbers they meet (engine.routing.Routing)
        self.adult_entry: Any = None  # (unit, its adult-hours ledger) while held there
        # adult practitioners' face-to-face hours by parental factor, once they had any
        self.adult_hours: list[float] | None = None


class Recorder:
    """Event lists and live counters for one run."""

    def __init__(self, years: float) -> None:
        self.horizon = years * 365.25
        self.children: list[Child] = []
        self.counts = dict.fromkeys(PLACES, 0)
        # each worker's team (a worker never changes team: one who moves is a new worker);
        # with the children's ``held`` records it gives ``allocations``
        self.worker_team: dict[int, str] = {}
        # (stage, day requested, days waited, allocated?)
        self.waits: list[tuple[str, float, float, bool]] = []
        # the days each kind of event happened
        self.events: dict[str, array[float]] = {k: array("d") for k in (
            "referral", "re_referral_12m", "referral_nfa", "assessment", "s47", "icpc",
            "cp_start", "cp_start_repeat", "cin_start", "cla_start", "cp_review")}
        self.assessment_working_days: array[float] = array("d")
        self.cp_lengths: array[float] = array("d")
        # (child id, start, end, placement, exit route)
        self.cla_episodes: list[tuple[int, float, float, str, str]] = []
        self.snapshots: list[tuple[float, str, int, int]] = []
        # (day, allocated cases, case-holding FTE, closed cases due to be re-referred,
        #  unaccompanied children looked after)
        self.caseload_snapshots: list[tuple[float, int, float, int, int]] = []
        self.returning = 0
        # who is held in which unit, and adult practitioners' hours per family
        # (models.accounts.WeeklyAccounts): told of every allocation and release
        self.adult_ledger: Any = None
        self.uasc_in_care = 0
        self.placements: dict[str, int] = {}
        # (day, permanent staff cost, agency staff cost, placement cost (all weekly),
        #  direct hours available, direct hours needed, allocated cases,
        #  direct hours to families with parental factors, allocated cases with factors)
        self.accounts: list[tuple[float, ...]] = []
        # (day, team, posts FTE, permanent FTE, agency FTE, away FTE, cases)
        self.workforce: list[tuple[Any, ...]] = []
        self.departures: list[tuple[float, str, bool, float]] = []  # (day, role, agency?, FTE)
        self.absences: list[tuple[float, float, str]] = []   # (day, days, leave|sickness)

    # --------------------------------------------------------------- hot path
    def move(self, child: Child, place: str, now: float) -> None:
        """Move ``child`` to ``place``; every child is in exactly one place."""
        counts, before = self.counts, child.place
        if before:
            counts[before] -= 1
        counts[place] += 1
        child.place = place
        child.spells.append((place, now))

    def on_allocate(self, child: Child, worker: Any, cause: str | None, now: float,
                    known: bool = False) -> None:
        wid, unit, ledger = worker.id, worker.unit, self.adult_ledger
        self.worker_team[wid] = unit.team.name
        child.held.append([wid, now, None, cause, known])
        if ledger is not None:  # None: an allocator driven without a simulation
            ledger.enter(child, unit)

    def on_release(self, child: Child, now: float) -> None:
        child.held[-1][2] = now
        ledger = self.adult_ledger
        if ledger is not None:
            ledger.leave(child)

    def on_wait_end(self, child: Child, stage: str, requested: float, waited: float,
                    allocated: bool) -> None:
        self.waits.append((stage, requested, waited, allocated))
        if waited > 0:
            child.gaps.append((requested, requested + waited))

    # --------------------------------------------------------------- tables
    @property
    def allocations(self) -> list[tuple[int, float, int, str, str | None]]:
        """Every allocation as (child id, day, worker id, team name, cause or None), by day
        (on the same day, by child). Made on demand from the children's ``held`` records
        rather than logged as it happens: a second copy of those records was ~1 MiB a
        simulated year, and no measure needs it during the run."""
        teams = self.worker_team
        rows = [(c.id, h[1], h[0], teams[h[0]], h[3]) for c in self.children for h in c.held]
        rows.sort(key=_day)
        return rows

    def children_table(self) -> pd.DataFrame:
        """One row per child: who they were, where they went, how many workers they had."""
        rows = []
        for c in self.children:
            stages = [p for p, _ in c.spells if p in STAGES]
            hours = c.adult_hours or NO_HOURS
            held = c.held
            rows.append((c.id, c.arrival, (c.arrival - c.birth_day) / 365.25, c.source,
                         c.locality, c.factors, c.initial, c.referrals,
                         ">".join(_dedupe(stages)), c.place,
                         c.spells[-1][1] if c.spells else np.nan, c.cp_plans, c.cla_periods,
                         c.uasc, *hours, len({h[0] for h in held}),
                         sum(h[3] is not None for h in held)))
        table = pd.DataFrame(rows, columns=[
            "child_id", "arrival_day", "age_at_arrival", "referral_source", "locality",
            "factors", "initial_caseload", "referrals", "stages", "final_place",
            "final_place_since", "cp_plans", "cla_periods", "unaccompanied",
            *ADULT_HOURS_COLUMNS, "workers", "sw_changes"])
        cla = pd.DataFrame(self.cla_episodes,
                           columns=["child_id", "start", "end", "placement", "exit"])
        cla["days"] = cla["end"] - cla["start"]
        days_in_care = cla.groupby("child_id")["days"].sum()
        table = table.join(days_in_care.rename("days_looked_after"), on="child_id")
        table["days_looked_after"] = table["days_looked_after"].fillna(0.0)
        return table

    def spells_table(self) -> pd.DataFrame:
        """Every stay of every child in a place, as [start, end) intervals."""
        ids, places, starts, ends = [], [], [], []
        horizon = self.horizon
        for c in self.children:
            sp = c.spells
            for i, (place, start) in enumerate(sp):
                ids.append(c.id)
                places.append(place)
                starts.append(start)
                ends.append(sp[i + 1][1] if i + 1 < len(sp) else horizon)
        return pd.DataFrame({"child_id": ids, "place": places, "start": starts, "end": ends})

    def stocks_table(self) -> pd.DataFrame:
        return pd.DataFrame(self.snapshots, columns=["day", "stage", "open", "unallocated"])

    def workforce_table(self) -> pd.DataFrame:
        return pd.DataFrame(self.workforce, columns=[
            "day", "team", "posts_fte", "permanent_fte", "agency_fte", "away_fte", "cases"])

    def allocations_table(self) -> pd.DataFrame:
        return pd.DataFrame(self.allocations,
                            columns=["child_id", "day", "worker_id", "team", "cause"])


def _day(row: tuple[Any, ...]) -> float:
    return row[1]


def _dedupe(seq: list[str]) -> list[str]:
    out: list[str] = []
    for s in seq:
        if not out or out[-1] != s:
            out.append(s)
    return out
