"""Batch statistics in one place: t intervals, paired differences, how many replications,
and a warm-up check.

Replications of a stochastic simulation are independent draws of each KPI, so a
Student-t interval of the mean is the honest summary. Scenarios share random numbers
(replication i of each uses the same seed), so differences are taken pair by pair,
which removes the shared noise and narrows the interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


def t_quantile(p: float, dof: float) -> float:
    """Student's t quantile. scipy.stats is imported here, on first use: it takes ~0.6 s
    to import, and a comparison needs it only once its replications are done (its parent
    imports it while they run; command-line start-up and the pool's workers never do)."""
    from scipy import stats

    return float(stats.t.ppf(p, dof))


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    half_width: float
    n: int


@dataclass(frozen=True)
class MSERResult:
    truncation_index: int
    truncation_fraction: float
    batches: int


def _clean(values: Sequence[float] | np.ndarray) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    return arr[~np.isnan(arr)]


def _interval(x: np.ndarray, confidence: float) -> Interval:
    n = len(x)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, math.nan, math.nan, math.nan, 1)
    sd = float(x.std(ddof=1))
    half = float(t_quantile(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n))
    return Interval(mean, mean - half, mean + half, half, n)


def mean_ci(values: Sequence[float] | np.ndarray, confidence: float = 0.95) -> Interval:
    """Student-t interval of the mean (NaNs dropped)."""
    return _interval(_clean(values), confidence)


def paired_difference_ci(baseline: Sequence[float], other: Sequence[float],
                         confidence: float = 0.95) -> Interval:
    """Interval of mean(other - baseline), pairing replication i with replication i."""
    a, b = np.asarray(baseline, float), np.asarray(other, float)
    if a.shape != b.shape:
        raise ValueError(f"paired series need equal lengths, got {len(a)} and {len(b)}")
    keep = ~(np.isnan(a) | np.isnan(b))
    return _interval(b[keep] - a[keep], confidence)


def welch_difference_ci(baseline: Sequence[float], other: Sequence[float],
                        confidence: float = 0.95) -> Interval:
    """Unpaired (Welch) interval of mean(other) - mean(baseline): what pairing improves on."""
    a, b = _clean(baseline), _clean(other)
    if len(a) < 2 or len(b) < 2:
        return Interval(float(b.mean() - a.mean()) if len(a) and len(b) else math.nan,
                        math.nan, math.nan, math.nan, min(len(a), len(b)))
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    diff = float(b.mean() - a.mean())
    if se == 0:
        return Interval(diff, diff, diff, 0.0, min(len(a), len(b)))
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(t_quantile(0.5 + confidence / 2, dof) * se)
    return Interval(diff, diff - half, diff + half, half, min(len(a), len(b)))


def relative_half_width(values: Sequence[float], confidence: float = 0.95) -> float:
    """CI half-width over |mean|: the precision of a KPI's estimate."""
    ci = mean_ci(values, confidence)
    if ci.n < 2:
        return math.nan
    if ci.mean == 0:
        return 0.0 if ci.half_width == 0 else math.inf
    return ci.half_width / abs(ci.mean)


def replications_needed(values: Sequence[float], relative_precision: float,
                        confidence: float = 0.95, cap: int | None = None) -> int:
    """Smallest n with t(n-1) s / sqrt(n) <= precision x |mean| (Law & Kelton's rule),
    from the current sample's mean and standard deviation."""
    x = _clean(values)
    if len(x) < 2:
        raise ValueError("need at least 2 replications to estimate the variance")
    mean, sd = abs(float(x.mean())), float(x.std(ddof=1))
    n = len(x)
    target = relative_precision * mean
    limit = cap if cap is not None else max(10 * n, 100_000)
    while n < limit:
        if t_quantile(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n) <= target:
            break
        n += 1
    return min(n, cap) if cap is not None else n


