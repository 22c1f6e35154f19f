"""A self-contained HTML report built from a batch's saved files alone.

One file a strategy team can attach to a board paper: figures are embedded PNGs, styles
inline, nothing fetched. ``build_report(folder)`` reads the folder's manifest and
rebuilds report.html for a comparison or a sweep, so a report can always be remade
(``csflow report FOLDER``) without rerunning anything.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from jinja2 import Environment  # noqa: E402

from simulation.kpis import KPI_INFO, KPI_ORDER, format_kpi  # noqa: E402
from simulation.sensitivity import prcc  # noqa: E402

HEADLINE = ["referrals", "assessments_within_45wd_rate", "cp_plans_started", "cla_started",
            "cla_per_10k_end", "mean_days_in_care", "sw_changes_per_child",
            "children_3plus_workers_rate", "cla_3plus_workers_rate", "mean_days_unallocated",
            "mean_caseload", "face_to_face_hours_per_child_week", "total_cost_gbp",
            "cost_per_child_gbp"]
STAGE_LABELS = {"assessment": "Assessment", "s47": "s47 enquiry", "cin": "CIN plan",
                "cp": "CP plan", "cla": "Looked after"}

TEMPLATE = Environment(autoescape=True).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;
color:#1d2433;line-height:1.45;padding:0 1em}
h1{font-size:1.7em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:2px solid #dde3ec;padding-bottom:.2em}
.meta{color:#5a6475;font-size:.92em}table{border-collapse:collapse;width:100%;font-size:.9em;margin:.8em 0}
th,td{border-bottom:1px solid #e3e7ee;padding:.35em .5em;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}th{background:#f3f6fa}
.sig{font-weight:600;color:#0b5cad}.note{background:#fff8e1;border-left:4px solid #f2b600;padding:.6em 1em}
.warn{background:#fdecea;border-left:4px solid #d93025;padding:.6em 1em}
img{max-width:100%;margin:.6em 0}small{color:#5a6475}details{margin:.8em 0}
</style></head><body>
<h1>{{ title }}</h1>
<p class="meta">{{ meta }}</p>
{% for w in warnings %}<p class="warn">{{ w }}</p>{% endfor %}
{% for section in sections %}
<h2>{{ section.title }}</h2>
{% if section.text %}<p>{{ section.text }}</p>{% endif %}
{% if section.note %}<p class="note">{{ section.note }}</p>{% endif %}
{% if section.table %}{{ section.table | safe }}{% endif %}
{% if section.details %}<details><summary>{{ section.details_label }}</summary>{{ section.details | safe }}</details>{% endif %}
{% for img in section.images %}<img alt="{{ section.title }}" src="data:image/png;base64,{{ img }}">{% endfor %}
{% endfor %}
<p class="meta">Made by csflow. Rebuild with <code>csflow report FOLDER</code>.</p>
</body></html>""")


