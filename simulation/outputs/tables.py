"""Tables for spreadsheet users: KPIs in long format with labels, units and comparators.

``kpis.csv`` (one wide row of machine names) stays for programs; these are for people who
open results in Excel: one row per KPI and scenario, a readable label and unit, the value in
that unit (rates in %, money in £), its 95% CI, and the comparator with its source. A local
figure (a council's own, from the scenario's or manifest's ``comparators``) replaces the
national one where it exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from simulation.outputs.kpis import KPI_INFO, KPI_ORDER, NATIONAL_SOURCES, national_figure
from simulation.outputs.sources import cite, publication

UNITS: dict[str, str] = {
    "count": "per year", "rate": "%", "ratio": "ratio", "gbp": "£ a year",
    "days": "days", "working_days": "working days", "hours": "hours", "per_10k":
    "per 10,000 children", "cases": "cases"}
LONG_COLUMNS = ["kpi", "label", "unit", "scenario", "mean", "ci_low", "ci_high", "n",
                "comparator", "comparator_source"]


# Where the kind's unit says too little.
UNIT_OF: dict[str, str] = {
    "sw_changes_per_child": "changes per child a year", "mean_caseload": "cases per FTE",
    "sw_changes_handover": "changes per child a year",
    "sw_changes_departure": "changes per child a year",
    "sw_changes_absence": "changes per child a year",
    "sw_changes_role_change": "changes per child a year",
    "sw_changes_caseload_management": "changes per child a year",
    "cost_per_child_gbp": "£ per child a year",
    "face_to_face_hours_per_child_week": "hours per child a week",
}


def unit_of(kpi: str) -> str:
    """The unit a KPI's value is shown in (rates in %, money in £)."""
    info = KPI_INFO.get(kpi)
    if info is None:
        return ""
    return UNIT_OF.get(kpi) or UNITS.get(info.kind, "")


def label_of(kpi: str) -> str:
    info = KPI_INFO.get(kpi)
    if info is None:
        return kpi.replace("_", " ").capitalize()
    return info.label.strip().replace("of which ", "Worker changes per child a year: ")


def scale(kpi: str) -> float:
    """Stored value -> shown value: rates are stored as fractions and shown in %."""
    info = KPI_INFO.get(kpi)
    return 100.0 if info is not None and info.kind == "rate" else 1.0


def comparator_with_source(kpi: str, population: int | None,
               local: dict[str, Any] | None = None) -> tuple[float | None, str]:
    """(value as stored, source): a local figure if given, else the national one scaled to
    the population; (None, "") where neither exists."""
    if local and kpi in local:
        entry = local[kpi]
        if isinstance(entry, dict):
            return float(entry["value"]), cite(str(entry.get("source", "local figure")))
        return float(entry), "local figure"
    if population is None:
        return None, ""
    value = national_figure(kpi, population)
    if value is None:
        return None, ""
    source = publication(NATIONAL_SOURCES[kpi]) if kpi in NATIONAL_SOURCES else \
        "DfE published statistics"
    if KPI_INFO[kpi].kind == "count":
        source += f" (national rate scaled to {population:,} children)"
    return value, f"England: {source}"


def long_table(summary: pd.DataFrame, populations: dict[str, int | None],
               local: dict[str, dict[str, Any]] | None = None) -> pd.DataFrame:
    """``summary`` (scenario, kpi, mean, ci_low, ci_high, n) as the long, labelled table.
    ``local[scenario][kpi]`` is a council's own figure ({value, source} or a number)."""
    order = {k: i for i, k in enumerate(KPI_ORDER)}
    rows = []
    for r in summary.itertuples(index=False):
        k = str(r.kpi)
        value, source = comparator_with_source(k, populations.get(r.scenario), (local or {}).get(
            r.scenario))
        f = scale(k)
        rows.append({"kpi": k, "label": label_of(k), "unit": unit_of(k),
                     "scenario": r.scenario, "mean": r.mean * f, "ci_low": r.ci_low * f,
                     "ci_high": r.ci_high * f, "n": int(r.n),
                     "comparator": None if value is None else value * f,
                     "comparator_source": source, "_o": order.get(k, len(order))})
    table = pd.DataFrame(rows, columns=[*LONG_COLUMNS, "_o"])
    return table.sort_values(["_o"], kind="stable").drop(columns="_o").reset_index(drop=True)


def run_kpi_table(kpis: dict[str, float], scenario: str, population: int,
                  local: dict[str, Any] | None = None) -> pd.DataFrame:
    """One run's KPIs in the long layout (one replication: no confidence interval)."""
    summary = pd.DataFrame({"scenario": scenario, "kpi": list(kpis), "mean": list(
        kpis.values()), "ci_low": float("nan"), "ci_high": float("nan"), "n": 1})
    return long_table(summary, {scenario: population}, {scenario: local or {}})


def differences_table(diffs: pd.DataFrame) -> pd.DataFrame:
    """Paired differences from the baseline, labelled, in shown units (rates in points)."""
    out = diffs.copy()
    f = out["kpi"].map(scale)
    for column in ("mean_difference", "ci_low", "ci_high"):
        if column in out:
            out[column] = out[column] * f
    out.insert(1, "label", out["kpi"].map(label_of))
    out.insert(2, "unit", out["kpi"].map(lambda k: "percentage points" if scale(k) == 100
                                        else unit_of(k)))
    return out


def write_workbook(path: Path, sheets: dict[str, pd.DataFrame]) -> Path:
    """An .xlsx workbook, one sheet per table, with readable column widths."""
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name[:31], index=False)
            sheet = writer.sheets[name[:31]]
            for i, column in enumerate(frame.columns, start=1):
                width = max([len(str(column)), *(len(str(v)) for v in frame[column].head(200))])
                sheet.column_dimensions[sheet.cell(1, i).column_letter].width = min(
                    width + 2, 60)
            sheet.freeze_panes = "A2"
    return path
