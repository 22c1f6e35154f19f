"""The executive summary: a few plain sentences generated from a comparison's results.

A director reads this first, so it says only what the numbers support: a difference is
called out when its 95% CI excludes zero *and* it reaches the KPI's practical threshold
(``simulation.outputs.kpis.is_notable``; thresholds in docs/kpis.md). Every number in a
sentence is the formatted paired difference from differences.csv, and the sentence ends
with what the result rests on: the assumed effects, or the structure alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from simulation.outputs.kpis import HEADLINE, is_notable, practical

COST = "total_cost_gbp"
# Outcomes a sentence may name, in reading order (cost has its own clause).
OUTCOMES = tuple(k for k in HEADLINE if k not in (COST, "cost_per_child_gbp"))


@dataclass(frozen=True)
class Finding:
    """One called-out difference: the KPI and the numbers its phrase states."""

    kpi: str
    difference: float
    low: float
    high: float


@dataclass(frozen=True)
class Paragraph:
    """The summary of one scenario against the baseline."""

    scenario: str
    text: str
    findings: list[Finding]
    cost: Finding | None


def in_sentence(label: str) -> str:
    """A measure's label inside a sentence: "referrals a year", but "CP plans" (an
    acronym keeps its capitals)."""
    first = label.split(" ", 1)[0]
    return label if first[:2].isupper() else label[:1].lower() + label[1:]


def _phrase(f: Finding, label: str, fmt: Any) -> str:
    """"<measure>: down 30 (95% CI 25 to 36)": magnitudes, the direction in words."""
    way = "up" if f.difference > 0 else "down"
    lo, hi = sorted((abs(f.low), abs(f.high)))
    half = (f.high - f.low) / 2

    def size(v: float) -> str:  # a difference: percentages in points, no sign
        return fmt(f.kpi, v, signed=True, half=half).lstrip("+")

    return (f"{in_sentence(label)} {way} {size(abs(f.difference))} (95% CI "
            f"{size(lo).removesuffix(' pts')} to {size(hi)})")


def _cost_clause(f: Finding | None, baseline_cost: float, fmt: Any) -> str:
    if f is None:
        return ""
    half = (f.high - f.low) / 2
    interval = (f"95% CI {fmt(COST, f.low, signed=True, half=half)} to "
                f"{fmt(COST, f.high, signed=True, half=half)}")
    shown = fmt(COST, f.difference, signed=True, half=half)
    if not (f.low > 0 or f.high < 0):
        return f" Total cost a year shows no clear difference ({shown}, {interval})."
    if not is_notable(COST, f.difference, f.low, f.high, baseline_cost):
        limit = fmt(COST, practical(COST).threshold(baseline_cost))
        return (f" Total cost a year changes by less than the practical threshold of {limit} "
                f"({shown}, {interval}).")
    way = "an extra cost" if f.difference > 0 else "a saving"
    return f" This comes with {way} of {fmt(COST, abs(f.difference), half=half)} a year ({interval})."


def _rests_on(record: dict[str, Any] | None) -> str:
    effects = (record or {}).get("assumed_effects") or []
    if not effects:
        return " It rests on no assumed practice effects: the differences are structural."
    names = ", ".join(f"{e['name']} ({'+' if e['value'] > 0 else '−'}"
                      f"{abs(e['value']) * 100:.0f}%"
                      + (f" from year {e['starts_at_years']:g}" if e.get("starts_at_years")
                         else "") + ")" for e in effects)
    return f" This rests on assumed effects (inputs, not findings): {names}."


def paragraphs(diffs: pd.DataFrame | None, summary: pd.DataFrame, baseline: str,
               records: dict[str, dict[str, Any]], labels: dict[str, str],
               fmt: Any) -> list[Paragraph]:
    """One paragraph per scenario compared with ``baseline``; ``fmt(kpi, value, signed=,
    half=)`` formats numbers as the tables do, ``labels`` names KPIs."""
    if diffs is None or diffs.empty:
        return []
    base = summary[summary["scenario"] == baseline].set_index("kpi")["mean"]
    out = []
    for name, frame in diffs.groupby("scenario", sort=False):
        rows = frame.drop_duplicates("kpi").set_index("kpi")
        found = []
        for kpi in OUTCOMES:
            if kpi not in rows.index:
                continue
            d, lo, hi = rows.loc[kpi, ["mean_difference", "ci_low", "ci_high"]].astype(float)
            if is_notable(kpi, d, lo, hi, float(base.get(kpi, np.nan))):
                found.append(Finding(kpi, d, lo, hi))
        cost = None
        if COST in rows.index:
            cost = Finding(COST, *rows.loc[COST, ["mean_difference", "ci_low", "ci_high"]]
                           .astype(float))
        if found:
            parts = [_phrase(f, labels.get(f.kpi, f.kpi), fmt) for f in found]
            listed = parts[0] if len(parts) == 1 else "; ".join(parts[:-1]) + "; and " + \
                parts[-1]
            text = f"Compared with {baseline}, under {name}: {listed}."
        else:
            text = (f"Compared with {baseline}, {name} makes no difference to the headline "
                    f"measures that is both clear and as large as its practical threshold.")
        text += _cost_clause(cost, float(base.get(COST, np.nan)), fmt)
        text += _rests_on(records.get(name))
        out.append(Paragraph(str(name), text, found, cost))
    return out
