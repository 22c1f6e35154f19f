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
import multiprocessing as mp
import textwrap
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
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
from matplotlib.text import Text  # noqa: E402
from matplotlib.ticker import Formatter, PercentFormatter  # noqa: E402
from PIL import Image  # noqa: E402

from simulation.analysis.sensitivity import (  # noqa: E402
    prcc_interval,
    prcc_table,
    sample_warning,
    sweep_title,
)
from simulation.analysis.stats import summarise  # noqa: E402
from simulation.outputs.kpis import (  # noqa: E402
    HEADLINE,
    KPI_INFO,
    KPI_ORDER,
    is_notable,
    practical,
)
from simulation.outputs.limitations import limitations  # noqa: E402
from simulation.outputs.sources import FILE_LIKE, cite  # noqa: E402
from simulation.outputs.staffing import GROUPS, staffing_table  # noqa: E402
from simulation.outputs.tables import comparator_with_source  # noqa: E402
from simulation.randomness.distributions import DAYS_PER_YEAR  # noqa: E402
from simulation.report.summary import paragraphs  # noqa: E402
from simulation.scenario import ScenarioError, validate  # noqa: E402


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


def _places(value: float, half: float | None, default: int) -> int:
    """Decimal places a value deserves: ``default``, or fewer where the 95% CI half-width
    ``half`` (same units) says the last digits are noise: the last digit shown is that of
    the half-width's first significant figure (±281 -> tens dropped: 5,100)."""
    if half is None or not np.isfinite(half) or half <= 0:
        return default
    return min(default, -int(np.floor(np.log10(half))))


def _rounded(v: float, places: int) -> str:
    return f"{round(v, places):,.{max(places, 0)}f}"


def money(v: float, half: float | None = None, scale: float | None = None) -> str:
    """Pounds as a board paper writes them: £73.6m, £850k, £420 (no false precision).

    ``scale`` (an interval's largest magnitude) picks the unit, so both ends of an
    interval read alike: £0.36m to £5.83m, not £360k to £5.83m."""
    size = v if scale is None else max(abs(scale), v)
    if size >= 1e6:
        places = _places(v / 1e6, None if half is None else half / 1e6, 1 if v >= 1e7 else 2)
        return f"£{_rounded(v / 1e6, max(places, 0 if scale is None else 1))}m"
    if size >= 1e3:
        places = _places(v / 1e3, None if half is None else half / 1e3, 1 if v < 1e5 else 0)
        return f"£{_rounded(v / 1e3, max(places, 0))}k"
    return f"£{v:,.0f}"


def _reads_as_zero(text: str) -> bool:
    """A number as written rounds to zero (0, 0.00, £0k): it takes no sign."""
    return not any(c in "123456789" for c in text)


def format_value(kpi: str, value: Any, signed: bool = False, half: float | None = None,
                 scale: float | None = None) -> str:
    """A value as a board paper shows it: 86.4%, £73.6m, 5,110, 13.6, 0.50.

    Signed values are differences; a difference of rates is in percentage points.
    ``half`` (the 95% CI half-width) rounds the value to what the replications support."""
    if value is None or pd.isna(value) or not np.isfinite(value):
        return "n/a"
    unit, v = kpi_label(kpi).unit, abs(float(value))
    if unit == "%":
        body = _rounded(v * 100, _places(v * 100, None if half is None else half * 100, 1)) \
            + (" pts" if signed else "%")
    elif unit == "£":
        body = money(v, half, scale)
    else:  # three significant figures, or two below 1 (0.050, 0.0012)
        default = 0 if v >= 100 else 1 if v >= 10 else 2 if v >= 1 or v == 0 else min(
            4, 1 - int(np.floor(np.log10(v))))
        body = _rounded(v, _places(v, half, default))
    if _reads_as_zero(body):  # no sign
        return body
    return (("+" if value >= 0 else "−") if signed else ("−" if value < 0 else "")) + body


