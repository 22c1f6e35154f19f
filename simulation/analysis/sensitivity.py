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
