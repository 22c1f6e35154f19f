"""A self-contained HTML report built from a batch's saved files alone.

One file a strategy team can attach to a board paper: figures are embedded PNGs, styles
inline, nothing fetched. ``build_report(folder)`` reads the folder's manifest and rebuilds
report.html for a comparison or a sweep, so a report can always be remade
(``csflow report FOLDER``) without rerunning anything. The prose and layout live in
templates/report.html; this module supplies tables and figures.
"""

from __future__ import annotations

import base64
import io
import json
import textwrap
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from jinja2 import Environment  # noqa: E402
from matplotlib.ticker import FuncFormatter, PercentFormatter  # noqa: E402

from simulation.analysis.sensitivity import prcc_table  # noqa: E402
from simulation.analysis.stats import summarise  # noqa: E402
from simulation.outputs.kpis import HEADLINE, KPI_INFO, KPI_ORDER  # noqa: E402


class KpiLabel(NamedTuple):
    label: str
    unit: str  # "%", "£", "a year", "days", ... or "" for a plain number


_UNITS = {"count": "a year", "rate": "%", "gbp": "£", "days": "days", "hours": "hours",
          "working_days": "working days", "per_10k": "per 10,000 children", "cases": "cases"}
# From simulation.outputs.kpis, so the terminal, the docs and the report agree; its indented
# "of which ..." labels get their parent, as a table row reads them alone.
KPI_LABELS: dict[str, KpiLabel] = {
    k: KpiLabel(i.label.strip().replace("of which ", "Worker changes per child a year: "),
                _UNITS.get(i.kind, "")) for k, i in KPI_INFO.items()}
STAGES = {"front_door": "Front door (contacts)", "assessment": "Assessment",
          "s47": "Section 47 enquiry", "cin": "Child in need plan", "cp": "Child protection plan",
          "cla": "Looked after", "closed": "Closed (running total)"}
CARE_BANDS = {0: "under 1 month", 30: "1–6 months", 180: "6–12 months", 360: "1–2 years",
              720: "2–5 years", 1800: "5 years or more"}
ID_COLUMNS = {"scenario", "rep", "seed", "sample"}


def kpi_label(kpi: str) -> KpiLabel:
    return KPI_LABELS.get(kpi, KpiLabel(kpi.replace("_", " ").capitalize(), ""))


def format_value(kpi: str, value: Any, signed: bool = False) -> str:
    """A value as a board paper shows it: 86.4%, £73,562,200, 5,112, 13.6, 0.50.

    Signed values are differences; a difference of rates is in percentage points."""
    if value is None or pd.isna(value) or not np.isfinite(value):
        return "n/a"
    unit, v = kpi_label(kpi).unit, abs(float(value))
    if unit == "%":
        body = f"{v * 100:.1f}" + (" pts" if signed else "%")
    elif unit == "£":
        body = f"£{v:,.0f}"
    else:  # three significant figures, or two below 1 (0.050, 0.0012)
        places = 0 if v >= 100 else 1 if v >= 10 else 2 if v >= 1 or v == 0 else min(
            4, 1 - int(np.floor(np.log10(v))))
        body = f"{v:,.{places}f}"
    if not any(c in "123456789" for c in body):  # rounds to zero: no sign
        return body
    return (("+" if value >= 0 else "−") if signed else ("−" if value < 0 else "")) + body


def _axis_formatter(kpi: str) -> Any:
    unit = kpi_label(kpi).unit
    if unit == "%":
        return PercentFormatter(xmax=1, decimals=1)
    if unit == "£":
        return FuncFormatter(lambda v, _: f"£{v / 1e6:,.2f}m" if abs(v) >= 1e6 else f"£{v:,.0f}")
    return FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}")


# ------------------------------------------------------------------ files, pages, figures
def _read(folder: Path, name: str, required: bool = False) -> Any:
    """A saved file (parquet, csv or json); None if an optional one is absent."""
    path = folder / name
    if not path.exists():
        if required:
            raise FileNotFoundError(f"{path}: {name} missing (is this a csflow batch folder?)")
        return None
    if name.endswith(".json"):
        return json.loads(path.read_text(encoding="utf-8"))
    return pd.read_parquet(path) if name.endswith(".parquet") else pd.read_csv(path)