class TickLabels(Formatter):
    """Axis labels with just enough decimals that neighbouring ticks read differently
    (£23.5m, £24.0m, £24.5m; never £24m three times). ``money``: pounds, in millions
    when the axis reaches £1m."""

    def __init__(self, money: bool = False) -> None:
        self.money = money
        self.scale, self.decimals = 1.0, 0

    def set_locs(self, locs: Any) -> None:
        super().set_locs(locs)
        ticks = np.sort(np.asarray(locs, dtype=float))
        self.scale = 1e6 if self.money and ticks.size and np.abs(ticks).max() >= 1e6 else 1.0
        steps = np.diff(ticks / self.scale)
        step = steps[steps > 0].min() if (steps > 0).any() else 1.0
        self.decimals = next((d for d in range(6)
                              if abs(step * 10**d - round(step * 10**d)) < 1e-6 * 10**d), 6)

    def __call__(self, x: float, pos: int | None = None) -> str:
        body = f"{abs(x) / self.scale:,.{self.decimals}f}"
        sign = "−" if x < 0 and not _reads_as_zero(body) else ""
        if not self.money:
            return sign + body
        return f"{sign}£{body}" + ("m" if self.scale == 1e6 else "")


def _axis_formatter(kpi: str) -> Any:
    unit = kpi_label(kpi).unit
    if unit == "%":
        return PercentFormatter(xmax=1, decimals=1)
    return TickLabels(money=unit == "£")


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
    _spread_tick_labels(fig)  # ends with a draw of the figure as it is
    return _save(fig, drawn=True)


DPI = 100
PAD_INCHES = 0.12


def _save(fig: plt.Figure, drawn: bool = False) -> str:
    """Encode and close. The saved area is the figure's tight box, so a long label widens
    the image instead of being cut; tests check every text lies inside it.

    ``savefig(bbox_inches="tight")`` would draw the figure twice more (once to measure,
    once to paint), and drawing is most of a report's time. ``drawn`` says the canvas
    already shows the figure as it is (the layout's last step was a draw): when the
    tight box lies on the canvas the image is cut from that drawing, and only a figure
    whose labels reach past its edge is drawn again, by savefig. (matplotlib's ``stale``
    flag cannot say it: asking for tick labels marks a drawn figure stale.)"""
    if not drawn or fig.dpi != DPI:
        fig.set_dpi(DPI)
        fig.canvas.draw()
    png = _crop_drawn(fig)
    if png is None:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", pad_inches=PAD_INCHES)
        png = buf.getvalue()
    plt.close(fig)
    return base64.b64encode(png).decode("ascii")


def _crop_drawn(fig: plt.Figure) -> bytes | None:
    """The drawn canvas cut to the padded tight box, as PNG; None if the tight box leaves
    the canvas (something drawn past its edge would be cut). Padding that reaches past the
    edge is the figure's background, as savefig paints it."""
    box = fig.get_tightbbox(fig.canvas.get_renderer())  # inches
    width, height = fig.canvas.get_width_height()
    if box.x0 < 0 or box.y0 < 0 or box.x1 * DPI > width or box.y1 * DPI > height:
        return None
    pad = round(PAD_INCHES * DPI)
    page = np.empty((height + 2 * pad, width + 2 * pad, 3), dtype=np.uint8)
    page[:] = np.round(np.asarray(fig.get_facecolor()[:3]) * 255)
    page[pad:pad + height, pad:pad + width] = np.asarray(fig.canvas.buffer_rgba())[..., :3]
    # savefig's image: the padded box's size in whole pixels, from its top left corner
    left, top = round(box.x0 * DPI), round(height - box.y1 * DPI)
    columns = int((box.width + 2 * PAD_INCHES) * DPI)
    rows = int((box.height + 2 * PAD_INCHES) * DPI)
    buf = io.BytesIO()
    Image.fromarray(page[top:top + rows, left:left + columns]).save(buf, format="png")  # RGB
    return buf.getvalue()


