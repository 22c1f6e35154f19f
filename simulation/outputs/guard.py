"""A run checks itself before anyone reads its numbers.

Validation keeps bad input out, but a model fault (or an input no check foresaw) could
still lose a child or produce an infinite cost. Both would be read as findings, so a run
that breaks either rule raises RunGuardError instead of returning: the command exits
non-zero with the reason, and a batch records the replication as failed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from simulation.outputs.histories import Histories, histories
from simulation.outputs.kpis import KPI_INFO
from simulation.scenario import PLACES

# KPIs that are always defined (totals and stocks); the rest are ratios or medians that
# are NaN when nothing was there to measure (no assessment ended in a short run).
_ALWAYS_DEFINED_KINDS = ("count", "per_10k")
_ALWAYS_DEFINED = ("staff_cost_gbp", "placement_cost_gbp", "total_cost_gbp")


class RunGuardError(RuntimeError):
    """A finished run broke conservation or produced a non-finite KPI."""


def conservation_problems(children: list[Any] | Histories,
                          counts: dict[str, int]) -> list[str]:
    """Every simulated child is in exactly one place, and the live counts agree."""
    h = histories(children)
    codes = h.spells.codes  # the model's places are codes 0 .. len(PLACES) - 1
    problems = []
    placed = np.bincount(h.places, minlength=len(codes))
    lost = h.ids[h.places >= len(PLACES)].tolist()
    if lost:
        problems.append(f"{len(lost)} child(ren) in no place at the end (ids "
                        f"{', '.join(map(str, lost[:5]))}{', ...' if len(lost) > 5 else ''})")
    wrong = {p: (counts.get(p, 0), int(placed[codes[p]])) for p in PLACES
             if counts.get(p, 0) != placed[codes[p]]}
    if wrong:
        problems.append("place counts disagree with the children: " + ", ".join(
            f"{p} {n} counted, {m} there" for p, (n, m) in wrong.items()))
    s = h.spells
    moved = s.count > 0
    ends = int(np.count_nonzero(s.place[s.offset[moved] + s.count[moved] - 1]
                                != h.places[moved]))
    if ends:
        problems.append(f"{ends} child(ren) whose last move is not where they are")
    return problems


def kpi_problems(kpis: dict[str, float]) -> list[str]:
    """KPIs that are infinite, or NaN where the KPI is always defined."""
    problems = []
    for name, value in kpis.items():
        if not isinstance(value, int | float) or math.isfinite(value):
            continue
        info = KPI_INFO.get(name)
        defined = name in _ALWAYS_DEFINED or (info is not None
                                              and info.kind in _ALWAYS_DEFINED_KINDS)
        if math.isinf(value) or defined:
            problems.append(f"KPI {name} is {value}")
    return problems


def check_run(children: list[Any] | Histories, counts: dict[str, int], kpis: dict[str, float],
              what: str) -> None:
    """Raise RunGuardError naming every broken rule of a finished run."""
    problems = conservation_problems(children, counts) + kpi_problems(kpis)
    if problems:
        raise RunGuardError(f"{what}: the run is not usable: {'; '.join(problems)}")
