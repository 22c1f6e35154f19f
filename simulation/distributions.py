"""Durations declared as data and built through one registry.

A scenario writes ``{dist: lognormal, median: 33, q75: 43, unit: working_days}``;
``build_distribution`` turns that into an object with one method, ``ppf(u)``:
the inverse CDF in calendar days. Sampling through the inverse CDF with a
uniform that belongs to the child (see ``simulation.randomness``) is what makes
common random numbers work: the same child sits at the same quantile of a
duration under every operating model, and an effect that shortens a stage
shortens it for the same children.

``ppf`` is pure Python on floats because it sits on the simulation's hot path;
numpy/scipy are used only when building a distribution.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
from scipy import stats

# England has 261 weekdays and 8 bank holidays a year: 253 working days.
WORKING_DAYS_PER_YEAR = 253.0
DAYS_PER_YEAR = 365.25
DAYS_PER_UNIT: dict[str, float] = {
    "days": 1.0,
    "working_days": DAYS_PER_YEAR / WORKING_DAYS_PER_YEAR,
    "weeks": 7.0,
    "months": DAYS_PER_YEAR / 12.0,
    "years": DAYS_PER_YEAR,
}

_STD_NORMAL = NormalDist()
_Z75 = _STD_NORMAL.inv_cdf(0.75)


def to_days(value: float, unit: str) -> float:
    """Convert a duration in ``unit`` to calendar days (the engine's time unit)."""
    return value * DAYS_PER_UNIT[unit]


def working_days_between(start_day: float, end_day: float) -> float:
    """Elapsed working days between two simulated calendar days (average conversion)."""
    return (end_day - start_day) / DAYS_PER_UNIT["working_days"]


class DistributionError(ValueError):
    """A distribution spec that cannot be built; the message names the parameter."""


@dataclass(frozen=True)
class Distribution:
    """A non-negative duration: ``ppf(u)`` gives calendar days for a uniform u in [0, 1)."""

    name: str
    ppf: Callable[[float], float]
    mean_days: float

    def ppf_many(self, u: np.ndarray) -> np.ndarray:
        """``ppf`` over an array (set-up work: contacts, the initial caseload)."""
        return np.fromiter((self.ppf(x) for x in u.tolist()), float, len(u))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.ppf_many(rng.random(n))

    def scaled(self, factor: float) -> Distribution:
        """The same shape stretched by ``factor`` (a practice effect on a duration)."""
        base = self.ppf
        return Distribution(f"{self.name}*{factor:g}", lambda u: base(u) * factor,
                            self.mean_days * factor)


def _need(params: Mapping[str, Any], *names: str) -> list[float]:
    missing = [n for n in names if n not in params]
    if missing:
        raise DistributionError(f"needs {', '.join(missing)}")
    out = []
    for n in names:
        v = params[n]
        if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v):
            raise DistributionError(f"{n} must be a number, got {v!r}")
        out.append(float(v))
    return out


def _positive(**values: float) -> None:
    for n, v in values.items():
        if v <= 0:
            raise DistributionError(f"{n} must be > 0, got {v:g}")


def _fixed(p: Mapping[str, Any]) -> Distribution:
    (value,) = _need(p, "value")
    if value < 0:
        raise DistributionError(f"value must be >= 0, got {value:g}")
    return Distribution("fixed", lambda u: value, value)


def _exponential(p: Mapping[str, Any]) -> Distribution:
    (mean,) = _need(p, "mean")
    _positive(mean=mean)
    log = math.log
    return Distribution("exponential", lambda u: -mean * log(1.0 - u), mean)


def _uniform(p: Mapping[str, Any]) -> Distribution:
    low, high = _need(p, "low", "high")
    if low < 0 or high < low:
        raise DistributionError(f"needs 0 <= low <= high, got low={low:g} high={high:g}")
    width = high - low
    return Distribution("uniform", lambda u: low + width * u, (low + high) / 2)