def _overlaps(boxes: list[Any]) -> bool:
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def _spread_tick_labels(fig: plt.Figure) -> None:
    """Category labels that would run into each other are wrapped onto more lines, then
    tilted, never cut: a reader must tell the scenarios apart. One draw per attempt, for
    every crowded axis at once (drawing is what costs)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()

    def crowded(ax: Any) -> bool:
        labels = _tick_labels(ax.xaxis) if ax.axison else []
        return _overlaps([t.get_window_extent(renderer) for t in labels])

    axes = [ax for ax in fig.axes if crowded(ax)]
    words = {ax: [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()]
             for ax in axes}
    for width, angle in ((18, 0), (12, 0), (18, 30), (None, 90)):
        if not axes:
            return
        for ax in axes:
            size = ax.get_xticklabels()[0].get_fontsize()
            ax.set_xticks(ax.get_xticks(), [w if width is None else textwrap.fill(
                w, width, break_long_words=False) for w in words[ax]], fontsize=size,
                rotation=angle, ha="right" if angle == 30 else "center",
                rotation_mode="anchor" if angle == 30 else "default")
        fig.canvas.draw()
        axes = [ax for ax in axes if crowded(ax)]


def _tick_labels(axis: Any) -> list[Text]:
    """The tick labels actually drawn: those of ticks inside the view limits."""
    low, high = sorted(axis.get_view_interval())
    span = (high - low) * 1e-9
    return [label for loc, label in zip(axis.get_majorticklocs(), axis.get_ticklabels(),
                                        strict=False)
            if low - span <= loc <= high + span and label.get_visible() and label.get_text()]


def _drawn_texts(fig: plt.Figure) -> list[Text]:
    """Every text a reader sees: titles, axis labels, drawn tick labels, legends, notes."""
    texts = [t for t in fig.texts]
    for legend in fig.legends:
        texts += [*legend.get_texts(), legend.get_title()]
    for ax in fig.axes:
        if not ax.axison:
            continue
        texts += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label,
                  *ax.texts, *_tick_labels(ax.xaxis), *_tick_labels(ax.yaxis)]
        if ax.get_legend():
            texts += ax.get_legend().get_texts()
    return [t for t in texts if t.get_visible() and t.get_text().strip()]


def text_problems(fig: plt.Figure) -> list[str]:
    """Texts a reader could not read whole: outside the saved area, or overlapping another
    label of the same axis. Used by the tests on every figure of a report."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    saved = fig.get_tightbbox(renderer).padded(0.12)  # inches, as savefig uses
    dpi = fig.dpi
    problems = []
    for text in _drawn_texts(fig):
        box = text.get_window_extent(renderer)
        inches = [box.x0 / dpi, box.y0 / dpi, box.x1 / dpi, box.y1 / dpi]
        if (inches[0] < saved.x0 - 1e-6 or inches[1] < saved.y0 - 1e-6
                or inches[2] > saved.x1 + 1e-6 or inches[3] > saved.y1 + 1e-6):
            problems.append(f"outside the image: {text.get_text()!r}")
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            shown = _tick_labels(axis)
            boxes = [t.get_window_extent(renderer) for t in shown]
            if _overlaps(boxes):
                problems.append("overlapping tick labels: " + ", ".join(
                    t.get_text() for t in shown))
    return problems


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


def _title(ax: Any, text: str) -> None:
    """A panel's title, placed at the top of its axes rather than measured into place:
    matplotlib would otherwise measure the y axis at every draw to lift the title over
    an offset label ("1e6"), which the report's tick formatters never write."""
    ax.set_title(text, fontsize=9, y=1.0)


def build_report(folder: Path, processes: int = 1) -> Path:
    """Rebuild ``folder/report.html`` from the saved files, for a comparison or a sweep;
    a comparison's figures are drawn by up to ``processes`` processes."""
    folder = Path(folder)
    kind = _read(folder, "manifest.json", True).get("kind", "compare")
    if kind not in ("compare", "sweep"):
        raise ValueError(f"{folder / 'manifest.json'}: unknown kind {kind!r}")
    return build_sweep_report(folder) if kind == "sweep" else build_compare_report(
        folder, processes)


Figure = Callable[..., str]  # draws one figure from its arguments: a PNG, base64-encoded


class Drawing:
    """Figures being drawn: by ``processes`` forked processes (each inheriting the loaded
    modules; a figure is drawn whole by one of them) while the caller writes the rest of
    the report, or one after another by ``result`` when ``processes`` is 1. Drawing is
    most of a report's time, and the figures are independent."""

    def __init__(self, jobs: list[tuple[str, Figure, tuple[Any, ...]]], processes: int) -> None:
        self.jobs = jobs
        self.pool: ProcessPoolExecutor | None = None
        if processes > 1 and len(jobs) > 1 and "fork" in mp.get_all_start_methods():
            self.pool = ProcessPoolExecutor(min(processes, len(jobs)),
                                            mp_context=mp.get_context("fork"))
            self.futures = [self.pool.submit(draw, *args) for _, draw, args in jobs]

    def result(self) -> dict[str, str]:
        """{name: PNG} in the order of the jobs."""
        if self.pool is None:
            return {name: draw(*args) for name, draw, args in self.jobs}
        with self.pool:
            return {name: future.result()
                    for (name, _, _), future in zip(self.jobs, self.futures, strict=True)}