def _png(fig: plt.Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _label(kpi: str) -> str:
    return KPI_INFO[kpi].label.strip() if kpi in KPI_INFO else kpi


def _read(folder: Path, name: str, required: bool = False) -> pd.DataFrame | None:
    path = folder / name
    if not path.exists():
        if required:
            raise FileNotFoundError(f"{path}: missing (is this a csflow batch folder?)")
        return None
    return pd.read_parquet(path) if name.endswith(".parquet") else pd.read_csv(path)


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing (is this a csflow batch folder?)")
    return json.loads(path.read_text())


def build_report(folder: Path) -> Path:
    """Rebuild ``folder/report.html`` from the saved files, for a comparison or a sweep."""
    folder = Path(folder)
    kind = _manifest(folder).get("kind", "compare")
    return build_sweep_report(folder) if kind == "sweep" else build_compare_report(folder)


# ------------------------------------------------------------------ comparison
def build_compare_report(folder: Path) -> Path:
    manifest = _manifest(folder)
    runs = _read(folder, "runs.parquet", required=True)
    summary = _read(folder, "summary.csv")
    diffs = _read(folder, "differences.csv")
    stocks = _read(folder, "stocks.parquet")
    dists = _read(folder, "distributions.parquet")
    names = [s["name"] for s in manifest.get("scenarios", [])] or list(
        dict.fromkeys(runs["scenario"]))
    headline = [k for k in HEADLINE if k in runs.columns]
    sections = [{
        "title": "Headline comparison",
        "text": (f"Mean over {manifest.get('reps', '?')} replications with its 95% confidence "
                 f"interval. Differences are against {names[0]}, paired replication by "
                 "replication (the same children in every scenario); bold differences have "
                 "an interval that excludes zero."),
        "table": _kpi_table(headline, names, summary, diffs),
        "details": _kpi_table([k for k in KPI_ORDER if k in runs.columns and k not in headline],
                              names, summary, diffs),
        "details_label": "All other KPIs",
        "images": [_difference_figure(summary, diffs, headline, names)]
        if summary is not None and diffs is not None and not diffs.empty else [],
    }]
    if stocks is not None and not stocks.empty:
        sections.append({"title": "Open cases over time", "text": (
            "Weekly open cases by stage (top) and those waiting for a worker (bottom): the "
            "line is the mean over replications, the band holds the middle 95%."),
            "images": [_stocks_figure(stocks, names)]})
    if dists is not None and not dists.empty:
        sections.append({"title": "Changes of social worker and time in care", "text": (
            "Left: children with an allocated worker, by how many times their worker changed "
            "in the run. Right: length of completed care episodes."),
            "images": [_distribution_figure(dists, names)]})
    sections.append(_assumptions(manifest))
    meta = (f"{len(names)} scenarios · {manifest.get('reps', '?')} replications · "
            f"{manifest.get('years', '?')} years · seed {manifest.get('seed', '?')} · "
            f"made {manifest.get('created', '')} · {manifest.get('command', '')}")
    page = TEMPLATE.render(title="Operating models compared: " + ", ".join(names), meta=meta,
                           sections=sections, warnings=manifest.get("warnings", []))
    out = folder / "report.html"
    out.write_text(page, encoding="utf-8")
    return out


def _kpi_table(kpis: list[str], names: list[str], summary: pd.DataFrame | None,
               diffs: pd.DataFrame | None) -> str:
    if summary is None or not kpis:
        return ""
    s = summary.set_index(["scenario", "kpi"])
    d = diffs.set_index(["scenario", "kpi"]) if diffs is not None and not diffs.empty else None
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    head += "".join(f"<th>{html.escape(n)} − {html.escape(names[0])}</th>" for n in names[1:]) \
        if d is not None else ""
    rows = []
    for kpi in kpis:
        cells = []
        for name in names:
            if (name, kpi) in s.index:
                r = s.loc[(name, kpi)]
                cells.append(f"<td>{format_kpi(kpi, r['mean'])}<br><small>"
                             f"{format_kpi(kpi, r['ci_low'])} – {format_kpi(kpi, r['ci_high'])}"
                             f"</small></td>")
            else:
                cells.append("<td>n/a</td>")
        for name in names[1:] if d is not None else []:
            if (name, kpi) in d.index:
                r = d.loc[(name, kpi)]
                sig = np.isfinite(r["ci_low"]) and (r["ci_low"] > 0 or r["ci_high"] < 0)
                cls = ' class="sig"' if sig else ""
                cells.append(f"<td{cls}>{_signed(kpi, r['mean_difference'])}<br><small>"
                             f"{_signed(kpi, r['ci_low'])} to {_signed(kpi, r['ci_high'])}"
                             f"</small></td>")
            else:
                cells.append("<td>n/a</td>")
        rows.append(f"<tr><td>{html.escape(_label(kpi))}</td>{''.join(cells)}</tr>")
    return f"<table><tr><th>KPI</th>{head}</tr>{''.join(rows)}</table>"


def _signed(kpi: str, value: float) -> str:
    if not np.isfinite(value):
        return "n/a"
    text = format_kpi(kpi, abs(value))
    if KPI_INFO.get(kpi) and KPI_INFO[kpi].kind == "rate":
        text = f"{abs(value) * 100:.1f} pts"
    return ("+" if value >= 0 else "−") + text


def _difference_figure(summary: pd.DataFrame, diffs: pd.DataFrame, kpis: list[str],
                       names: list[str]) -> str:
    """A forest plot: each KPI's paired difference from the baseline, as a % of the baseline
    mean, with its 95% interval. One picture of what is better, worse, or not different."""
    base = summary[summary["scenario"] == names[0]].set_index("kpi")["mean"]
    rows = [k for k in kpis if k in base.index and base[k] not in (0, np.nan)]
    colours = dict(zip(names, sns.color_palette("colorblind", len(names)), strict=False))
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(rows) + 1.2))
    offsets = np.linspace(-0.18, 0.18, max(len(names) - 1, 1))
    for offset, name in zip(offsets, names[1:], strict=False):
        d = diffs[diffs["scenario"] == name].set_index("kpi")
        for i, kpi in enumerate(rows):
            if kpi not in d.index or not np.isfinite(base[kpi]) or base[kpi] == 0:
                continue
            scale = 100 / abs(base[kpi])
            mid = d.loc[kpi, "mean_difference"] * scale
            low, high = d.loc[kpi, "ci_low"] * scale, d.loc[kpi, "ci_high"] * scale
            ax.errorbar(mid, i + offset, xerr=[[mid - low], [high - mid]], fmt="o", ms=4,
                        capsize=2, color=colours[name], label=name if i == 0 else None)
    ax.axvline(0, color="#555", lw=0.8)
    ax.set_xlim(max(ax.get_xlim()[0], -100), min(ax.get_xlim()[1], 100))
    ax.set_yticks(range(len(rows)), [_label(k) for k in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"difference from {names[0]}, % of {names[0]}'s mean (95% CI; "
                  f"axis clipped at ±100%)")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return _png(fig)


def _stocks_figure(stocks: pd.DataFrame, names: list[str]) -> str:
    """Open and unallocated cases by stage over time: mean and middle 95% of replications."""
    stages = [st for st in STAGE_LABELS if st in set(stocks["stage"])]
    data = stocks[stocks["stage"].isin(stages)]
    grouped = data.groupby(["scenario", "stage", "day"])[["open", "unallocated"]]
    mean = grouped.mean()
    low, high = grouped.quantile(0.025), grouped.quantile(0.975)
    fig, axes = plt.subplots(2, len(stages), figsize=(3.1 * len(stages), 5), sharex=True,
                             squeeze=False)
    colours = dict(zip(names, sns.color_palette("colorblind", len(names)), strict=False))
    for row, measure in enumerate(("open", "unallocated")):
        for ax, stage in zip(axes[row], stages, strict=False):
            for name in names:
                if (name, stage) not in mean.index.droplevel("day"):
                    continue
                m = mean.loc[(name, stage), measure]
                years = m.index / 365.25
                ax.plot(years, m, color=colours[name], label=name, lw=1.2)
                ax.fill_between(years, low.loc[(name, stage), measure],
                                high.loc[(name, stage), measure], color=colours[name],
                                alpha=0.15, lw=0)
            ax.set_title(STAGE_LABELS[stage] + ("" if measure == "open" else ": unallocated"),
                         fontsize=9)
            ax.tick_params(labelsize=7)
            if row == 1:
                ax.set_xlabel("years", fontsize=8)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


def _distribution_figure(dists: pd.DataFrame, names: list[str]) -> str:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.2))
    changes = dists[dists["measure"] == "sw_changes"].copy()
    changes["value"] = changes["value"].clip(upper=5)
    shares = changes.groupby(["scenario", "value"])["count"].sum()
    shares = (shares / shares.groupby(level=0).transform("sum")).rename("share").reset_index()
    sns.barplot(shares, x="value", y="share", hue="scenario", hue_order=names, ax=left,
                palette="colorblind")
    left.set_xlabel("changes of worker in the run (5 = 5 or more)")
    left.set_ylabel("share of children")
    care = dists[dists["measure"] == "days_in_care"]
    care = care.groupby(["scenario", "value"])["count"].sum().reset_index()
    for name, colour in zip(names, sns.color_palette("colorblind", len(names)), strict=False):
        part = care[care["scenario"] == name].sort_values("value")
        if part.empty:
            continue
        share = part["count"] / part["count"].sum()
        right.step(part["value"] / 365.25, share.cumsum(), where="post", label=name,
                   color=colour)
    right.set_xlabel("years in care (completed episodes)")
    right.set_ylabel("cumulative share")
    right.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def _assumptions(manifest: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for s in manifest.get("scenarios", []):
        effects = s.get("assumed_effects", [])
        if not effects:
            rows.append(f"<tr><td>{html.escape(s['name'])}</td><td colspan=4>none: structure "
                        f"alone</td></tr>")
        for e in effects:
            rows.append(
                f"<tr><td>{html.escape(s['name'])}</td><td>{html.escape(e['name'])}<br><small>"
                f"{html.escape(str(e['target']))}</small></td><td>{e['value']:+g}</td>"
                f"<td>{e['low']:+g} to {e['high']:+g}</td><td>{html.escape(e['evidence'])}"
                f"</td></tr>")
    table = ("<table><tr><th>scenario</th><th>assumed effect</th><th>value</th><th>range</th>"
             "<th>evidence</th></tr>" + "".join(rows) + "</table>")
    return {"title": "Assumptions", "note": (
        "Assumed effects are inputs, not findings: the model does not show that a practice "
        "model works; it shows what follows if it does. A scenario with no assumed effects "
        "differs from the others by its structure alone (handovers, cover, caseloads, "
        "queues, staff mix). Rerun with --no-effects to see the structural difference of "
        "every scenario."), "table": table, "images": []}


# ------------------------------------------------------------------ sweep
def build_sweep_report(folder: Path) -> Path:
    manifest = _manifest(folder)
    runs = _read(folder, "runs.parquet", required=True)
    params = [p["path"] for p in manifest.get("parameters", [])]
    kpis = [k for k in HEADLINE if k in runs.columns and runs[k].nunique() > 1]
    means = runs.groupby("sample")[params + kpis].mean()
    rows = "".join(f"<tr><td>{html.escape(p['path'])}</td><td>{p['low']:g}</td>"
                   f"<td>{p['high']:g}</td></tr>" for p in manifest.get("parameters", []))
    sections = [{"title": "Parameters", "table": (
        f"<table><tr><th>parameter</th><th>low</th><th>high</th></tr>{rows}</table>"),
        "text": (f"{manifest.get('design', 'lhs')} design, {len(means)} samples x "
                 f"{manifest.get('reps', '?')} replications, common random numbers across "
                 "samples.")}]
    if params and kpis and len(means) > len(params) + 1:
        coefficients = pd.DataFrame({k: prcc(means, params, k) for k in kpis})
        sections.append({"title": "Sensitivity: partial rank correlations", "text": (
            "How strongly each KPI moves with each parameter, holding the others fixed "
            "(PRCC: -1 to 1). Longer bars matter more."),
            "images": [_tornado(coefficients)],
            "table": coefficients.T.map(lambda v: f"{v:+.2f}").to_html()})
        sections.append({"title": "KPIs against each parameter", "text":
                         "Each point is one sample's mean over its replications.",
                         "images": [_scatter(means, params, kpis)]})
    sections.append(_assumptions(manifest))
    page = TEMPLATE.render(title=f"Sensitivity sweep: {', '.join(params)}",
                           meta=f"{manifest.get('command', '')} · {manifest.get('created', '')}",
                           sections=sections, warnings=manifest.get("warnings", []))
    out = folder / "report.html"
    out.write_text(page, encoding="utf-8")
    return out


def _tornado(coefficients: pd.DataFrame) -> str:
    kpis = list(coefficients.columns)
    cols = min(3, len(kpis))
    rows = int(np.ceil(len(kpis) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 3.8, rows * (0.5 + 0.35 * len(
        coefficients))), squeeze=False)
    for ax, kpi in zip(axes.flat, kpis, strict=False):
        values = coefficients[kpi].sort_values(key=np.abs)
        ax.barh(values.index, values.to_numpy(),
                color=["#0b5cad" if v >= 0 else "#d93025" for v in values])
        ax.set_xlim(-1, 1)
        ax.axvline(0, color="#888", lw=0.8)
        ax.set_title(_label(kpi), fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(kpis):]:
        ax.axis("off")
    fig.tight_layout()
    return _png(fig)


def _scatter(means: pd.DataFrame, params: list[str], kpis: list[str]) -> str:
    fig, axes = plt.subplots(len(kpis), len(params), figsize=(3 * len(params), 2.2 * len(kpis)),
                             squeeze=False)
    for i, kpi in enumerate(kpis):
        for j, param in enumerate(params):
            ax = axes[i, j]
            ax.scatter(means[param], means[kpi], s=10, color="#0b5cad")
            ax.tick_params(labelsize=6)
            if i == len(kpis) - 1:
                ax.set_xlabel(param, fontsize=7)
            if j == 0:
                ax.set_ylabel(_label(kpi), fontsize=7)
    fig.tight_layout()
    return _png(fig)
