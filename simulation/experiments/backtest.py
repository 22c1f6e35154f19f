"""Back-test of an imported council: fit on the earlier years, forecast the held-out ones.

The returns are fitted up to 31 March of year T-K, the scenario is run K years forward
from that day's open caseload (replications with common seeds, through ``run_batch``),
and each flow (a year, mean over the held-out years) and each stock (at each held-out
31 March) is set beside what the returns show. The interval is the 2.5-97.5 percentile
range of the replications: the model's own chance variation, not the uncertainty of the
fitted inputs, so it is a lower bound on the forecast's real uncertainty.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from simulation.analysis.stats import mean_ci
from simulation.experiments.batch import run_batch
from simulation.randomness.distributions import DAYS_PER_YEAR
from simulation.returns.errors import Report
from simulation.returns.figures import yearly_figures
from simulation.returns.importer import Returns, import_returns
from simulation.returns.journeys import build_journeys
from simulation.scenario import load_scenario

# (returns figure, model KPI or stage, kind)
MEASURES: tuple[tuple[str, str, str], ...] = (
    ("referrals", "referrals", "flow"),
    ("s47_enquiries", "s47_enquiries", "flow"),
    ("icpcs", "icpcs", "flow"),
    ("cp_plans_started", "cp_plans_started", "flow"),
    ("cin_plans_started", "cin_plans_started", "flow"),
    ("cla_started", "cla_started", "flow"),
    ("cla_ended", "cla_ended", "flow"),
    ("cin_open", "cin", "stock"),
    ("cp_open", "cp", "stock"),
    ("cla_open", "cla", "stock"),
)


def backtest(returns: Returns, population: int, holdout: int, reps: int = 8, seed: int = 1,
             jobs: int = 1) -> pd.DataFrame:
    """Predicted against actual for the last ``holdout`` collection years."""
    years = returns.years
    if not 1 <= holdout < len(years):
        raise ValueError(f"--holdout-years must be between 1 and {len(years) - 1} for an "
                         f"extract of {len(years)} years")
    fit_last = years[-holdout - 1]
    held = years[-holdout:]
    quiet = dataclasses.replace(returns, report=Report(strict=returns.report.strict))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "backtest.yaml"
        import_returns(quiet, population, path, name=f"backtest_fit_to_{fit_last}",
                       last_year=fit_last)
        scenario = load_scenario(path)
    batch = run_batch([scenario], reps, seed, float(holdout), jobs=jobs, progress=False)
    actual = yearly_figures(build_journeys(returns.ssda903, returns.cin, Report())) \
        .set_index("year")
    rows = []
    for figure, model, kind in MEASURES:
        if figure not in actual.columns:
            continue
        if kind == "flow":
            rows.append(_row(figure, f"{held[0]}-{held[-1]} a year" if holdout > 1
                             else str(held[0]), float(actual.loc[held, figure].mean()),
                             batch.runs[model].to_numpy(float)))
            continue
        for k, year in enumerate(held, start=1):
            day = k * DAYS_PER_YEAR
            s = batch.stocks[batch.stocks["stage"] == model]
            at = s.loc[(s["day"] - day).abs().groupby(s["rep"]).idxmin(), "open"]
            rows.append(_row(figure, f"31 March {year}", float(actual.loc[year, figure]),
                             at.to_numpy(float)))
    return pd.DataFrame(rows)


def _row(measure: str, when: str, actual: float, reps: np.ndarray) -> dict[str, object]:
    ci = mean_ci(reps)
    low, high = np.percentile(reps, [2.5, 97.5])
    return {"measure": measure, "held_out": when, "actual": actual,
            "predicted": ci.mean, "ci_low": ci.low, "ci_high": ci.high,
            "interval_low": float(low), "interval_high": float(high),
            "error_pct": (ci.mean - actual) / actual if actual else np.nan,
            "within_interval": bool(low <= actual <= high)}


def markdown(table: pd.DataFrame, fit_years: str, reps: int) -> str:
    """The back-test as a Markdown table with its reading."""
    lines = [f"Back-test: fitted on {fit_years}, forecast from that 31 March; {reps} "
             "replications. Interval: 2.5-97.5% of replications (chance variation only).", "",
             "| measure | held out | actual | predicted (95% CI) | interval | error | in interval |",
             "|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| `{r.measure}` | {r.held_out} | {r.actual:,.0f} | {r.predicted:,.1f} "
                     f"({r.ci_low:,.1f} to {r.ci_high:,.1f}) | {r.interval_low:,.0f} to "
                     f"{r.interval_high:,.0f} | {r.error_pct:+.1%} | "
                     f"{'yes' if r.within_interval else 'NO'} |")
    mape = float(np.nanmean(np.abs(table["error_pct"])))
    lines += ["", f"Mean absolute error over these measures: {mape:.1%}; "
              f"{int(table['within_interval'].sum())} of {len(table)} actual figures inside "
              "the interval."]
    return "\n".join(lines) + "\n"