# ------------------------------------------------------------------ comparison
def build_compare_report(folder: Path, processes: int = 1) -> Path:
    """Write ``folder/report.html`` for a compare folder. Absent optional files (stocks,
    distributions, differences, costs) drop their part of the report; summary.csv is
    recomputed. Figures are drawn by up to ``processes`` processes (``Drawing``)."""
    folder = Path(folder)
    manifest = _read(folder, "manifest.json", True)
    runs = _read(folder, "runs.parquet", required=True)
    summary = _read(folder, "summary.csv")
    if summary is None:
        summary = summarise(runs, _kpis_in(runs))
    diffs, stocks, dists, costs = (_read(folder, name) for name in (
        "differences.csv", "stocks.parquet", "distributions.parquet", "costs.parquet"))
    records = manifest.get("scenarios", [])
    names = list(dict.fromkeys([r["name"] for r in records] + list(runs["scenario"])))
    colours = dict(zip(names, sns.color_palette("colorblind", len(names)), strict=True))
    kpis = [k for k in _kpis_in(runs) if k in set(summary["kpi"])] or list(summary["kpi"].unique())
    headline = [k for k in HEADLINE if k in kpis]
    # the template leaves out the sections of absent figures
    drawing = Drawing(_figure_jobs(summary, headline, costs, stocks, dists, names, colours,
                                   manifest.get("years", "?")), processes)
    reps = manifest.get("reps", runs["rep"].nunique())
    by_name = {r["name"]: r for r in records}
    baseline = str(diffs["baseline"].iloc[0]) if diffs is not None and not diffs.empty \
        else names[0]
    local = (manifest.get("comparators") or {}).get(baseline) or by_name.get(
        baseline, {}).get("comparators")
    population = _population(by_name.get(baseline))
    sources: list[str] = []
    tables = {"headline": _kpi_table(headline, names, summary, diffs, population, local,
                                     sources),
              "others": _kpi_table([k for k in kpis if k not in headline], names, summary,
                                   diffs, population, local, sources)}
    executive = paragraphs(diffs, summary, baseline, by_name,
                           {k: kpi_label(k).label for k in kpis}, format_value)
    _cite_records(records)
    gaps = limitations()
    sources += [g.source for g in gaps if g.source]
    figures = drawing.result()
    return _render(
        folder, manifest, kind="compare", title="Operating models compared: " + ", ".join(names),
        facts=[("Scenarios", ", ".join(names)), ("Replications", reps)], reps=reps,
        figures=figures, executive=executive, staffing=_staffing(records),
        limitations=gaps, sources=_publications(sources), comparator_local=bool(local),
        **tables)


def _cite_records(records: list[dict[str, Any]]) -> None:
    """Descriptions and evidence as the reader sees them: sources by publication."""
    for r in records:
        r["description"] = cite(r.get("description") or "")
        for e in r.get("assumed_effects") or []:
            e["evidence"] = cite(e.get("evidence") or "")


def _population(record: dict[str, Any] | None) -> int | None:
    """The council's number of children, from the manifest's scenario record."""
    if not record:
        return None
    population = record.get("population") or (record.get("resolved") or {}).get("population")
    return int(population) if population else None


def _publications(cited: list[str]) -> list[str]:
    """The cited publications, once each, in order; anything file-like is dropped."""
    out = []
    for text in cited:
        for part in text.split("; "):
            part = part.removeprefix("England: ").split(" (national rate")[0].strip()
            if part and part not in out and not FILE_LIKE.search(part):
                out.append(part)
    return out