def _lognormal(p: Mapping[str, Any]) -> Distribution:
    """Lognormal from (median, q75), (median, sigma) or (mean, sd): councils quote quantiles."""
    if "q75" in p:
        median, q75 = _need(p, "median", "q75")
        _positive(median=median)
        if q75 <= median:
            raise DistributionError(f"q75 ({q75:g}) must exceed median ({median:g})")
        mu, sigma = math.log(median), math.log(q75 / median) / _Z75
    elif "sigma" in p:
        median, sigma = _need(p, "median", "sigma")
        _positive(median=median, sigma=sigma)
        mu = math.log(median)
    else:
        mean, sd = _need(p, "mean", "sd")
        _positive(mean=mean, sd=sd)
        sigma = math.sqrt(math.log(1 + (sd / mean) ** 2))
        mu = math.log(mean) - sigma**2 / 2
    inv, exp = _STD_NORMAL.inv_cdf, math.exp

    def ppf(u: float) -> float:
        return exp(mu + sigma * inv(min(max(u, 1e-12), 1 - 1e-12)))

    return Distribution("lognormal", ppf, math.exp(mu + sigma**2 / 2))


def _piecewise(xs: list[float], ps: list[float], name: str) -> Distribution:
    """Inverse CDF by linear interpolation through (cumulative probability, value) knots."""
    mean = sum((ps[i + 1] - ps[i]) * (xs[i] + xs[i + 1]) / 2 for i in range(len(xs) - 1))
    last = len(xs) - 1

    def ppf(u: float) -> float:
        i = bisect.bisect_right(ps, u) - 1
        if i >= last:
            return xs[last]
        span = ps[i + 1] - ps[i]
        return xs[i] + (xs[i + 1] - xs[i]) * ((u - ps[i]) / span if span > 0 else 0.0)

    return Distribution(name, ppf, mean)


def _quantiles(p: Mapping[str, Any]) -> Distribution:
    """Published quantiles, e.g. ``points: {0: 1, 0.25: 17, 0.5: 33, 0.75: 43, 1: 120}``."""
    points = p.get("points")
    if not isinstance(points, Mapping) or len(points) < 2:
        raise DistributionError("points must map at least two probabilities to values")
    try:
        knots = sorted((float(q), float(v)) for q, v in points.items())
    except (TypeError, ValueError) as exc:
        raise DistributionError(f"points must be numbers: {exc}") from None
    ps, xs = [k[0] for k in knots], [k[1] for k in knots]
    if ps[0] != 0.0 or ps[-1] != 1.0:
        raise DistributionError("points must start at probability 0 and end at 1")
    if any(b < a for a, b in zip(xs, xs[1:], strict=False)) or xs[0] < 0:
        raise DistributionError("point values must be >= 0 and non-decreasing")
    return _piecewise(xs, ps, "quantiles")


def _histogram(p: Mapping[str, Any]) -> Distribution:
    """Published bands, e.g. ``edges: [0, 3, 6, 12, 24, 36], weights: [15.9, 11, 43.5, 25.2, 4.4]``.

    Weights are normalised, so percentages can be copied as published.
    """
    edges, weights = p.get("edges"), p.get("weights")
    if not isinstance(edges, list) or not isinstance(weights, list):
        raise DistributionError("needs edges and weights lists")
    if len(edges) != len(weights) + 1:
        raise DistributionError("edges must have one more entry than weights")
    if any(b <= a for a, b in zip(edges, edges[1:], strict=False)) or edges[0] < 0:
        raise DistributionError("edges must be >= 0 and increasing")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise DistributionError("weights must be >= 0 with a positive total")
    total = float(sum(weights))
    cum = np.concatenate([[0.0], np.cumsum(weights) / total]).tolist()
    cum[-1] = 1.0
    return _piecewise([float(e) for e in edges], cum, "histogram")


def _gamma(p: Mapping[str, Any]) -> Distribution:
    """Gamma by mean and sd; scipy's ppf is slow per call, so a fine knot table stands in."""
    mean, sd = _need(p, "mean", "sd")
    _positive(mean=mean, sd=sd)
    shape, scale = (mean / sd) ** 2, sd**2 / mean
    qs = np.concatenate([np.linspace(0, 0.99, 991), 1 - np.logspace(-2.3, -9, 60)])
    xs = stats.gamma.ppf(qs, shape, scale=scale)
    return _piecewise(xs.tolist(), qs.tolist(), "gamma")


