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
from scipy import special

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

MAX_MULTIPLIER = 1_000.0  # a duration effect or unit stretch beyond x1000 is a slip
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
    """A non-negative duration: ``ppf(u)`` gives calendar days for a uniform u in [0, 1).

    ``ppf_vec`` is the same function over numpy arrays, for set-up work (all contacts,
    the initial caseload) where a Python loop would dominate.
    """

    name: str
    ppf: Callable[[float], float]
    mean_days: float
    ppf_vec: Callable[[np.ndarray], np.ndarray] | None = None

    def ppf_many(self, u: np.ndarray) -> np.ndarray:
        if self.ppf_vec is not None:
            return np.asarray(self.ppf_vec(np.asarray(u, float)), float)
        return np.fromiter((self.ppf(x) for x in np.asarray(u).tolist()), float, len(u))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.ppf_many(rng.random(n))


def _need(params: Mapping[str, Any], *names: str) -> list[float]:
    missing = [n for n in names if n not in params]
    if missing:
        raise DistributionError(f"needs {', '.join(missing)}")
    extra = sorted(set(params) - set(names))
    if extra:
        raise DistributionError(f"unexpected parameter(s) {', '.join(extra)}")
    out = []
    for n in names:
        v = params[n]
        if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v):
            raise DistributionError(f"{n} must be a number, got {v!r}")
        out.append(float(v))
    return out


def _number(v: Any, what: str) -> float:
    """A finite number (not a yes/no value, not text), else DistributionError naming it."""
    if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v):
        raise DistributionError(f"{what} must be a finite number, got {v!r}")
    return float(v)


def _json_key(key: Any) -> Any:
    """A mapping key written as text by a JSON round trip (a manifest's resolved scenario
    stores ``points: {"0.25": 17}``) read back as the number it was; other text stays text,
    so ``_number`` still refuses it."""
    if isinstance(key, str):
        try:
            return float(key)
        except ValueError:
            return key
    return key


def _positive(**values: float) -> None:
    for n, v in values.items():
        if v <= 0:
            raise DistributionError(f"{n} must be > 0, got {v:g}")


# Each builder takes the parameters and ``k``, the factor to calendar days (unit x multiplier),
# and bakes k in, so a draw is one function call.
def _fixed(p: Mapping[str, Any], k: float) -> Distribution:
    (value,) = _need(p, "value")
    if value < 0:
        raise DistributionError(f"value must be >= 0, got {value:g}")
    v = value * k
    return Distribution("fixed", lambda u: v, v, lambda u: np.full(np.shape(u), v))


def _exponential(p: Mapping[str, Any], k: float) -> Distribution:
    (mean,) = _need(p, "mean")
    _positive(mean=mean)
    m, log = mean * k, math.log
    return Distribution("exponential", lambda u: -m * log(1.0 - u), m,
                        lambda u: -m * np.log1p(-u))


def _uniform(p: Mapping[str, Any], k: float) -> Distribution:
    low, high = _need(p, "low", "high")
    if low < 0 or high < low:
        raise DistributionError(f"needs 0 <= low <= high, got low={low:g} high={high:g}")
    lo, width = low * k, (high - low) * k
    return Distribution("uniform", lambda u: lo + width * u, lo + width / 2,
                        lambda u: lo + width * u)


def _lognormal(p: Mapping[str, Any], k: float) -> Distribution:
    """Lognormal from (median, q75), (median, sigma) or (mean, sd): councils quote quantiles."""
    try:
        return _lognormal_of(p, k)
    except OverflowError:
        raise DistributionError("parameters too large: durations overflow") from None


def _lognormal_of(p: Mapping[str, Any], k: float) -> Distribution:
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
    mu += math.log(k)
    inv, exp = _STD_NORMAL.inv_cdf, math.exp

    def ppf(u: float) -> float:
        # u clipped to [1e-12, 1 - 1e-12], as min(max(...)) would, without two calls
        return exp(mu + sigma * inv(u if 1e-12 <= u <= 1 - 1e-12
                                    else (1e-12 if u < 1e-12 else 1 - 1e-12)))

    def vec(u: np.ndarray) -> np.ndarray:
        return np.exp(mu + sigma * special.ndtri(np.clip(u, 1e-12, 1 - 1e-12)))

    return Distribution("lognormal", ppf, math.exp(mu + sigma**2 / 2), vec)


