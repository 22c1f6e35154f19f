"""Kaplan-Meier for durations cut off by the extract's end (right-censored) and started
before its first year (left-truncated: delayed entry).

An episode still open at the last 31 March is censored, not short: taking the mean of the
closed ones alone under-states long stays. Episodes that began before the first year seen
only enter the risk set from the window's start (otherwise long ones are over-counted).
Durations are written as ``quantiles`` distributions read off the survival curve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRID = (0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95)


@dataclass(frozen=True)
class Survival:
    times: np.ndarray      # distinct event times
    survival: np.ndarray   # S just after each time
    events: int
    censored: int
    variance: np.ndarray | None = None  # Greenwood's, of S at each time

    def quantile(self, p: float) -> float:
        """First time with S <= 1 - p; beyond the curve, an exponential tail fitted to its
        second half (in log-survival)."""
        hit = np.flatnonzero(self.survival <= 1 - p + 1e-12)
        if hit.size:
            return float(self.times[hit[0]])
        s_last, t_last = float(self.survival[-1]), float(self.times[-1])
        mid = np.flatnonzero(self.survival <= np.sqrt(s_last))
        t_mid = float(self.times[mid[0]]) if mid.size else 0.0
        s_mid = float(self.survival[mid[0]]) if mid.size else 1.0
        span = max(t_last - t_mid, 1e-9)
        hazard = max((np.log(s_mid) - np.log(s_last)) / span, 1e-9)
        return t_last + float(np.log(s_last / (1 - p))) / hazard


def kaplan_meier(duration: np.ndarray, observed: np.ndarray,
                 entry: np.ndarray | None = None) -> Survival:
    """KM estimate; ``entry`` (>= 0) is the time each one came under observation."""
    duration = np.asarray(duration, float)
    observed = np.asarray(observed, bool)
    entry = np.zeros_like(duration) if entry is None else np.asarray(entry, float)
    times, deaths = np.unique(duration[observed], return_counts=True)
    d_sorted, e_sorted = np.sort(duration), np.sort(entry)
    at_risk = (len(duration) - np.searchsorted(d_sorted, times, side="left")) \
        - (len(entry) - np.searchsorted(e_sorted, times, side="left"))
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(at_risk > 0, 1 - deaths / np.maximum(at_risk, 1), 1.0)
        green = np.where(at_risk > deaths, deaths / (at_risk * (at_risk - deaths)), 0.0)
    survival = np.cumprod(factor)
    return Survival(times, survival, int(observed.sum()), int((~observed).sum()),
                    survival**2 * np.cumsum(green))


def quantile_points(s: Survival, scale: float = 1.0, digits: int = 1) -> dict[float, float]:
    """``points`` for a quantiles distribution (in days / ``scale``); empty if no end seen."""
    if not s.times.size:
        return {}
    values = [max(float(s.times[0]) if s.times.size else 0.0, 0.0)]
    values += [s.quantile(p) for p in GRID]
    values.append(max(s.quantile(0.995), float(s.times[-1])))
    out: dict[float, float] = {}
    last = 0.0
    for p, v in zip((0.0, *GRID, 1.0), values, strict=True):
        last = max(last, round(v / scale, digits))
        out[p] = last
    return out
