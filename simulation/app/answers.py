"""What the page shows for a question so far: headline cards with CIs, stock bands, and
what each result rests on.

Only replications finished for every scenario are used (the same n everywhere), so each
difference is paired replication by replication against the base and every card
narrows together as runs land.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from simulation.analysis.stats import mean_ci, paired_difference_ci
from simulation.experiments.live import Job, JobView
from simulation.outputs.kpis import KPI_INFO, format_kpi
from simulation.outputs.sources import cite

# Each card: the KPIs to try in order (newer measures first, with a fallback for
# versions of the model that do not compute them yet).
CARDS: tuple[tuple[str, ...], ...] = (
    ("sw_changes_per_child",),
    ("children_waited_rate", "mean_days_unallocated"),
    ("child_days_unallocated_per_child", "unallocated_cases_mean"),
    ("mean_days_in_care",),
    ("cla_per_10k_end",),
    ("total_cost_gbp",),
)
STOCKS: tuple[tuple[str, str], ...] = (
    ("cla", "Children looked after"),
    ("cp", "Children on child protection plans"),
    ("unallocated", "Cases waiting for a worker"),
)


def card_kpis(columns: set[str]) -> list[str]:
    """The first KPI of each card that the model defines and the runs carry."""
    picked = []
    for choices in CARDS:
        for kpi in choices:
            if kpi in KPI_INFO and (not columns or kpi in columns):
                picked.append(kpi)
                break
    return picked


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _signed(kpi: str, value: float, scale: float | None = None) -> str:
    """A difference with its sign; ``scale`` keeps an interval's two ends in one unit."""
    if not math.isfinite(value):
        return "n/a"
    text = format_kpi(kpi, abs(value), scale=scale)
    zero = text == format_kpi(kpi, 0.0, scale=scale)
    if KPI_INFO[kpi].kind == "rate":
        text = text.replace("%", " pts")
    return ("±" if zero or value == 0 else "+" if value > 0 else "−") + text


class Answer:
    """A question's job seen through the page: ``snapshot()`` is the JSON sent each time."""

    def __init__(self, job: Job, labels: list[str], rests_on: list[dict[str, Any]]) -> None:
        self.job = job
        self.labels = labels
        self.rests_on = rests_on
        self._series: dict[tuple[int, int], dict[str, np.ndarray]] = {}
        self._days: np.ndarray | None = None

    def _stock_series(self, view: JobView, si: int, rep: int) -> dict[str, np.ndarray]:
        key = (si, rep)
        if key not in self._series:
            frame = view.outputs[key].stocks
            days = np.sort(frame["day"].unique())
            self._days = days if self._days is None or len(days) < len(self._days) \
                else self._days
            series = {}
            for stage, _ in STOCKS:
                if stage == "unallocated":
                    series[stage] = frame.groupby("day")["unallocated"].sum().to_numpy(float)
                else:
                    series[stage] = frame.loc[frame["stage"] == stage, "open"].to_numpy(float)
            self._series[key] = series
        return self._series[key]

    def snapshot(self, queue: int = 0) -> dict[str, Any]:
        """Everything from one view of the job: runs keep landing while this is built, and
        a page (or the event stream) that reads "finished" must find every run counted."""
        job = self.job
        view = job.view()
        reps = view.complete_reps()
        failures = sorted({o.error.strip().splitlines()[-1] for o in view.outputs.values()
                           if o.error})
        rows = [[view.outputs[(si, r)].row for r in reps] for si in range(view.n_scenarios)]
        columns = set(rows[0][0]) if reps else set()
        cards = [self._card(kpi, rows) for kpi in card_kpis(columns)] if reps else []
        return {
            "job": job.id, "n": len(reps), "reps": view.reps, "arrived": len(view.outputs),
            "total": view.total, "finished": view.done, "withdrawn": view.cancelled,
            "queue": queue,
            "scenarios": [{"name": s.name, "label": label, "base": i == 0}
                          for i, (s, label) in enumerate(zip(job.scenarios, self.labels,
                                                              strict=True))],
            "cards": cards, "stocks": self._stocks(view, reps) if reps else [],
            "rests_on": self.rests_on, "failures": failures,
        }

    def _card(self, kpi: str, rows: list[list[dict]]) -> dict[str, Any]:
        info = KPI_INFO[kpi]
        values = [np.array([r[kpi] for r in scenario_rows], float) for scenario_rows in rows]
        entries = []
        for i, v in enumerate(values):
            ci = mean_ci(v)
            entry = {"mean": _num(ci.mean), "low": _num(ci.low), "high": _num(ci.high),
                     "text": format_kpi(kpi, ci.mean),
                     "pm": format_kpi(kpi, ci.half_width, scale=ci.mean)
                     if math.isfinite(ci.half_width)
                     else None}
            if i > 0:
                d = paired_difference_ci(values[0], v)
                wide = max(abs(d.low), abs(d.high)) if math.isfinite(d.half_width) else None
                entry["diff"] = {"mean": _num(d.mean), "low": _num(d.low), "high": _num(d.high),
                                 "text": _signed(kpi, d.mean),
                                 "range": None if not math.isfinite(d.half_width) else
                                 f"{_signed(kpi, d.low, wide)} to {_signed(kpi, d.high, wide)}",
                                 "clear": bool(math.isfinite(d.half_width)
                                               and (d.low > 0 or d.high < 0))}
            entries.append(entry)
        return {"kpi": kpi, "label": info.label.strip(), "kind": info.kind, "values": entries}

    def _stocks(self, view: JobView, reps: list[int]) -> list[dict[str, Any]]:
        n = len(reps)
        series = [[self._stock_series(view, si, r) for r in reps]
                  for si in range(view.n_scenarios)]
        days = self._days
        width = len(days)
        t = float(stats.t.ppf(0.975, n - 1)) if n > 1 else math.nan
        charts = []
        for stage, title in STOCKS:
            lines = []
            for si, per_rep in enumerate(series):
                matrix = np.vstack([s[stage][:width] for s in per_rep])
                mean = matrix.mean(axis=0)
                half = t * matrix.std(axis=0, ddof=1) / math.sqrt(n) if n > 1 \
                    else np.full(width, np.nan)
                lines.append({"scenario": si, "mean": np.round(mean, 2).tolist(),
                              "low": [_num(x) for x in np.round(np.maximum(mean - half, 0), 2)],
                              "high": [_num(x) for x in np.round(mean + half, 2)]})
            charts.append({"stage": stage, "title": title,
                           "years": np.round(days / 365.25, 3).tolist(), "lines": lines})
        return charts


def rests_on(question_scenarios: list, effects_on: bool) -> list[dict[str, Any]]:
    """For each scenario, the assumed effects its numbers rest on (value, range, evidence)."""
    out = []
    for scenario in question_scenarios:
        declared = [(f"{group}.{name}", e) for group, es in scenario.effects.items()
                    for name, e in es.items()]
        # the workload feedback is assumed too (on unless the room switches effects off)
        declared += [(name, e) for name, e in scenario.assumed_effects()
                     if name.startswith("workforce.pressure.")]
        effects = [{"name": name, "value": e.value, "low": e.low, "high": e.high,
                    "on": effects_on and e.value != 0,
                    "evidence": cite(" ".join(e.evidence.split()))}
                   for name, e in declared]
        out.append({"scenario": scenario.name, "effects": effects})
    return out
