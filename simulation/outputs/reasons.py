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
from operator import itemgetter
from typing import Any

from simulation.randomness.distributions import DAYS_PER_YEAR

_place_of = itemgetter(0)  # a spell is (place, day begun)

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


def _care_start_at(spells: list[tuple[str, float]], day: float) -> float | None:
    """When the child's current spell of care began, if they are looked after on ``day``."""
    start = None
    for place, since in spells:
        if since > day:
            break
        start = since if place == "cla" else None
    return start


def cla_change_shares(children: Iterable[Any], years: int) -> dict[str, float]:
    """``cla_change_share_*``: the DfE population's worker episodes by category."""
    year_ends = [y * DAYS_PER_YEAR for y in range(min(FIRST_YEAR_END, max(years, 1)), years + 1)]
    counts = dict.fromkeys(CATEGORIES, 0)
    for child in children:
        if not child.held or "cla" not in map(_place_of, child.spells):  # (a C-level scan)
            continue
        for end in year_ends:
            window = max(end - YEARS_LOOKED_AFTER * DAYS_PER_YEAR, 0.0)
            start = _care_start_at(child.spells, end)
            if start is None or start > window:
                continue
            for _, day, until, cause, _ in child.held:
                if day > end or (until is not None and until <= window) or \
                        cause == "unallocated" or (cause is None and day <= 0.0):
                    continue
                counts[DFE_CATEGORY[cause]] += 1
    total = sum(counts.values())
    return {f"cla_change_share_{c}": counts[c] / total if total else math.nan
            for c in CATEGORIES}