def _kpis_in(frame: pd.DataFrame) -> list[str]:
    """KPI columns in reading order: headline, the rest of KPI_ORDER, then unknown ones."""
    order = dict.fromkeys([*HEADLINE, *KPI_ORDER, *sorted(frame.columns)])
    return [c for c in order if c in frame.columns and c not in ID_COLUMNS
            and pd.api.types.is_numeric_dtype(frame[c])]


def _render(folder: Path, manifest: dict[str, Any], **context: Any) -> Path:
    """Fill templates/report.html; the manifest is there as ``m``."""
    source = resources.files("simulation.report").joinpath("templates/report.html")
    out = folder / "report.html"
    out.write_text(Environment(autoescape=True).from_string(
        source.read_text(encoding="utf-8")).render(
        m=manifest, **context), encoding="utf-8")
    return out


def _png(fig: plt.Figure, legend: list[str] | None = None, colours: dict | None = None,
         left: float = 0.8, gap: float = 0.9, marker: str = "o") -> str:
    """Lay out, encode and close (a report makes many figures and must not leak them).
    Margins are in inches: tight_layout measured every label and took most of the time."""
    w, h = fig.get_size_inches()
    rows, cols = fig.axes[0].get_gridspec().get_geometry()
    top = (0.4 if fig.axes[0].get_title() else 0.15) + (0.55 if legend else 0)
    ax_w = (w - left - 0.25 - (cols - 1) * gap) / cols
    ax_h = (h - top - 0.6 - (rows - 1) * 0.9) / rows
    fig.subplots_adjust(left=left / w, right=1 - 0.25 / w, bottom=0.6 / h, top=1 - top / h,
                        wspace=gap / ax_w, hspace=0.9 / ax_h)
    if legend:
        handles = [plt.Line2D([], [], color=colours[n], marker=marker, ms=8,
                              lw=0 if marker == "s" else 2) for n in legend]
        fig.legend(handles, legend, loc="upper center", ncol=len(legend), frameon=False,
                   title="Scenario", title_fontsize=9, fontsize=9, bbox_to_anchor=(0.5, 1.0))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _panels(n: int, cols: int = 4, size: tuple[float, float] = (3.0, 2.4)) -> tuple[Any, list]:
    """A seaborn-styled small-multiples grid; unused panels are hidden."""
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    with sns.axes_style("whitegrid", {"grid.color": "#e5e9ef"}):
        fig, axes = plt.subplots(rows, cols, figsize=(size[0] * cols, size[1] * rows),
                                 squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, list(axes.flat)


def build_report(folder: Path) -> Path:
    """Rebuild ``folder/report.html`` from the saved files, for a comparison or a sweep."""
    folder = Path(folder)
    kind = _read(folder, "manifest.json", True).get("kind", "compare")
    if kind not in ("compare", "sweep"):
        raise ValueError(f"{folder / 'manifest.json'}: unknown kind {kind!r}")
    return build_sweep_report(folder) if kind == "sweep" else build_compare_report(folder)


# ------------------------------------------------------------------ comparison
def build_compare_report(folder: Path) -> Path:
    """Write ``folder/report.html`` for a compare folder. Absent optional files (stocks,
    distributions, differences) drop their part of the report; summary.csv is recomputed."""
    folder = Path(folder)
    manifest = _read(folder, "manifest.json", True)
    runs = _read(folder, "runs.parquet", required=True)
    summary = _read(folder, "summary.csv")
    if summary is None:
        summary = summarise(runs, _kpis_in(runs))
    diffs, stocks, dists = (_read(folder, name) for name in (
        "differences.csv", "stocks.parquet", "distributions.parquet"))
    records = manifest.get("scenarios", [])
    names = list(dict.fromkeys([r["name"] for r in records] + list(runs["scenario"])))
    colours = dict(zip(names, sns.color_palette("colorblind", len(names)), strict=True))
    kpis = [k for k in _kpis_in(runs) if k in set(summary["kpi"])] or list(summary["kpi"].unique())
    headline = [k for k in HEADLINE if k in kpis]
    figures: dict[str, str] = {}  # the template leaves out the sections of absent figures
    if headline:
        figures["headline"] = _headline_figure(summary, headline, names, colours)
    if stocks is not None and not stocks.empty:
        figures.update(_stock_figures(stocks[stocks["scenario"].isin(names)], names, colours))
    if dists is not None and not dists.empty:
        figures.update(_distribution_figures(dists[dists["scenario"].isin(names)], names,
                                             colours, manifest.get("years", "?")))
    reps = manifest.get("reps", runs["rep"].nunique())
    return _render(
        folder, manifest, kind="compare", title="Operating models compared: " + ", ".join(names),
        facts=[("Scenarios", ", ".join(names)), ("Replications", reps)], reps=reps,
        headline=_kpi_table(headline, names, summary, diffs), figures=figures,
        others=_kpi_table([k for k in kpis if k not in headline], names, summary, diffs))


def _kpi_table(kpis: list[str], names: list[str], summary: pd.DataFrame,
               diffs: pd.DataFrame | None) -> dict[str, Any] | None:
    """One row per KPI: each scenario's mean and CI, then paired differences from the
    baseline, flagged where the interval excludes zero."""
    if not kpis:
        return None
    s = summary.drop_duplicates(["scenario", "kpi"]).set_index(["scenario", "kpi"])
    d, vs, baseline = None, [], names[0]
    if diffs is not None and not diffs.empty:
        d = diffs.drop_duplicates(["scenario", "kpi"]).set_index(["scenario", "kpi"])
        baseline = str(diffs["baseline"].iloc[0])
        vs = [n for n in names if n in set(diffs["scenario"])]
    rows = []
    for kpi in kpis:
        text, unit = kpi_label(kpi)
        rows.append([{"text": text, "sub": "" if unit in ("%", "£") or unit in text else unit}]
                    + [_cell(kpi, s, n, "mean") for n in names]
                    + [_cell(kpi, d, n, "mean_difference") for n in vs])
    return {"header": ["Measure", *names, *[f"{n} vs {baseline}" for n in vs]], "rows": rows,
            "baseline": baseline if vs else None, "text_columns": [0]}


def _cell(kpi: str, frame: pd.DataFrame, name: str, column: str) -> dict[str, str]:
    """"mean (low – high)", or for a difference "+d (low to high)" flagged if it excludes 0."""
    if (name, kpi) not in frame.index:
        return {"text": "n/a"}
    mid, low, high = frame.loc[(name, kpi), [column, "ci_low", "ci_high"]].astype(float)
    signed = column != "mean"
    low_text, high_text = (format_value(kpi, v, signed).replace(" pts", "") for v in (low, high))
    return {"text": format_value(kpi, mid, signed), "cls": "flag" if signed and (
        low > 0 or high < 0) else "", "sub": "" if np.isnan(low) else
        f"({low_text} {'to' if signed else '–'} {high_text})"}


def _headline_figure(summary: pd.DataFrame, kpis: list[str], names: list[str],
                     colours: dict[str, Any]) -> str:
    """Point and 95% interval per scenario, one panel (own scale) per headline KPI."""
    s = summary[summary["scenario"].isin(names)].drop_duplicates(["scenario", "kpi"])
    fig, axes = _panels(len(kpis), size=(3.0, 2.5))
    for ax, kpi in zip(axes, kpis, strict=False):
        for _, r in s[s["kpi"] == kpi].iterrows():
            err = np.nan_to_num([[r["mean"] - r["ci_low"]], [r["ci_high"] - r["mean"]]])
            ax.errorbar(names.index(r["scenario"]), r["mean"], yerr=np.abs(err), fmt="o", ms=6,
                        capsize=4, lw=1.8, color=colours[r["scenario"]])
        text, unit = kpi_label(kpi)
        ax.set_title(textwrap.fill(text, 34), fontsize=9)
        ax.set_xticks(range(len(names)), [n[:14] for n in names], fontsize=8)
        ax.set_xlim(-0.6, len(names) - 0.4)
        ax.yaxis.set_major_formatter(_axis_formatter(kpi))
        ax.tick_params(axis="y", labelsize=8)
        ax.set_ylabel("" if unit in ("%", "£") else unit, fontsize=8)
    return _png(fig, names, colours)


def _band(frame: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    """Mean and the 2.5-97.5% range of the replications, per key and day."""
    g = frame.groupby([*keys, "day"], sort=True, observed=True)[value]
    return pd.concat({"mean": g.mean(), "low": g.quantile(0.025), "high": g.quantile(0.975)},
                     axis=1).reset_index()


def _time_figure(bands: list[tuple[str, pd.DataFrame]], names: list[str],
                 colours: dict[str, Any]) -> str:
    """Weekly series over years: a line (mean) and band per scenario, a panel per series."""
    fig, axes = _panels(len(bands))
    for ax, (title, band) in zip(axes, bands, strict=False):
        for name in names:
            part = band[band["scenario"] == name]
            years = part["day"] / 365.25
            ax.plot(years, part["mean"], color=colours[name], lw=1.4)
            ax.fill_between(years, part["low"], part["high"], color=colours[name], alpha=0.18,
                            lw=0)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("years from start", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    return _png(fig, names, colours)


def _stock_figures(stocks: pd.DataFrame, names: list[str],
                   colours: dict[str, Any]) -> dict[str, str]:
    present = list(dict.fromkeys(stocks["stage"]))
    stages = [s for s in STAGES if s in present] + [s for s in present if s not in STAGES]
    by_stage = _band(stocks, ["stage", "scenario"], "open")
    totals = stocks.groupby(["scenario", "rep", "day"], observed=True)["unallocated"].sum()
    waited = [s for s in stages if stocks.loc[stocks["stage"] == s, "unallocated"].any()]
    waiting = _band(stocks[stocks["stage"].isin(waited)], ["stage", "scenario"], "unallocated")
    return {"stocks": _time_figure([(STAGES.get(s, s), by_stage[by_stage["stage"] == s])
                                    for s in stages], names, colours),
            "waiting": _time_figure(
                [("All stages", _band(totals.reset_index(), ["scenario"], "unallocated"))]
                + [(STAGES.get(s, s), waiting[waiting["stage"] == s]) for s in waited],
                names, colours)}


def _share_bars(frame: pd.DataFrame, column: str, order: list[str], names: list[str],
                colours: dict[str, Any], xlabel: str, ylabel: str) -> str:
    """Grouped bars: each scenario's share of the total count in each category."""
    counts = frame.groupby(["scenario", column], observed=True)["count"].sum()
    shares = (counts / counts.groupby(level=0).transform("sum")).rename("share").reset_index()
    fig, (ax,) = _panels(1, size=(11, 3.4))
    sns.barplot(shares, x=column, y="share", hue="scenario", order=order, hue_order=names,
                palette=colours, saturation=1, ax=ax, legend=False)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return _png(fig, names, colours, marker="s")


def _distribution_figures(dists: pd.DataFrame, names: list[str], colours: dict[str, Any],
                          years: Any) -> dict[str, str]:
    out, changes = {}, dists[dists["measure"] == "sw_changes"]
    if not changes.empty:
        labels = ["0", "1", "2", "3", "4", "5+"]
        changes = changes.assign(n=[labels[int(min(v, 5))] for v in changes["value"]])
        out["changes"] = _share_bars(changes, "n", labels, names, colours,
                                     f"changes of social worker per child over {years} years",
                                     "share of children")
    care = dists[dists["measure"] == "days_in_care"]
    if not care.empty:
        band = pd.cut(care["value"], [*CARE_BANDS, np.inf], right=False,
                      labels=list(CARE_BANDS.values()))
        out["care"] = _share_bars(care.assign(band=band), "band", list(CARE_BANDS.values()),
                                  names, colours, "length of the care episode (month = 30 days)",
                                  "share of episodes")
    return out


# ------------------------------------------------------------------ sweep
def build_sweep_report(folder: Path) -> Path:
    """Write ``folder/report.html`` for a sweep: which parameters move which KPIs."""
    folder = Path(folder)
    manifest = _read(folder, "manifest.json", True)
    runs = _read(folder, "runs.parquet", required=True)
    params = [p["path"] for p in manifest.get("parameters", []) if p["path"] in runs.columns]
    kpis = [k for k in HEADLINE if k in runs.columns and runs[k].dropna().nunique() > 1]
    summary = summarise(runs, kpis, by="sample")  # CIs of sample means, from the runs alone
    means = runs.groupby("sample")[params + kpis].mean()
    context: dict[str, Any] = {"needed": len(params) + 3}
    if params and kpis:
        context["scatter"] = _scatter(means, summary, params, kpis)
    if params and kpis and len(means) >= len(params) + 3:
        coefficients = prcc_table(means, params, kpis)
        context.update(tornado=_tornado(coefficients), prcc=[
            (kpi_label(k).label, list(coefficients[k])) for k in kpis])
    records = manifest.get("scenarios", [])
    name = records[0]["name"] if records else str(runs["scenario"].iloc[0])
    return _render(
        folder, manifest, kind="sweep", title=f"Sensitivity of {name} to "
        f"{len(params)} parameter{'s' if len(params) != 1 else ''}", reps=manifest.get("reps"),
        facts=[("Scenario", name), ("Parameters", ", ".join(params) or "none"),
               ("Combinations", f"{len(means)} ({manifest.get('design', 'lhs')} design)"),
               ("Replications each", manifest.get("reps", "?"))], samples=len(means),
        params=params, **context)


def _tornado(coefficients: pd.DataFrame) -> str:
    """One horizontal bar chart of PRCCs per KPI, largest effect on top."""
    fig, axes = _panels(coefficients.shape[1], cols=3,
                        size=(3.8, 1.4 + 0.35 * len(coefficients)))
    for ax, kpi in zip(axes, coefficients.columns, strict=False):
        values = coefficients[kpi].fillna(0).sort_values(key=np.abs)
        ax.barh(values.index, values.to_numpy(),
                color=["#0b5cad" if v >= 0 else "#c62828" for v in values])
        ax.set_xlim(-1, 1)
        ax.axvline(0, color="#555", lw=0.8)
        ax.set_title(textwrap.fill(kpi_label(kpi).label, 38), fontsize=9)
        ax.tick_params(labelsize=8)
    label_width = 0.3 + 0.065 * max(len(str(p)) for p in coefficients.index)
    return _png(fig, left=label_width, gap=label_width)


def _scatter(means: pd.DataFrame, summary: pd.DataFrame, params: list[str],
             kpis: list[str]) -> str:
    """Each KPI (rows) against each parameter (columns): sample means with 95% CIs."""
    fig, axes = _panels(len(kpis) * len(params), cols=len(params),
                        size=(max(2.8, min(4.5, 11 / len(params))), 2.3))
    for i, kpi in enumerate(kpis):
        s = summary[summary["kpi"] == kpi].set_index("sample").reindex(means.index)
        err = np.nan_to_num(np.abs(np.vstack([s["mean"] - s["ci_low"],
                                              s["ci_high"] - s["mean"]])))
        for j, param in enumerate(params):
            ax = axes[i * len(params) + j]
            ax.errorbar(means[param], s["mean"], yerr=err, fmt="o", ms=3, lw=0.8,
                        color="#0b5cad", ecolor="#9bb8d8")
            ax.yaxis.set_major_formatter(_axis_formatter(kpi))
            ax.tick_params(labelsize=7)
            ax.set_xlabel(param if i == len(kpis) - 1 else "", fontsize=8)
            ax.set_ylabel(textwrap.fill(kpi_label(kpi).label, 22) if j == 0 else "", fontsize=8)
    return _png(fig, left=1.8, gap=0.7)