def _piecewise(xs: list[float], ps: list[float], name: str) -> Distribution:
    """Inverse CDF by linear interpolation through (cumulative probability, value) knots."""
    mean = sum((ps[i + 1] - ps[i]) * (xs[i] + xs[i + 1]) / 2 for i in range(len(xs) - 1))
    last = len(xs) - 1
    xa, pa = np.array(xs), np.array(ps)

    def ppf(u: float) -> float:
        i = bisect.bisect_right(ps, u) - 1
        if i >= last:
            return xs[last]
        span = ps[i + 1] - ps[i]
        return xs[i] + (xs[i + 1] - xs[i]) * ((u - ps[i]) / span if span > 0 else 0.0)

    return Distribution(name, ppf, mean, lambda u: np.interp(u, pa, xa))


def _quantiles(p: Mapping[str, Any], k: float) -> Distribution:
    """Published quantiles, e.g. ``points: {0: 1, 0.25: 17, 0.5: 33, 0.75: 43, 1: 120}``."""
    points = p.get("points")
    if set(p) != {"points"}:
        raise DistributionError(f"unexpected parameter(s) {', '.join(sorted(set(p) - {'points'}))}")
    if not isinstance(points, Mapping) or len(points) < 2:
        raise DistributionError("points must map at least two probabilities to values")
    knots = sorted((_number(_json_key(q), "a points probability"), _number(v, "a points value"))
                   for q, v in points.items())
    ps, xs = [q for q, _ in knots], [v * k for _, v in knots]
    if ps[0] != 0.0 or ps[-1] != 1.0:
        raise DistributionError("points must start at probability 0 and end at 1")
    if any(b < a for a, b in zip(xs, xs[1:], strict=False)) or xs[0] < 0:
        raise DistributionError("point values must be >= 0 and non-decreasing")
    return _piecewise(xs, ps, "quantiles")


def _histogram(p: Mapping[str, Any], k: float) -> Distribution:
    """Published bands, e.g. ``edges: [0, 3, 6, 12, 24, 36], weights: [15.9, 11, 43.5, 25.2, 4.4]``.

    Weights are normalised, so percentages can be copied as published.
    """
    edges, weights = p.get("edges"), p.get("weights")
    if set(p) != {"edges", "weights"}:
        raise DistributionError("needs exactly edges and weights")
    if not isinstance(edges, list) or not isinstance(weights, list):
        raise DistributionError("needs edges and weights lists")
    if len(edges) != len(weights) + 1:
        raise DistributionError("edges must have one more entry than weights")
    edges = [_number(e, f"edges[{i}]") for i, e in enumerate(edges)]
    weights = [_number(w, f"weights[{i}]") for i, w in enumerate(weights)]
    if any(b <= a for a, b in zip(edges, edges[1:], strict=False)) or edges[0] < 0:
        raise DistributionError("edges must be >= 0 and increasing")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise DistributionError("weights must be >= 0 with a positive total")
    cum = (np.concatenate([[0.0], np.cumsum(weights)]) / float(sum(weights))).tolist()
    cum[-1] = 1.0
    return _piecewise([float(e) * k for e in edges], cum, "histogram")


def _gamma(p: Mapping[str, Any], k: float) -> Distribution:
    """Gamma by mean and sd; scipy's ppf is slow per call, so a fine knot table stands in."""
    mean, sd = _need(p, "mean", "sd")
    _positive(mean=mean, sd=sd)
    shape, scale = (mean / sd) ** 2, sd**2 / mean * k
    from scipy import stats  # on first use: ~0.6 s to import, and few scenarios have a gamma

    qs = np.concatenate([np.linspace(0, 0.99, 991)[:-1], 1 - np.logspace(-2, -9, 400)])
    xs = stats.gamma.ppf(qs, shape, scale=scale)
    return _piecewise(xs.tolist(), qs.tolist(), "gamma")


def _weibull(p: Mapping[str, Any], k: float) -> Distribution:
    shape, scale = _need(p, "shape", "scale")
    _positive(shape=shape, scale=scale)
    sc, inv_shape, log = scale * k, 1 / shape, math.log
    return Distribution("weibull", lambda u: sc * (-log(1.0 - u)) ** inv_shape,
                        sc * math.gamma(1 + inv_shape),
                        lambda u: sc * (-np.log1p(-u)) ** inv_shape)