def _weibull(p: Mapping[str, Any]) -> Distribution:
    shape, scale = _need(p, "shape", "scale")
    _positive(shape=shape, scale=scale)
    log = math.log
    return Distribution("weibull", lambda u: scale * (-log(1.0 - u)) ** (1 / shape),
                        scale * math.gamma(1 + 1 / shape))


REGISTRY: dict[str, Callable[[Mapping[str, Any]], Distribution]] = {
    "fixed": _fixed,
    "exponential": _exponential,
    "uniform": _uniform,
    "lognormal": _lognormal,
    "quantiles": _quantiles,
    "histogram": _histogram,
    "gamma": _gamma,
    "weibull": _weibull,
}


def _mixture(p: Mapping[str, Any]) -> Distribution:
    """Components picked by the same uniform, rescaled within the chosen component."""
    comps = p.get("components")
    if not isinstance(comps, list) or not comps:
        raise DistributionError("components must be a non-empty list of {weight, ...}")
    weights, dists = [], []
    for i, c in enumerate(comps):
        if not isinstance(c, Mapping) or "weight" not in c:
            raise DistributionError(f"components[{i}] needs a weight")
        spec = {k: v for k, v in c.items() if k != "weight"}
        spec.setdefault("unit", p.get("unit", "days"))
        try:
            dists.append(build_distribution(spec))
        except DistributionError as exc:
            raise DistributionError(f"components[{i}]: {exc}") from None
        weights.append(float(c["weight"]))
    total = sum(weights)
    if total <= 0 or any(w < 0 for w in weights):
        raise DistributionError("component weights must be >= 0 with a positive total")
    cum = np.cumsum(weights) / total
    bounds = [0.0, *cum.tolist()]
    bounds[-1] = 1.0
    ppfs = [d.ppf for d in dists]
    mean = sum(w / total * d.mean_days for w, d in zip(weights, dists, strict=True))

    def ppf(u: float) -> float:
        i = min(bisect.bisect_right(bounds, u) - 1, len(ppfs) - 1)
        lo, hi = bounds[i], bounds[i + 1]
        return ppfs[i]((u - lo) / (hi - lo) if hi > lo else 0.0)

    return Distribution("mixture", ppf, mean)


def build_distribution(spec: Mapping[str, Any]) -> Distribution:
    """Build a Distribution in calendar days from its declaration.

    ``scale`` (default 1) stretches the whole distribution: practice effects on a
    duration use it. ``mixture`` components inherit the mixture's unit and are
    already in days, so the unit is applied once, to the components.
    """
    kind = spec.get("dist")
    unit = spec.get("unit", "days")
    if unit not in DAYS_PER_UNIT:
        raise DistributionError(f"unit must be one of {sorted(DAYS_PER_UNIT)}, got {unit!r}")
    scale = spec.get("scale", 1.0)
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not scale > 0:
        raise DistributionError(f"scale must be a number > 0, got {scale!r}")
    if kind == "mixture":
        dist = _mixture(spec)
        return dist if scale == 1.0 else dist.scaled(scale)
    if kind not in REGISTRY:
        raise DistributionError(f"dist must be one of {sorted([*REGISTRY, 'mixture'])}, got {kind!r}")
    params = {k: v for k, v in spec.items() if k not in ("dist", "unit", "scale")}
    dist = REGISTRY[kind](params)
    factor = DAYS_PER_UNIT[unit] * scale
    return dist if factor == 1.0 else dist.scaled(factor)


def length_biased_split(dist: Distribution, u_pick: np.ndarray, u_age: np.ndarray,
                        rng: np.random.Generator, pool: int = 20000) -> tuple[np.ndarray, np.ndarray]:
    """Elapsed and remaining time of cases found in progress at a random moment.

    In a stationary stream a case open at time 0 has a length-biased total duration
    (density x f(x) / mean), and its elapsed share is uniform. We draw a pool from the
    distribution and pick from it with probability proportional to length.
    Returns (elapsed_days, remaining_days).
    """
    candidates = dist.sample(rng, pool)
    weights = np.cumsum(candidates)
    if weights[-1] <= 0:
        return np.zeros(len(u_pick)), np.zeros(len(u_pick))
    idx = np.searchsorted(weights, u_pick * weights[-1], side="right").clip(0, pool - 1)
    total = candidates[idx]
    elapsed = total * u_age
    return elapsed, total - elapsed
