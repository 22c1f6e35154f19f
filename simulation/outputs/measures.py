"""Measures that need more than counting: changes of worker year by year, money and time.

Kept apart from kpis.py, which assembles the KPI row, because these walk every child's
worker history or integrate the weekly accounts.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from operator import itemgetter
from typing import Any

import numpy as np

from simulation.engine.recorder import Child
from simulation.randomness.distributions import DAYS_PER_YEAR

# Causes of a change of worker. All but "unallocated" map onto the DfE reasons
# (simulation.outputs.reasons: handover = routine transfer between teams; departure and
# role_change, a move inside the council, = departures and other); "unallocated" is a
# period without a worker, counted as a change so that leaving children unallocated never
# looks stable.
CAUSES = ("handover", "departure", "absence", "caseload_management", "unallocated",
          "role_change")
# A wait for a worker shorter than this is not a period unallocated for the measures.
MIN_GAP_DAYS = 1.0
_spell_start = itemgetter(1)  # a spell is (place, day begun)


def worker_changes(children: Iterable[Child], years: int,
                   pending: Iterable[tuple[Child, float]] = ()) -> dict[str, float]:
    """Per simulated year, over children who needed a worker in it (held one or waited
    for one): changes (all and by cause), the share with 3+ workers, the DfE stability
    measure for looked-after children (looked after at the year end, 3+ workers in the
    year), child-days unallocated and the share who waited. Years are averaged.

    A period of ``MIN_GAP_DAYS`` or more without an allocated worker counts as one
    worker ("nobody") in the year and as one change (cause ``unallocated``), so a child
    left waiting is never counted as more stable. ``pending`` are the waits still
    running at the end (child, day requested). (The causes of looked-after children's
    changes, ``cla_change_share_*``, are measured on the DfE's population:
    ``simulation.outputs.reasons``.)
    """
    horizon = years * DAYS_PER_YEAR
    # counted in Python lists (a numpy element update costs more than the whole
    # Python one), turned into arrays at the end
    held = [0] * years
    changes = [[0] * len(CAUSES) for _ in range(years)]
    three_plus = [0] * years
    cla_end = [0] * years
    cla_three_plus = [0] * years
    unallocated_days = [0.0] * years
    waited = [0] * years
    cause_index = {c: i for i, c in enumerate(CAUSES)}
    unallocated = cause_index["unallocated"]
    running: dict[int, list[float]] = {}
    for child, requested in pending:
        running.setdefault(child.id, []).append(requested)
    known = total = 0
    last_year = years - 1
    cla = "cla"
    year = DAYS_PER_YEAR
    # the last moment of each year: where the child was then is their last spell begun
    year_last = [(y + 1) * DAYS_PER_YEAR - 1e-9 for y in range(years)]
    for child in children:
        if child.gaps or child.id in running:
            gaps = [(a, b) for a, b in child.gaps if b - a >= MIN_GAP_DAYS]
            gaps += [(a, horizon) for a in running.get(child.id, ())
                     if horizon - a >= MIN_GAP_DAYS]
        else:
            gaps = []
        if not child.held and not gaps:
            continue
        spells = child.spells  # where the child was on a day: the last spell begun by then
        workers_in: dict[int, set[int]] = {}
        for wid, start, end, cause, was_known in child.held:
            first = int(start // year)
            if first < 0:
                first = 0
            final = last_year if end is None else int(end // year)
            if final > last_year:
                final = last_year
            if first == final:  # most worker episodes lie within one year
                if first in workers_in:
                    workers_in[first].add(wid)
                else:
                    workers_in[first] = {wid}
            else:
                for y in range(first, final + 1):
                    if y in workers_in:
                        workers_in[y].add(wid)
                    else:
                        workers_in[y] = {wid}
            if cause is not None and first <= last_year and start >= 0:
                changes[first][cause_index[cause]] += 1
                total += 1
                known += was_known
        for k, (start, end) in enumerate(gaps):
            first = max(int(start // DAYS_PER_YEAR), 0)
            final = min(int(end // DAYS_PER_YEAR), last_year)
            for y in range(first, final + 1):
                workers_in.setdefault(y, set()).add(-1 - k)
                overlap = min(end, (y + 1) * DAYS_PER_YEAR) - max(start, y * DAYS_PER_YEAR)
                unallocated_days[y] += max(overlap, 0.0)
            if first <= last_year and start >= 0:
                changes[first][unallocated] += 1
        if gaps:
            waited_years = {y for start, end in gaps
                            for y in range(max(int(start // DAYS_PER_YEAR), 0),
                                           min(int(end // DAYS_PER_YEAR), last_year) + 1)}
            for y in waited_years:
                waited[y] += 1
        for y, workers in workers_in.items():
            held[y] += 1
            many = len(workers) >= 3
            three_plus[y] += many
            i = bisect.bisect_right(spells, year_last[y], key=_spell_start) - 1
            if i >= 0 and spells[i][0] == cla:
                cla_end[y] += 1
                cla_three_plus[y] += many
    held, three_plus, waited = np.array(held, float), np.array(three_plus, float), \
        np.array(waited, float)
    cla_end, cla_three_plus = np.array(cla_end, float), np.array(cla_three_plus, float)
    changes = np.array(changes, float)
    unallocated_days = np.array(unallocated_days, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_child = changes / held[:, None]
        out = {
            "sw_changes_per_child": _mean(per_child.sum(axis=1)),
            "children_3plus_workers_rate": _mean(three_plus / held),
            "cla_3plus_workers_rate": _mean(cla_three_plus / cla_end),
            "changes_to_known_worker_rate": known / total if total else math.nan,
            "children_with_worker_per_year": _mean(held),
            "child_days_unallocated_per_child": _mean(unallocated_days / held),
            "children_waited_rate": _mean(waited / held),
        }
        for i, cause in enumerate(CAUSES):
            out[f"sw_changes_{cause}"] = _mean(per_child[:, i])
    return out


def _mean(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else math.nan


def _weekly_integral(days: np.ndarray, weekly: np.ndarray) -> float:
    """Total over the run of a weekly amount sampled at snapshot days (left sums)."""
    if len(days) < 2:
        return 0.0
    return float(np.sum(weekly[:-1] * np.diff(days) / 7.0))


def money_and_time(accounts: list[tuple[Any, ...]], workforce: list[tuple[Any, ...]],
                   departures: list[tuple[Any, ...]], years: float) -> dict[str, float]:
    """Costs a year, face-to-face time, and the workforce rates, from the weekly accounts."""
    a = np.array(accounts, dtype=float).reshape(-1, 9)
    days, perm, agency, placements, direct, needed, cases, direct_f, cases_f = a.T
    staff = _weekly_integral(days, perm + agency) / years
    placement = _weekly_integral(days, placements) / years
    wf = _team_totals(workforce)
    in_post = wf["permanent"] + wf["agency"]
    with np.errstate(invalid="ignore", divide="ignore"):
        left_fte = sum(fte for _, _, is_agency, fte in departures if not is_agency)
        mean_permanent = float(np.mean(wf["permanent"])) if len(wf["permanent"]) else 0.0
        return {
            "face_to_face_hours_per_child_week": _mean(direct / cases),
            "face_to_face_hours_with_factors_per_child_week": _mean(direct_f / cases_f),
            "face_to_face_hours_without_factors_per_child_week":
                _mean((direct - direct_f) / (cases - cases_f)),
            "direct_time_coverage_rate": _mean(direct / needed) if needed.any() else math.nan,
            "staff_turnover_rate": left_fte / years / mean_permanent if mean_permanent
            else math.nan,
            "agency_share": _mean(wf["agency"] / in_post),
            "vacancy_rate": _mean((wf["posts"] - wf["permanent"]) / wf["posts"]),
            "staff_cost_gbp": staff,
            "placement_cost_gbp": placement,
            "total_cost_gbp": staff + placement,
        }


def _team_totals(rows: list[tuple[Any, ...]]) -> dict[str, np.ndarray]:
    """Workforce composition summed over teams, one value per snapshot day."""
    if not rows:
        empty = np.array([])
        return {"posts": empty, "permanent": empty, "agency": empty}
    arr = np.array([r[2:5] for r in rows], dtype=float)
    day = np.array([r[0] for r in rows])
    _, idx = np.unique(day, return_inverse=True)
    sums = np.zeros((idx.max() + 1, 3))
    np.add.at(sums, idx, arr)
    return {"posts": sums[:, 0], "permanent": sums[:, 1], "agency": sums[:, 2]}
