"""Measures that need more than counting: changes of worker year by year, money and time.

Kept apart from kpis.py, which assembles the KPI row, because these walk every child's
worker history or integrate the weekly accounts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from simulation.engine.recorder import Child
from simulation.outputs.histories import CAUSES, NO_CAUSE, Histories, histories
from simulation.randomness.distributions import DAYS_PER_YEAR

# Causes of a change of worker (simulation.outputs.histories.CAUSES). All but
# "unallocated" map onto the DfE reasons (simulation.outputs.reasons: handover = routine
# transfer between teams; departure and role_change, a move inside the council,
# = departures and other); "unallocated" is a period without a worker, counted as a
# change so that leaving children unallocated never looks stable.
UNALLOCATED = CAUSES.index("unallocated")
# A wait for a worker shorter than this is not a period unallocated for the measures.
MIN_GAP_DAYS = 1.0


def worker_changes(children: Iterable[Child] | Histories, years: int,
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

    Counted on the flat arrays of ``histories`` in (child, year) cells: a child's
    workers in a year are the distinct workers whose episodes overlap it, plus one
    "nobody" per period unallocated that overlaps it.
    """
    h = histories(children)
    e = h.episodes
    # -- worker episodes: the years each overlaps, and the changes they began
    first = np.maximum(_year_of(e.start), 0)
    final = np.where(np.isnan(e.end), years - 1, np.minimum(_year_of(e.end), years - 1))
    began = (e.cause != NO_CAUSE) & (first < years) & (e.start >= 0)
    changes = np.bincount(first[began] * len(CAUSES) + e.cause[began],
                          minlength=years * len(CAUSES)).reshape(years, len(CAUSES))
    total, known = int(began.sum()), int(e.known[began].sum())
    row, year = _spread(first, final)
    worker = e.worker[row].astype(np.int64) - e.worker.min(initial=0)
    width = int(worker.max(initial=0)) + 1  # (cell, worker) pairs as one integer each
    cell = e.child[row] * np.int64(years) + year  # cell = child * years + year
    held_cells = np.unique(cell * width + worker) // width  # a cell per distinct worker
    del row, year, worker, cell
    # -- periods without a worker: each is one more worker in every year it overlaps
    gap_child, gap_start, gap_end = _periods_unallocated(h, years, pending)
    gap_first = np.maximum(_year_of(gap_start), 0)
    gap_final = np.minimum(_year_of(gap_end), years - 1)
    gap_began = (gap_first < years) & (gap_start >= 0)
    changes[:, UNALLOCATED] += np.bincount(gap_first[gap_began], minlength=years)
    row, year = _spread(gap_first, gap_final)
    overlap = (np.minimum(gap_end[row], (year + 1) * DAYS_PER_YEAR)
               - np.maximum(gap_start[row], year * DAYS_PER_YEAR))
    # bincount adds in row order, as the loop over children and years did
    unallocated_days = np.bincount(year, weights=np.maximum(overlap, 0.0), minlength=years)
    gap_cells = gap_child[row] * np.int64(years) + year
    waited = np.bincount(np.unique(gap_cells) % years, minlength=years).astype(float)
    # -- per year, over the children who had a worker (or nobody) in it: the cells
    cells, workers = np.unique(np.concatenate([held_cells, gap_cells]), return_counts=True)
    child, year = np.divmod(cells, years)
    many = workers >= 3
    held = np.bincount(year, minlength=years).astype(float)
    three_plus = np.bincount(year[many], minlength=years).astype(float)
    cla_end, cla_three_plus = np.zeros(years), np.zeros(years)
    for y in range(years):
        in_year = year == y
        looked_after = h.in_place_on((y + 1) * DAYS_PER_YEAR - 1e-9, "cla")[child[in_year]]
        cla_end[y] = np.count_nonzero(looked_after)
        cla_three_plus[y] = np.count_nonzero(looked_after & many[in_year])
    changes = changes.astype(float)
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


def _year_of(days: np.ndarray) -> np.ndarray:
    """The simulated year (0, 1, ...) a day falls in, as ``int(day // DAYS_PER_YEAR)``;
    NaN days read as year 0 (callers replace them)."""
    return np.nan_to_num(np.floor_divide(days, DAYS_PER_YEAR)).astype(np.int64)


def _spread(first: np.ndarray, final: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, year) for every year from ``first`` to ``final`` of each row, rows in order
    and years ascending within a row (none where final < first)."""
    span = np.maximum(final - first + 1, 0)
    row = np.repeat(np.arange(len(span)), span)
    step = np.arange(len(row)) - np.repeat(np.cumsum(span) - span, span)
    return row, first[row] + step


def _periods_unallocated(h: Histories, years: int, pending: Iterable[tuple[Child, float]]
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(child, start, end) of every wait of ``MIN_GAP_DAYS`` or more: the finished ones,
    then those still running at the horizon, in the children's order."""
    horizon = years * DAYS_PER_YEAR
    keep = h.gap_end - h.gap_start >= MIN_GAP_DAYS
    child, start, end = h.gap_child[keep], h.gap_start[keep], h.gap_end[keep]
    running = [(c.id, requested) for c, requested in pending]
    if running:
        position = dict(zip(h.ids.tolist(), range(h.size), strict=True))
        found = [(position[cid], requested) for cid, requested in running if cid in position
                 and horizon - requested >= MIN_GAP_DAYS]
        if found:
            more_child, more_start = (np.array(v) for v in zip(*found, strict=True))
            child = np.concatenate([child, more_child])
            start = np.concatenate([start, more_start.astype(float)])
            end = np.concatenate([end, np.full(len(found), horizon)])
            order = np.argsort(child, kind="stable")  # a child's running wait comes last
            child, start, end = child[order], start[order], end[order]
    return child, start, end


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
