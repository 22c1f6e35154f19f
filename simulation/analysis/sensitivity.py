"""Sensitivity of outputs to inputs: partial rank correlation coefficients (PRCC).

PRCC suits monotone, non-linear responses (Marino et al. 2008): rank-transform inputs and
the output, remove from each input and from the output the linear effect of the other
inputs, and correlate what is left. A coefficient near +1 or -1 means the output moves
with that input whatever the others do; near 0, that the input hardly matters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _correlation(a: np.ndarray, b: np.ndarray, scale: float) -> float:
    """Pearson correlation, NaN when either side is (numerically) constant."""
    if a.std() <= 1e-9 * scale or b.std() <= 1e-9 * scale:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def prcc(samples: pd.DataFrame, params: list[str], output: str) -> pd.Series:
    """One coefficient in [-1, 1] per parameter (NaN where it cannot be estimated).

    Rows with a missing value are dropped first: a KPI can be undefined in a sample
    (no child left care, say), and one such row must not void every coefficient.
    """
    data = samples[[*params, output]].apply(pd.to_numeric, errors="coerce").dropna()
    ranks = data.rank().to_numpy(dtype=float)
    x, y = ranks[:, :-1], ranks[:, -1]
    scale = max(len(ranks), 1)
    out: dict[str, float] = {}
    for j, name in enumerate(params):
        others = np.column_stack([np.ones(len(ranks)), np.delete(x, j, axis=1)])
        both = np.column_stack([x[:, j], y])
        residuals = both - others @ np.linalg.lstsq(others, both, rcond=None)[0]
        out[name] = _correlation(residuals[:, 0], residuals[:, 1], scale)
    return pd.Series(out, name=output, dtype=float)


def prcc_table(samples: pd.DataFrame, params: list[str], outputs: list[str]) -> pd.DataFrame:
    """PRCC of every parameter (rows) with every output (columns)."""
    return pd.DataFrame({o: prcc(samples, params, o) for o in outputs}, index=params)


# The sample-size rule: a PRCC from n samples with k parameters has a 95% interval of
# about ±tanh(1.96 / sqrt(n - k - 2)) around zero (Fisher's z with the k - 1 other
# parameters partialled out). Below MIN_RESIDUAL_DF = 13 residual degrees of freedom that
# is wider than ±0.5, so even a "strong" coefficient could be chance: the report and the
# terminal then warn.
MIN_RESIDUAL_DF = 13


def prcc_interval(r: float, n: int, k: int) -> tuple[float, float]:
    """95% interval of a PRCC by Fisher's z transform; (-1, 1) when it cannot be estimated."""
    df = n - k - 2
    if df < 1 or not np.isfinite(r):
        return -1.0, 1.0
    z, half = np.arctanh(np.clip(r, -0.999999, 0.999999)), 1.96 / np.sqrt(df)
    return float(np.tanh(z - half)), float(np.tanh(z + half))


def samples_needed(k: int) -> int:
    """Samples for PRCC intervals no wider than about ±0.5 with ``k`` parameters."""
    return k + 2 + MIN_RESIDUAL_DF


def sample_warning(n: int, k: int) -> str | None:
    """A warning when ``n`` samples are too few for the correlations of ``k`` parameters."""
    if n >= samples_needed(k):
        return None
    low, high = prcc_interval(0.0, n, k)
    width = f"±{high:.2f}" if high < 1 else "the whole range −1 to +1"
    return (f"{n} samples for {k} parameter{'s' if k != 1 else ''}: a partial rank "
            f"correlation is uncertain by about {width}, so even large values may be chance; "
            f"use {samples_needed(k)} or more samples (--samples)")


def strongest(coefficients: pd.DataFrame, n: int, top: int = 5) -> list[tuple[str, str, float,
                                                                              float, float]]:
    """The ``top`` largest |PRCC| as (output, parameter, r, low, high), largest first."""
    k = len(coefficients.index)
    pairs = [(str(o), str(p), float(r), *prcc_interval(float(r), n, k))
             for o in coefficients.columns for p, r in coefficients[o].items()
             if np.isfinite(r)]
    return sorted(pairs, key=lambda t: -abs(t[2]))[:top]


def parameter_label(path: str) -> str:
    """``workforce.turnover_rate`` -> "workforce turnover rate" (for titles)."""
    return path.replace(".", " ").replace("_", " ")


def sweep_title(name: str, params: list[str]) -> str:
    """A sweep's title: the scenario and what was varied, in words."""
    words = [parameter_label(p) for p in params]
    listed = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return f"How {name} responds to {listed}" if words else f"Sensitivity of {name}"
