"""Sensitivity of outputs to inputs: partial rank correlation coefficients (PRCC).

PRCC suits monotone, non-linear responses (Marino et al. 2008): rank-transform inputs and
the output, remove from each input and from the output the linear effect of the other
inputs, and correlate what is left.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def prcc(samples: pd.DataFrame, params: list[str], output: str) -> pd.Series:
    """One coefficient in [-1, 1] per parameter (NaN where it cannot be estimated)."""
    ranks = samples[params + [output]].rank().to_numpy(dtype=float)
    x, y = ranks[:, :-1], ranks[:, -1]
    out = {}
    for j, name in enumerate(params):
        others = np.column_stack([np.ones(len(x)), np.delete(x, j, axis=1)])
        res_x = x[:, j] - others @ np.linalg.lstsq(others, x[:, j], rcond=None)[0]
        res_y = y - others @ np.linalg.lstsq(others, y, rcond=None)[0]
        if res_x.std() == 0 or res_y.std() == 0:
            out[name] = np.nan
        else:
            out[name] = float(stats.pearsonr(res_x, res_y)[0])
    return pd.Series(out, name=output)