def _staffing(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """FTE by role and group per structure, from the resolved scenarios in the manifest."""
    scenarios = []
    for r in records:
        try:
            scenarios.append(validate(r["resolved"]))
        except (KeyError, TypeError, ScenarioError):
            return None  # an older manifest without resolved scenarios: no table
    if not scenarios:
        return None
    table = staffing_table(scenarios)
    names = [sc.name for sc in scenarios]
    wide = table.pivot_table(index=["group", "role"], columns="scenario", values="fte",
                             aggfunc="sum", fill_value=0.0)
    rows = []
    for group in GROUPS:
        if group not in wide.index.get_level_values(0):
            continue
        part = wide.loc[group]
        rows.append({"cls": "group", "cells": [group, *(_fte(part[n].sum()) for n in names)]})
        order = part.max(axis=1).sort_values(ascending=False).index
        rows += [{"cls": "", "cells": [role, *(_fte(part.loc[role, n]) for n in names)]}
                 for role in order]
    totals = table.groupby("scenario")[["fte", "case_holding_fte", "cost_gbp_year"]].sum()
    rows.append({"cls": "group", "cells": ["All staff", *(_fte(totals.loc[n, "fte"])
                                                         for n in names)]})
    rows.append({"cls": "", "cells": ["Case-holding capacity (FTE x caseload share)", *(
        _fte(totals.loc[n, "case_holding_fte"]) for n in names)]})
    rows.append({"cls": "", "cells": ["Establishment cost a year (all posts filled)", *(
        money(totals.loc[n, "cost_gbp_year"]) for n in names)]})
    if any(sc.structure.changes for sc in scenarios):  # a projection: the table is day 0
        rows.append({"cls": "", "cells": ["Changes at dates (not in the figures above)", *(
            "; ".join(f"{c.role.replace('_', ' ')} "
                      + (f"{(c.factor - 1) * 100:+.0f}%" if c.factor is not None
                         else f"{c.fte:+g} FTE")
                      + f" from year {c.at_years:g}" for c in sc.structure.changes) or "–"
            for sc in scenarios)]})
    return {"header": ["Staff (FTE)", *names], "rows": rows}


def _fte(value: float) -> str:
    return "–" if value == 0 else f"{value:,.1f}".removesuffix(".0")


def _kpi_table(kpis: list[str], names: list[str], summary: pd.DataFrame,
               diffs: pd.DataFrame | None, population: int | None = None,
               local: dict[str, Any] | None = None,
               sources: list[str] | None = None) -> dict[str, Any] | None:
    """One row per KPI: each scenario's mean and CI, the comparator (a council's own figure
    or the national one scaled to the population), then paired differences from the
    baseline, marked where they are notable (CI excludes 0, practical threshold reached)."""
    if not kpis:
        return None
    s = _intervals(summary, "mean")
    d, vs, baseline = None, [], names[0]
    if diffs is not None and not diffs.empty:
        d = _intervals(diffs, "mean_difference")
        baseline = str(diffs["baseline"].iloc[0])
        vs = [n for n in names if n in set(diffs["scenario"])]
    rows, with_comparator = [], False
    compared = [comparator_with_source(k, population, local) for k in kpis]
    with_comparator = any(v is not None for v, _ in compared)
    for kpi, (value, source) in zip(kpis, compared, strict=True):
        text, unit = kpi_label(kpi)
        base = s[(baseline, kpi)][0] if (baseline, kpi) in s else np.nan
        threshold = practical(kpi).threshold(base)
        sub = "" if unit in ("%", "£") or unit in text else unit
        sub = (sub + "; " if sub else "") + "practical threshold " + format_value(
            kpi, threshold, signed=bool(vs)).lstrip("+") if vs else sub
        row = [{"text": text, "sub": sub}] + [_cell(kpi, s, n) for n in names]
        if with_comparator:
            row.append({"text": format_value(kpi, value) if value is not None else "—",
                        "sub": "local" if local and kpi in local else (
                            "England" if value is not None else "")})
            if value is not None and sources is not None:
                sources.append(source)
        row += [_cell(kpi, d, n, base, signed=True) for n in vs]
        rows.append(row)
    header = ["Measure", *names] + (["Comparator"] if with_comparator else []) + [
        f"{n} vs {baseline}" for n in vs]
    return {"header": header, "rows": rows, "baseline": baseline if vs else None,
            "text_columns": [0]}


Intervals = dict[tuple[str, str], tuple[float, float, float]]


def _intervals(frame: pd.DataFrame, column: str) -> Intervals:
    """{(scenario, kpi): (``column``, ci_low, ci_high)}, the first row of each pair: a
    table has a few hundred cells, and a dict answers each at once where a DataFrame
    lookup costs a millisecond."""
    first = frame.drop_duplicates(["scenario", "kpi"])
    values = first[[column, "ci_low", "ci_high"]].to_numpy(dtype=float)
    return dict(zip(zip(first["scenario"], first["kpi"], strict=True),
                    map(tuple, values.tolist()), strict=True))


def _cell(kpi: str, intervals: Intervals | None, name: str, baseline: float = np.nan,
          signed: bool = False) -> dict[str, str]:
    """"mean (low – high)", or for a difference (``signed``) "+d (low to high)", marked
    when notable; rounded to what the interval supports."""
    if intervals is None or (name, kpi) not in intervals:
        return {"text": "n/a"}
    mid, low, high = intervals[(name, kpi)]
    if signed and np.isfinite(baseline) and max(abs(mid), abs(low), abs(high)) <= 1e-9 * max(
            abs(baseline), 1.0):
        return {"text": "0", "sub": "(identical runs)"}  # the same in every replication
    half = (high - low) / 2 if np.isfinite(high - low) else None
    wide = max(abs(low), abs(high)) if np.isfinite(high - low) else None
    low_text, high_text = (format_value(kpi, v, signed, half, wide).replace(" pts", "")
                           for v in (low, high))
    notable = signed and is_notable(kpi, mid, low, high, baseline)
    return {"text": format_value(kpi, mid, signed, half), "cls": "flag" if notable else "",
            "sub": "" if np.isnan(low) else
            f"({low_text} {'to' if signed else '–'} {high_text})"}


def _cost_figure(costs: pd.DataFrame, names: list[str], colours: dict[str, Any]) -> str:
    """Staff and placement spend over time, at its yearly rate, per structure."""
    year = DAYS_PER_YEAR / 7
    frame = costs.assign(staff=costs["staff_gbp_week"] * year,
                         placements=costs["placement_gbp_week"] * year)
    frame["total"] = frame["staff"] + frame["placements"]
    bands = [(title, _band(frame, ["scenario"], column)) for title, column in (
        ("Staff (agency included), £ a year", "staff"),
        ("Placements, £ a year", "placements"), ("Staff and placements, £ a year", "total"))]
    return _time_figure(bands, names, colours, money=True, cols=3)


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
        _title(ax, textwrap.fill(text, 34))
        ax.set_xticks(range(len(names)), names, fontsize=8)
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
                 colours: dict[str, Any], money: bool = False, cols: int = 4) -> str:
    """Weekly series over years: a line (mean) and band per scenario, a panel per series."""
    fig, axes = _panels(len(bands), cols=cols, size=(3.6, 2.6) if cols == 3 else (3.0, 2.4))
    for ax, (title, band) in zip(axes, bands, strict=False):
        for name in names:
            part = band[band["scenario"] == name]
            years = part["day"] / 365.25
            ax.plot(years, part["mean"], color=colours[name], lw=1.4)
            ax.fill_between(years, part["low"], part["high"], color=colours[name], alpha=0.18,
                            lw=0)
        _title(ax, title)
        ax.set_xlabel("years from start", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.yaxis.set_major_formatter(TickLabels(money=money))
    return _png(fig, names, colours)


def _figure_jobs(summary: pd.DataFrame, headline: list[str], costs: pd.DataFrame | None,
                 stocks: pd.DataFrame | None, dists: pd.DataFrame | None, names: list[str],
                 colours: dict[str, Any], years: Any) -> list[tuple[str, Figure, tuple]]:
    """The comparison's figures that its files allow, the longest to draw first (so that
    processes drawing them in parallel finish together)."""
    jobs: list[tuple[str, Figure, tuple]] = []
    if headline:
        jobs.append(("headline", _headline_figure, (summary, headline, names, colours)))
    if stocks is not None and not stocks.empty:
        stocks = stocks[stocks["scenario"].isin(names)]
        jobs += [("stocks", _stocks_figure, (stocks, names, colours)),
                 ("waiting", _waiting_figure, (stocks, names, colours))]
    if costs is not None and not costs.empty:
        jobs.append(("costs", _cost_figure, (costs[costs["scenario"].isin(names)], names,
                                             colours)))
    if dists is not None and not dists.empty:
        dists = dists[dists["scenario"].isin(names)]
        changes = dists[dists["measure"] == "sw_changes"]
        care = dists[dists["measure"] == "days_in_care"]
        if not changes.empty:
            jobs.append(("changes", _changes_figure, (changes, names, colours, years)))
        if not care.empty:
            jobs.append(("care", _care_figure, (care, names, colours)))
    return jobs


def _stages_in(stocks: pd.DataFrame) -> list[str]:
    present = list(dict.fromkeys(stocks["stage"]))
    return [s for s in STAGES if s in present] + [s for s in present if s not in STAGES]


def _stocks_figure(stocks: pd.DataFrame, names: list[str], colours: dict[str, Any]) -> str:
    """Open cases of each stage over time."""
    by_stage = _band(stocks, ["stage", "scenario"], "open")
    return _time_figure([(STAGES.get(s, s), by_stage[by_stage["stage"] == s])
                         for s in _stages_in(stocks)], names, colours)


def _waiting_figure(stocks: pd.DataFrame, names: list[str], colours: dict[str, Any]) -> str:
    """Cases waiting for a worker over time: all stages, then each stage that had any."""
    totals = stocks.groupby(["scenario", "rep", "day"], observed=True)["unallocated"].sum()
    waited = [s for s in _stages_in(stocks)
              if stocks.loc[stocks["stage"] == s, "unallocated"].any()]
    waiting = _band(stocks[stocks["stage"].isin(waited)], ["stage", "scenario"], "unallocated")
    return _time_figure(
        [("All stages", _band(totals.reset_index(), ["scenario"], "unallocated"))]
        + [(STAGES.get(s, s), waiting[waiting["stage"] == s]) for s in waited],
        names, colours)


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


def _changes_figure(changes: pd.DataFrame, names: list[str], colours: dict[str, Any],
                    years: Any) -> str:
    """Children by their number of changes of social worker over the run."""
    labels = ["0", "1", "2", "3", "4", "5+"]
    changes = changes.assign(n=[labels[int(min(v, 5))] for v in changes["value"]])
    return _share_bars(changes, "n", labels, names, colours,
                       f"changes of social worker per child over {years} years",
                       "share of children")


def _care_figure(care: pd.DataFrame, names: list[str], colours: dict[str, Any]) -> str:
    """Care episodes by their length."""
    band = pd.cut(care["value"], [*CARE_BANDS, np.inf], right=False,
                  labels=list(CARE_BANDS.values()))
    return _share_bars(care.assign(band=band), "band", list(CARE_BANDS.values()),
                       names, colours, "length of the care episode (month = 30 days)",
                       "share of episodes")


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
    context: dict[str, Any] = {"needed": len(params) + 3,
                               "small_sample": sample_warning(len(means), len(params)),
                               "chance": prcc_interval(0.0, len(means), len(params))[1]}
    if params and kpis:
        # A few measures per figure, so a printed page holds each one at a readable size.
        context["scatter"] = [_scatter(means, summary, params, kpis[i:i + 3])
                              for i in range(0, len(kpis), 3)]
    if params and kpis and len(means) >= len(params) + 3:
        coefficients = prcc_table(means, params, kpis)
        context.update(tornado=_tornado(coefficients, context["chance"]), prcc=[
            (kpi_label(k).label, [(r, *prcc_interval(r, len(means), len(params)))
                                  for r in coefficients[k]]) for k in kpis])
    records = manifest.get("scenarios", [])
    _cite_records(records)
    name = (records[0]["name"] if records else str(runs["scenario"].iloc[0])).rsplit("#", 1)[0]
    return _render(
        folder, manifest, kind="sweep", title=sweep_title(name, params),
        reps=manifest.get("reps"), limitations=limitations(),
        facts=[("Scenario", name), ("Parameters", ", ".join(params) or "none"),
               ("Combinations", f"{len(means)} ({manifest.get('design', 'lhs')} design)"),
               ("Replications each", manifest.get("reps", "?"))], samples=len(means),
        params=params, **context)


def _tornado(coefficients: pd.DataFrame, chance: float = 0.0) -> str:
    """One horizontal bar chart of PRCCs per KPI, largest effect on top; the grey band is
    what chance alone gives with this many samples."""
    fig, axes = _panels(coefficients.shape[1], cols=3,
                        size=(3.8, 1.4 + 0.35 * len(coefficients)))
    for ax, kpi in zip(axes, coefficients.columns, strict=False):
        values = coefficients[kpi].fillna(0).sort_values(key=np.abs)
        ax.barh(values.index, values.to_numpy(),
                color=["#0b5cad" if v >= 0 else "#c62828" for v in values])
        ax.set_xlim(-1, 1)
        ax.axvspan(-chance, chance, color="#d9dde3", alpha=0.6, lw=0, zorder=0)
        ax.axvline(0, color="#555", lw=0.8)
        _title(ax, textwrap.fill(kpi_label(kpi).label, 38))
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
