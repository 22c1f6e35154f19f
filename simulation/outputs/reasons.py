"""Why looked-after children changed social worker, measured as the DfE measures it.

The DfE's reasons (Stability measures for children looked after in England, data set
"Social worker reasons", EES 77d3d950) are counted for one population: children looked
after on 31 March who had been looked after for at least two years ("CLA 2 years on 31
March"), over the year and the previous two years. Counted over every looked-after child
instead, the model's figure is dominated by the move into the care team of children who
then leave care within months, which the DfE population leaves out: that measurement
difference, not a missing mechanism, was most of the old gap in routine transfers (44%
against 19%; docs/calibration.md).

``cla_change_shares`` takes that population at each year end from the third on (so that
the three-year window lies inside the run; shorter runs use the years they have), pools
the changes of worker each child had while looked after in the window, and returns their
shares over the four published categories. The model's causes map onto them as follows:

    routine transfer between teams    handover
    caseload management               caseload_management
    absence cover                     absence
    departures and other              departure, role_change

Periods without a worker (``unallocated``) are not DfE reasons and are left out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from simulation.randomness.distributions import DAYS_PER_YEAR

# The model's cause -> the DfE category (named by the cla_change_share_* KPI suffix).
DFE_CATEGORY = {
    "handover": "handover",
    "caseload_management": "caseload_management",
    "absence": "absence",
    "departure": "departure",
    "role_change": "departure",
}
CATEGORIES = ("handover", "departure", "absence", "caseload_management")
YEARS_LOOKED_AFTER = 2.0   # the population: looked after for at least this long on 31 March
WINDOW_YEARS = 3.0         # the changes counted: the year and the previous two


def _care_start_at(spells: list[tuple[str, float]], day: float) -> float | None:
    """When the child's current spell of care began, if they are looked after on ``day``."""
    start = None
    for place, since in spells:
        if since > day:
            break
        start = since if place == "cla" else None
    return start


def cla_change_shares(children: Iterable[Any], years: int) -> dict[str, float]:
    """``cla_change_share_*``: the DfE population's changes of worker by category."""
    first_end = min(3, max(years, 1))
    year_ends = [y * DAYS_PER_YEAR for y in range(first_end, years + 1)]
    counts = dict.fromkeys(CATEGORIES, 0)
    for child in children:
        if not child.held or not any(p == "cla" for p, _ in child.spells):
            continue
        for end in year_ends:
            start = _care_start_at(child.spells, end)
            if start is None or end - start < min(YEARS_LOOKED_AFTER * DAYS_PER_YEAR, end):
                continue
            window = max(end - WINDOW_YEARS * DAYS_PER_YEAR, 0.0)
            for _, day, _, cause, _ in child.held:
                category = DFE_CATEGORY.get(cause)
                if category is not None and window <= day <= end and \
                        _care_start_at(child.spells, day) is not None:
                    counts[category] += 1
    total = sum(counts.values())
    return {f"cla_change_share_{c}": counts[c] / total if total else math.nan
            for c in CATEGORIES}