def _mixture(p: Mapping[str, Any], k: float) -> Distribution:
    """Components picked by the same uniform, rescaled within the chosen component."""
    comps = p.get("components")
    if set(p) != {"components"}:
        raise DistributionError("needs exactly components")
    if not isinstance(comps, list) or not comps:
        raise DistributionError("components must be a non-empty list of {weight, dist, ...}")
    weights, dists = [], []
    for i, c in enumerate(comps):
        if not isinstance(c, Mapping) or "weight" not in c:
            raise DistributionError(f"components[{i}] needs a weight")
        if "unit" in c or "multiplier" in c:
            raise DistributionError(f"components[{i}]: unit and multiplier belong to the mixture")
        try:
            dists.append(_build({k2: v for k2, v in c.items() if k2 != "weight"}, k))
        except DistributionError as exc:
            raise DistributionError(f"components[{i}]: {exc}") from None
        weights.append(_number(c["weight"], f"components[{i}].weight"))
    total = sum(weights)
    if total <= 0 or any(w < 0 for w in weights):
        raise DistributionError("component weights must be >= 0 with a positive total")
    bounds = [0.0, *(np.cumsum(weights) / total).tolist()]
    bounds[-1] = 1.0
    ppfs = [d.ppf for d in dists]
    mean = sum(w / total * d.mean_days for w, d in zip(weights, dists, strict=True))
    top = len(ppfs) - 1

    def ppf(u: float) -> float:
        i = min(bisect.bisect_right(bounds, u) - 1, top)
        lo, hi = bounds[i], bounds[i + 1]
        return ppfs[i]((u - lo) / (hi - lo) if hi > lo else 0.0)

    edges = np.array(bounds)

    def vec(u: np.ndarray) -> np.ndarray:
        which = np.minimum(np.searchsorted(edges, u, side="right") - 1, top)
        out = np.empty(len(u))
        for i, d in enumerate(dists):
            mask = which == i
            lo, hi = edges[i], edges[i + 1]
            out[mask] = d.ppf_many((u[mask] - lo) / (hi - lo) if hi > lo else u[mask] * 0)
        return out

    return Distribution("mixture", ppf, mean, vec)


REGISTRY: dict[str, Callable[[Mapping[str, Any], float], Distribution]] = {
    "fixed": _fixed,
    "exponential": _exponential,
    "uniform": _uniform,
    "lognormal": _lognormal,
    "quantiles": _quantiles,
    "histogram": _histogram,
    "gamma": _gamma,
    "weibull": _weibull,
    "mixture": _mixture,
}


def _build(spec: Mapping[str, Any], k: float) -> Distribution:
    kind = spec.get("dist")
    if not isinstance(kind, str) or kind not in REGISTRY:
        raise DistributionError(f"dist must be one of {sorted(REGISTRY)}, got {kind!r}")
    return REGISTRY[kind]({n: v for n, v in spec.items() if n != "dist"}, k)


def build_distribution(spec: Mapping[str, Any]) -> Distribution:
    """Build a Distribution in calendar days from its declaration.

    ``unit`` (default days) and ``multiplier`` (default 1; practice effects on a
    duration use it) apply to the whole distribution, mixture components included.
    """
    if not isinstance(spec, Mapping):
        raise DistributionError(f"must be a mapping with a 'dist' key, got {spec!r}")
    unit = spec.get("unit", "days")
    if not isinstance(unit, str) or unit not in DAYS_PER_UNIT:
        raise DistributionError(f"unit must be one of {sorted(DAYS_PER_UNIT)}, got {unit!r}")
    multiplier = spec.get("multiplier", 1.0)
    if isinstance(multiplier, bool) or not isinstance(multiplier, int | float) \
            or not 0 < multiplier <= MAX_MULTIPLIER:
        raise DistributionError(f"multiplier must be a number > 0 and at most "
                                f"{MAX_MULTIPLIER:g}, got {multiplier!r}")
    params = {n: v for n, v in spec.items() if n not in ("unit", "multiplier")}
    try:
        dist = _build(params, DAYS_PER_UNIT[unit] * float(multiplier))
        # Overflow shows at the extremes: a draw or the mean that is not a finite number
        # would stall or poison the run, so it is refused here, before any run.
        checks = [dist.mean_days, *(dist.ppf(u) for u in (0.0, 0.5, 1 - 1e-12))]
    except (OverflowError, ZeroDivisionError, ValueError, TypeError) as exc:
        if isinstance(exc, DistributionError):
            raise
        raise DistributionError(f"cannot be built: {exc}") from None
    if not all(math.isfinite(x) and x >= 0 for x in checks):
        raise DistributionError("parameters too large or degenerate: durations are not "
                                "finite (check the spread, e.g. sigma or q75)")
    return dist


def length_biased_pick(lengths: np.ndarray, u_pick: np.ndarray) -> np.ndarray:
    """Indices into ``lengths`` picked with probability proportional to length.

    In a stationary stream, a case found open at a random moment has a length-biased
    total duration (density x f(x) / mean) and a uniform share of it already elapsed.
    Given a pool of lengths drawn from the stage's law, this picks such cases.
    """
    weights = np.cumsum(lengths)
    if weights[-1] <= 0:
        return np.zeros(len(u_pick), dtype=int)
    return np.searchsorted(weights, u_pick * weights[-1], side="right").clip(0, len(lengths) - 1)
