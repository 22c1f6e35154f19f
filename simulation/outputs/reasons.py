"""Why looked-after children got a new social worker, counted as the DfE counts it.

The DfE's reasons (Stability measures for children looked after in England, data set
"Social worker reasons", EES 77d3d950, 2025) are published for "CLA 2 years on 31 March":
children looked after on 31 March who had been looked after throughout the previous two
years. Each social worker episode of theirs in those two years is counted once with the
reason it began, "including the change to the social worker already assigned to a child
at the beginning of the ... previous 2 years (1 April)". Counted instead over every change
of every looked-after child, the model's figure is dominated by the move into the care
team of children who then leave care within months, whom the DfE population leaves out:
that measurement difference, not a missing mechanism, was most of the old gap in routine
transfers (44% against 19%; docs/calibration.md).

``cla_change_shares`` takes that population at each year end from the third on (earlier
windows would be filled with the day-0 caseload's workers; a shorter run uses the year
ends it has, with the window cut at day 0), counts each child's worker episodes that
overlap the two years to the year end, pools them over the year ends, and returns their
shares over the four published categories. The model's causes map onto them as follows:

    routine transfer between teams    handover
    caseload management               caseload_management
    absence cover                     absence
    departures and other              departure, role_change, and a first worker
                                      (cause None: the DfE's "first contact or re-referral")

Left out: periods without a worker (``unallocated``, not a DfE reason) and the workers
allocated on day 0 to the initial caseload, whose reason the run cannot know.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from simulation.outputs.histories import CAUSES, NO_CAUSE, Histories, histories
from simulation.randomness.distributions import DAYS_PER_YEAR

# The model's cause -> the DfE category (named by the cla_change_share_* KPI suffix).
DFE_CATEGORY: dict[str | None, str] = {
    "handover": "handover",
    "caseload_management": "caseload_management",
    "absence": "absence",
    "departure": "departure",
    "role_change": "departure",
    None: "departure",
}
CATEGORIES = ("handover", "departure", "absence", "caseload_management")
YEARS_LOOKED_AFTER = 2.0   # the population, and the window: looked after throughout it
FIRST_YEAR_END = 3


def cla_change_shares(children: Iterable[Any] | Histories, years: int) -> dict[str, float]:
    """``cla_change_share_*``: the DfE population's worker episodes by category."""
    year_ends = [y * DAYS_PER_YEAR for y in range(min(FIRST_YEAR_END, max(years, 1)), years + 1)]
    h = histories(children)
    e, s = h.episodes, h.spells
    # each episode's DfE category ("unallocated" has none: it is never counted)
    category = np.array([CATEGORIES.index(DFE_CATEGORY[c]) if c in DFE_CATEGORY else 0
                         for c in (*CAUSES, None)])[e.cause]  # NO_CAUSE (-1) is the last
    # not a DfE reason: a period without a worker, or a worker allocated on day 0
    counted = (e.cause != CAUSES.index("unallocated")) & ~((e.cause == NO_CAUSE)
                                                           & (e.start <= 0.0))
    counts = np.zeros(len(CATEGORIES), dtype=np.int64)
    for end in year_ends:
        window = max(end - YEARS_LOOKED_AFTER * DAYS_PER_YEAR, 0.0)
        row = h.last_spell(end)  # looked after at the year end since the window's start
        in_care = (row >= 0) & (s.place[row] == s.code("cla")) & (s.day[row] <= window) \
            if len(s.day) else row >= 0
        # episodes overlapping the window (open ones NaN: never ended before it)
        overlap = in_care[e.child] & counted & (e.start <= end) & ~(e.end <= window)
        counts += np.bincount(category[overlap], minlength=len(CATEGORIES))
    total = int(counts.sum())
    return {f"cla_change_share_{c}": int(counts[i]) / total if total else math.nan
            for i, c in enumerate(CATEGORIES)}