def mser5(series: Sequence[float] | np.ndarray) -> MSERResult:
    """MSER-5 (White 1997): the truncation point that minimises the standard error of the
    mean of what remains, over batch means of 5, searched in the first half."""
    x = np.asarray(series, dtype=float)
    if len(x) < 10:
        return MSERResult(0, 0.0, len(x) // 5)
    k = len(x) // 5
    batches = x[: k * 5].reshape(k, 5).mean(axis=1)
    # Suffix sums give every candidate's mean and squared deviations in one pass.
    suffix_sum = np.cumsum(batches[::-1])[::-1]
    suffix_sq = np.cumsum((batches**2)[::-1])[::-1]
    d = np.arange(k // 2 + 1)
    m = k - d
    mean = suffix_sum[d] / m
    sse = suffix_sq[d] - m * mean**2
    best = int(np.argmin(sse / m**2))
    return MSERResult(best * 5, best * 5 / len(x), k)


def warmup_warning(series: Sequence[float], name: str, threshold: float = 0.1,
                   min_shift: float = 0.025) -> str | None:
    """A warning when MSER-5 would discard more than ``threshold`` of ``series`` and the
    discarded start differs from the rest by more than ``min_shift`` of the rest's level.

    MSER-5 alone truncates autocorrelated stationary series too: a calibrated steady
    baseline's open cases wander by 1-2% and drew the warning on every run. Stocks are
    counts, so the size of the shift, relative to their level, says whether it matters.
    """
    x = np.asarray(series, dtype=float)
    result = mser5(x)
    if result.truncation_fraction <= threshold:
        return None
    head, rest = x[: result.truncation_index].mean(), x[result.truncation_index:].mean()
    shift = abs(head - rest) / abs(rest) if rest else math.inf
    if shift <= min_shift:
        return None
    return (f"{name}: MSER-5 suggests discarding the first {result.truncation_fraction:.0%} "
            f"of the run as warm-up: the stocks average {shift:.1%} "
            f"{'higher' if head > rest else 'lower'} there than afterwards, as they move "
            f"away from the initial state. That is expected when a scenario changes the flows "
            f"(a new structure or assumed effects acting on today's caseload); for a "
            f"steady-state comparison, give the scenario its own initial_state "
            f"(`csflow initial-state`)")


def summarise(runs: pd.DataFrame, kpis: list[str], by: str = "scenario",
              confidence: float = 0.95) -> pd.DataFrame:
    """Mean, CI and n of each KPI for each group, groups in order of first appearance."""
    rows = []
    for group, frame in runs.groupby(by, sort=False):
        for kpi in kpis:
            ci = mean_ci(frame[kpi], confidence)
            rows.append({by: group, "kpi": kpi, "mean": ci.mean, "ci_low": ci.low,
                         "ci_high": ci.high, "n": ci.n})
    return pd.DataFrame(rows, columns=[by, "kpi", "mean", "ci_low", "ci_high", "n"])


def paired_differences(runs: pd.DataFrame, kpis: list[str], baseline: str,
                       by: str = "scenario", rep: str = "rep",
                       confidence: float = 0.95) -> pd.DataFrame:
    """Each other group minus the baseline, paired by replication (inner join on ``rep``)."""
    base = runs[runs[by] == baseline].set_index(rep)
    rows = []
    for group, frame in runs.groupby(by, sort=False):
        if group == baseline:
            continue
        joined = base[kpis].merge(frame.set_index(rep)[kpis], how="inner", left_index=True,
                                  right_index=True, suffixes=("", "__other"))
        for kpi in kpis:
            ci = paired_difference_ci(joined[kpi], joined[f"{kpi}__other"], confidence)
            rows.append({by: group, "baseline": baseline, "kpi": kpi,
                         "mean_difference": ci.mean, "ci_low": ci.low, "ci_high": ci.high,
                         "n": ci.n})
    return pd.DataFrame(rows, columns=[by, "baseline", "kpi", "mean_difference", "ci_low",
                                       "ci_high", "n"])
