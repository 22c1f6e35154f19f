"""A self-contained HTML report built from a batch's saved files alone.

One file a strategy team can attach to a board paper: figures are embedded PNGs, styles
inline, nothing fetched. ``build_report(folder)`` reads the folder's manifest and rebuilds
report.html for a comparison or a sweep, so a report can always be remade
(``csflow report FOLDER``) without rerunning anything.
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

from simulation.kpis import KPI_INFO, KPI_ORDER  # noqa: E402
from simulation.sensitivity import prcc_table  # noqa: E402
from simulation.stats import summarise  # noqa: E402


class KpiLabel(NamedTuple):
    label: str
    unit: str  # "%", "£", "a year", "days", ... or "" for a plain number


_UNITS = {"count": "a year", "rate": "%", "gbp": "£", "days": "days", "hours": "hours",
          "working_days": "working days", "per_10k": "per 10,000 children", "cases": "cases"}


def _plain_label(kpi: str, text: str) -> str:
    """KPI_INFO's indented "of which ..." labels need their parent when read alone."""
    text = text.strip()
    return f"Worker changes per child a year: {text[9:]}" if text.startswith("of which ") \
        else text


# Labels come from simulation.kpis so the terminal, the docs and the report agree.
KPI_LABELS: dict[str, KpiLabel] = {k: KpiLabel(_plain_label(k, i.label), _UNITS.get(i.kind, ""))
                                   for k, i in KPI_INFO.items()}
HEADLINE = ["referrals", "assessments_within_45wd_rate", "cp_plans_started", "cla_started",
            "cla_per_10k_end", "mean_days_in_care", "sw_changes_per_child",
            "children_3plus_workers_rate", "cla_3plus_workers_rate", "mean_days_unallocated",
            "mean_caseload", "face_to_face_hours_per_child_week", "total_cost_gbp",
            "cost_per_child_gbp"]
STAGES = {"front_door": "Front door (contacts)", "assessment": "Assessment",
          "s47": "Section 47 enquiry", "cin": "Child in need plan", "cp": "Child protection plan",
          "cla": "Looked after", "closed": "Closed (running total)"}
CARE_BANDS = [(0, "under 1 month"), (30, "1–6 months"), (180, "6–12 months"),
              (360, "1–2 years"), (720, "2–5 years"), (1800, "5 years or more")]
ID_COLUMNS = {"scenario", "rep", "seed", "sample"}


def kpi_label(kpi: str) -> KpiLabel:
    return KPI_LABELS.get(kpi, KpiLabel(kpi.replace("_", " ").capitalize(), ""))


def format_value(kpi: str, value: Any, signed: bool = False) -> str:
    """A value as a board paper shows it: 86.4%, £73,562,200, 5,112, 13.6.

    Signed values are differences; a difference of rates is in percentage points."""
    if value is None or pd.isna(value) or not np.isfinite(value):
        return "n/a"
    unit, v = kpi_label(kpi).unit, abs(float(value))
    sign = ("+" if value >= 0 else "−") if signed else ("−" if value < 0 else "")
    if unit == "%":
        return sign + (f"{v * 100:.1f} pts" if signed else f"{v * 100:.1f}%")
    if unit == "£":
        return f"{sign}£{v:,.0f}"
    return sign + (f"{v:,.0f}" if v >= 1000 else f"{v:.3g}")


def _axis_formatter(kpi: str) -> Any:
    unit = kpi_label(kpi).unit
    if unit == "%":
        return PercentFormatter(xmax=1, decimals=1)
    if unit == "£":
        return FuncFormatter(lambda v, _: f"£{v / 1e6:,.2f}m" if abs(v) >= 1e6 else f"£{v:,.0f}")
    return FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}")


# ------------------------------------------------------------------ files and rendering
def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"{path}: manifest.json missing (is this a csflow batch folder?)")
    return json.loads(path.read_text(encoding="utf-8"))


def _read(folder: Path, name: str, required: bool = False) -> pd.DataFrame | None:
    path = folder / name
    if not path.exists():
        if required:
            raise FileNotFoundError(f"{path}: {name} missing (is this a csflow batch folder?)")
        return None
    return pd.read_parquet(path) if name.endswith(".parquet") else pd.read_csv(path)


def _kpis_in(frame: pd.DataFrame) -> list[str]:
    """KPI columns in reading order: headline, the rest of KPI_ORDER, then unknown ones."""
    numeric = [c for c in frame.columns if c not in ID_COLUMNS
               and pd.api.types.is_numeric_dtype(frame[c])]
    known = [k for k in [*HEADLINE, *KPI_ORDER] if k in numeric]
    return list(dict.fromkeys(known + sorted(set(numeric) - set(known))))


def _render(folder: Path, context: dict[str, Any]) -> Path:
    source = resources.files("simulation").joinpath("templates/report.html")
    page = Environment(autoescape=True).from_string(source.read_text(encoding="utf-8"))
    out = folder / "report.html"
    out.write_text(page.render(**context), encoding="utf-8")
    return out


def _png(fig: plt.Figure) -> str:
    """Encode and close: a report builds dozens of figures and must not leak them."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(png: str, caption: str, alt: str) -> dict[str, str]:
    return {"png": png, "caption": caption, "alt": alt}


def _style() -> Any:
    return sns.axes_style("whitegrid", {"grid.color": "#e5e9ef"})


def _panels(n: int, cols: int = 4, size: tuple[float, float] = (3.0, 2.3)) -> tuple[Any, list]:
    cols = max(1, min(cols, n))
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(size[0] * cols, size[1] * rows), squeeze=False)
    return fig, list(axes.flat)


def _facts(manifest: dict[str, Any], extra: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    return [(k, str(v)) for k, v in [*extra, ("Simulated years", manifest.get("years", "?")),
                                     ("Random seed", manifest.get("seed", "?")),
                                     ("Created", manifest.get("created", "?")),
                                     ("Command", manifest.get("command") or "—")]]


def _warnings(manifest: dict[str, Any]) -> list[str]:
    warnings = list(manifest.get("warnings", []))
    if manifest.get("failures"):
        warnings.append(f"{manifest['failures']} replication(s) failed and are left out: "
                        "see failures.csv.")
    return warnings


def _version(manifest: dict[str, Any]) -> str:
    return manifest.get("package_versions", {}).get("csflow", "")


def build_report(folder: Path) -> Path:
    """Rebuild ``folder/report.html`` from the saved files, for a comparison or a sweep."""
    folder = Path(folder)
    kind = _manifest(folder).get("kind", "compare")
    if kind not in ("compare", "sweep"):
        raise ValueError(f"{folder / 'manifest.json'}: unknown kind {kind!r}")
    return build_sweep_report(folder) if kind == "sweep" else build_compare_report(folder)


# ------------------------------------------------------------------ comparison
def build_compare_report(folder: Path) -> Path:
    """Write ``folder/report.html`` for a compare folder; sections of absent optional files
    (stocks, distributions, differences) are left out rather than failing."""
    folder = Path(folder)
    manifest = _manifest(folder)
    runs = _read(folder, "runs.parquet", required=True)
    kpis = _kpis_in(runs)
    summary = _read(folder, "summary.csv")
    if summary is None:
        summary = summarise(runs, kpis)
    diffs, stocks = _read(folder, "differences.csv"), _read(folder, "stocks.parquet")
    dists = _read(folder, "distributions.parquet")
    records = manifest.get("scenarios", [])
    names = list(dict.fromkeys([r["name"] for r in records] + list(runs["scenario"])))
    colours = dict(zip(names, sns.color_palette("colorblind", len(names)), strict=True))
    headline = [k for k in HEADLINE if k in set(summary["kpi"])]
    others = [k for k in kpis if k in set(summary["kpi"]) and k not in headline]
    reps, years = manifest.get("reps", runs["rep"].nunique()), manifest.get("years", "?")
    sections = [{"id": "headline", "title": "Headline comparison", "tables": [
        _kpi_table(headline, names, summary, diffs)], "intro": (
            "Each figure is the average over the replications, with its 95% confidence "
            "interval in brackets beneath."), "figures": []}]
    if headline:
        sections[0]["figures"].append(_figure(_headline_figure(summary, headline, names, colours), (
            "Headline measures by scenario: the dot is the average over replications, the "
            "bar its 95% confidence interval. Each panel has its own scale, so compare "
            "scenarios within a panel, not panel sizes."), "Headline measures by scenario"))
    if stocks is not None and not stocks.empty:
        sections += _stock_sections(stocks, names, colours)
    if dists is not None and not dists.empty:
        sections += _distribution_sections(dists, names, colours, years)
    sections.append(_assumptions(records, manifest.get("no_effects", False)))
    if others:
        sections.append({"id": "other", "title": "All other measures", "tables": [
            _kpi_table(others, names, summary, diffs)], "intro": "Same layout as the headline "
            "table, for every other measure the model records.", "figures": []})
    return _render(folder, {
        "title": "Operating models compared: " + ", ".join(names),
        "subtitle": "Simulated children's social care under different ways of organising "
                    "social work teams.",
        "facts": _facts(manifest, [("Scenarios", ", ".join(names)), ("Replications", reps)]),
        "scenarios": [{"name": r["name"], "description": r.get("description", "")}
                      for r in records],
        "baseline_note": "baseline: differences are measured against it",
        "reading": (
            f"Each scenario was simulated {reps} times over {years} years. Replication 1 of "
            "every scenario uses the same random events (the same children and families "
            "arriving), and so on, so a difference between scenarios comes from how teams "
            "are organised, not from luck. A 95% confidence interval is the range the "
            "long-run average very likely lies in; where the interval of a difference "
            "excludes zero the difference is unlikely to be chance. The results are only as "
            "good as the scenario inputs and the assumed effects listed under Assumptions."),
        "warnings": _warnings(manifest), "sections": sections, "version": _version(manifest)})


def _kpi_table(kpis: list[str], names: list[str], summary: pd.DataFrame,
               diffs: pd.DataFrame | None) -> dict[str, Any]:
    """One row per KPI: each scenario's mean and CI, then paired differences from the
    baseline, flagged where the interval excludes zero."""
    s = summary.drop_duplicates(["scenario", "kpi"]).set_index(["scenario", "kpi"])
    d, vs, baseline = None, [], names[0]
    if diffs is not None and not diffs.empty:
        d = diffs.drop_duplicates(["scenario", "kpi"]).set_index(["scenario", "kpi"])
        baseline = str(diffs["baseline"].iloc[0])
        vs = [n for n in names if n in set(diffs["scenario"])]
    rows = []
    for kpi in kpis:
        text, unit = kpi_label(kpi)
        row: list[Any] = [{"text": text, "sub": unit if unit not in ("%", "£", "") and unit
                           not in text else ""}]
        for name in names:
            if (name, kpi) not in s.index:
                row.append({"text": "n/a"})
                continue
            r = s.loc[(name, kpi)]
            ci = "" if pd.isna(r["ci_low"]) else \
                f"({format_value(kpi, r['ci_low'])} – {format_value(kpi, r['ci_high'])})"
            row.append({"text": format_value(kpi, r["mean"]), "sub": ci})
        for name in vs:
            if (name, kpi) not in d.index:
                row.append({"text": "n/a"})
                continue
            r = d.loc[(name, kpi)]
            clear = bool(r["ci_low"] > 0 or r["ci_high"] < 0)
            ci = "" if pd.isna(r["ci_low"]) else (f"({format_value(kpi, r['ci_low'], True)} "
                                                  f"to {format_value(kpi, r['ci_high'], True)})")
            row.append({"text": format_value(kpi, r["mean_difference"], True), "sub": ci,
                        "cls": "flag" if clear else ""})
        rows.append(row)
    note = (f"● marks a difference from {baseline} whose 95% interval excludes zero (paired "
            "replication by replication); unmarked differences could be chance. Differences "
            "of percentages are in percentage points (pts).") if vs else ""
    return {"header": ["Measure", *names, *[f"{n} vs {baseline}" for n in vs]], "rows": rows,
            "note": note, "text_columns": [0]}


def _headline_figure(summary: pd.DataFrame, kpis: list[str], names: list[str],
                     colours: dict[str, Any]) -> str:
    data = summary[summary["kpi"].isin(kpis) & summary["scenario"].isin(names)]

    def draw(data: pd.DataFrame, **_: Any) -> None:
        ax = plt.gca()
        for i, name in enumerate(names):
            row = data[data["scenario"] == name]
            if row.empty:
                continue
            mean, low, high = row[["mean", "ci_low", "ci_high"]].iloc[0].astype(float)
            err = [[mean - low], [high - mean]] if np.isfinite([low, high]).all() else None
            ax.errorbar(i, mean, yerr=err, fmt="o", ms=6, capsize=4, lw=1.8,
                        color=colours[name])

    with _style():
        grid = sns.FacetGrid(data, col="kpi", col_order=kpis, col_wrap=min(4, len(kpis)),
                             sharey=False, height=2.2, aspect=1.35)
        grid.map_dataframe(draw)
        for kpi, ax in grid.axes_dict.items():
            text, unit = kpi_label(kpi)
            ax.set_title(textwrap.fill(text, 34), fontsize=9)
            ax.set_xticks(range(len(names)), names, fontsize=8,
                          rotation=20 if len(names) > 3 else 0)
            ax.set_xlim(-0.6, len(names) - 0.4)
            ax.yaxis.set_major_formatter(_axis_formatter(kpi))
            ax.tick_params(axis="y", labelsize=8)
            ax.set_xlabel("")
            ax.set_ylabel("" if unit in ("%", "£") else unit, fontsize=8)
        grid.figure.tight_layout()
        return _png(grid.figure)


def _band(frame: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    """Mean and the 2.5-97.5% range of the replications, per key and day."""
    g = frame.groupby([*keys, "day"], sort=True, observed=True)[value]
    return pd.concat({"mean": g.mean(), "low": g.quantile(0.025), "high": g.quantile(0.975)},
                     axis=1).reset_index()


def _lines(ax: Any, band: pd.DataFrame, names: list[str], colours: dict[str, Any]) -> None:
    for name in names:
        part = band[band["scenario"] == name]
        years = part["day"] / 365.25
        ax.plot(years, part["mean"], color=colours[name], lw=1.4, label=name)
        ax.fill_between(years, part["low"], part["high"], color=colours[name], alpha=0.18, lw=0)
    ax.tick_params(labelsize=8)


def _time_figure(bands: list[tuple[str, pd.DataFrame]], names: list[str],
                 colours: dict[str, Any]) -> str:
    """Small multiples of weekly series over years, one line and band per scenario."""
    with _style():
        fig, axes = _panels(len(bands) + 1)
        for ax, (title, band) in zip(axes, bands, strict=False):
            _lines(ax, band, names, colours)
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("years from start", fontsize=8)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        handles, labels = axes[0].get_legend_handles_labels()
        for ax in axes[len(bands):]:
            ax.axis("off")
        axes[len(bands)].legend(handles, labels, title="Scenario", loc="center", fontsize=9)
        fig.tight_layout()
        return _png(fig)


def _stock_sections(stocks: pd.DataFrame, names: list[str],
                    colours: dict[str, Any]) -> list[dict[str, Any]]:
    stocks = stocks[stocks["scenario"].isin(names)]
    present = list(dict.fromkeys(stocks["stage"]))
    stages = [s for s in STAGES if s in present] + [s for s in present if s not in STAGES]
    by_stage = _band(stocks, ["stage", "scenario"], "open")
    open_bands = [(STAGES.get(s, s), by_stage[by_stage["stage"] == s]) for s in stages]
    totals = stocks.groupby(["scenario", "rep", "day"], observed=True)["unallocated"].sum()
    waiting = _band(totals.reset_index(), ["scenario"], "unallocated")
    waiting_stages = [s for s in stages if stocks.loc[stocks["stage"] == s, "unallocated"].any()]
    by_stage_waiting = _band(stocks[stocks["stage"].isin(waiting_stages)], ["stage", "scenario"],
                             "unallocated")
    wait_bands = [("All stages", waiting)] + [
        (STAGES.get(s, s), by_stage_waiting[by_stage_waiting["stage"] == s])
        for s in waiting_stages]
    band_text = ("The line is the average over replications; the shaded band holds the "
                 "middle 95% of replications, so it shows how much a single year could vary.")
    return [
        {"id": "stocks", "title": "Open cases over time", "tables": [], "figures": [_figure(
            _time_figure(open_bands, names, colours),
            "Children with an open case at each stage, week by week. " + band_text +
            " Closed cases are a running total since the start.", "Open cases by stage")]},
        {"id": "unallocated", "title": "Cases waiting for a social worker", "tables": [],
         "figures": [_figure(_time_figure(wait_bands, names, colours),
                             "Open cases without an allocated worker, in total and at each "
                             "stage where any waited. " + band_text, "Unallocated cases")]}]


def _share_bars(shares: pd.DataFrame, x: str, order: list[str], names: list[str],
                colours: dict[str, Any], xlabel: str, ylabel: str) -> str:
    with _style():
        fig, ax = plt.subplots(figsize=(9, 3.4))
        sns.barplot(shares, x=x, y="share", hue="scenario", order=order, hue_order=names,
                    palette=colours, ax=ax)
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.legend(title="Scenario", fontsize=8)
        fig.tight_layout()
        return _png(fig)


def _shares(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    counts = frame.groupby(["scenario", column], observed=True)["count"].sum()
    return (counts / counts.groupby(level=0).transform("sum")).rename("share").reset_index()


def _distribution_sections(dists: pd.DataFrame, names: list[str], colours: dict[str, Any],
                           years: Any) -> list[dict[str, Any]]:
    dists = dists[dists["scenario"].isin(names)]
    sections = []
    changes = dists[dists["measure"] == "sw_changes"]
    if not changes.empty:
        labels = ["0", "1", "2", "3", "4", "5+"]
        changes = changes.assign(changes=[labels[int(min(v, 5))] for v in changes["value"]])
        sections.append({"id": "sw-changes", "title": "Changes of social worker", "tables": [],
                         "figures": [_figure(_share_bars(
                             _shares(changes, "changes"), "changes", labels, names, colours,
                             f"changes of social worker per child over the {years} years",
                             "share of children"),
                             "Children who had an allocated social worker, by how many times "
                             "their worker changed during the simulated period, all "
                             "replications together. Fewer changes mean steadier relationships "
                             "with families.", "Changes of social worker per child")]})
    care = dists[dists["measure"] == "days_in_care"]
    if not care.empty:
        edges = [e for e, _ in CARE_BANDS]
        band = [CARE_BANDS[np.searchsorted(edges, v, side="right") - 1][1] for v in care["value"]]
        sections.append({"id": "care", "title": "Time in care", "tables": [], "figures": [
            _figure(_share_bars(_shares(care.assign(band=band), "band"), "band",
                                [b for _, b in CARE_BANDS], names, colours,
                                "length of the care episode (month = 30 days)",
                                "share of episodes"),
                    "Length of care episodes that ended during the simulated period, all "
                    "replications together. Episodes still open at the end are not counted, "
                    "so long stays are under-represented in short runs.", "Time in care")]})
    return sections


def _change(value: Any) -> str:
    """Assumed effects scale their target by (1 + value): show them as % changes."""
    return "n/a" if value is None else f"{'+' if value >= 0 else '−'}{abs(value) * 100:.0f}%"


def _assumptions(records: list[dict[str, Any]], no_effects: bool) -> dict[str, Any]:
    rows = []
    for r in records:
        effects = r.get("assumed_effects") or []
        if not effects:
            rows.append([r["name"], "none: structural differences alone", "—", "—", "—"])
        for e in effects:
            kind = f"{e['kind']} of " if e.get("kind") else ""
            rows.append([r["name"], {"text": e["name"], "sub": f"{kind}{e.get('target', '')}"},
                         _change(e.get("value")),
                         f"{_change(e.get('low'))} to {_change(e.get('high'))}",
                         e.get("evidence", "")])
    note = ("Assumed effects are inputs, not findings: any result that depends on them shows "
            "what would follow if the effect were real; the model does not show that a practice "
            "model achieves it. A scenario with no assumed effects differs from the others by "
            "its structure alone (teams, handovers, caseloads, staffing), so its differences "
            "are structural.")
    if no_effects:
        note += " This run switched every assumed effect off (--no-effects)."
    return {"id": "assumptions", "title": "Assumptions", "note": note, "figures": [], "tables": [{
        "header": ["Scenario", "Assumed effect", "Assumed change", "Plausible range",
                   "Evidence"], "rows": rows, "text_columns": [0, 1, 4], "note": (
            "Changes are relative: −15% means the target is multiplied by 0.85.")}]}


# ------------------------------------------------------------------ sweep
def build_sweep_report(folder: Path) -> Path:
    """Write ``folder/report.html`` for a sweep: which parameters move which KPIs."""
    folder = Path(folder)
    manifest = _manifest(folder)
    runs = _read(folder, "runs.parquet", required=True)
    ranges = manifest.get("parameters", [])
    params = [p["path"] for p in ranges if p["path"] in runs.columns]
    kpis = [k for k in HEADLINE if k in runs.columns and runs[k].dropna().nunique() > 1]
    summary = _read(folder, "summary.csv")
    if summary is None or "sample" not in summary.columns:
        summary = summarise(runs, kpis, by="sample")
    means = runs.groupby("sample")[params + kpis].mean()
    rows = [[p["path"], f"{p['low']:g}", f"{p['high']:g}"] for p in ranges]
    sections = [{"id": "parameters", "title": "Parameters varied", "figures": [], "tables": [
        {"header": ["Parameter", "Low", "High"], "rows": rows, "text_columns": [0]}],
        "intro": (f"{len(means)} parameter combinations ({manifest.get('design', 'lhs')} "
                  f"design) x {manifest.get('reps', '?')} replications; replication i uses "
                  "the same random events in every combination.")}]
    if params and kpis and len(means) >= len(params) + 3:
        coefficients = prcc_table(means, params, kpis)
        rows = [[kpi_label(k).label, *[{"text": f"{v:+.2f}" if np.isfinite(v) else "n/a",
                                        "cls": "flag" if abs(v) >= 0.5 else ""}
                                       for v in coefficients[k]]] for k in kpis]
        sections.append({"id": "sensitivity", "title": "Which parameters matter", "figures": [
            _figure(_tornado(coefficients), (
                "Partial rank correlation (PRCC) of each headline measure with each parameter, "
                "holding the others fixed: +1 means the measure always rises with the "
                "parameter, −1 that it always falls, 0 that the parameter makes no difference."
                ), "Partial rank correlations")], "tables": [{
                    "header": ["Measure", *params], "rows": rows, "text_columns": [0],
                    "note": "● marks a strong association (|PRCC| ≥ 0.5)."}]})
    elif params and kpis:
        sections[0]["note"] = (f"Too few combinations ({len(means)}) to estimate partial rank "
                               f"correlations of {len(params)} parameters: need "
                               f"{len(params) + 3} or more.")
    if params and kpis:
        sections.append({"id": "scatter", "title": "Measures against each parameter",
                         "tables": [], "figures": [_figure(_scatter(means, summary, params, kpis), (
                             "Each dot is one parameter combination: the average over its "
                             "replications, with its 95% confidence interval."),
                             "Measures against parameters")]})
    records = manifest.get("scenarios", [])
    sections.append(_assumptions(records, manifest.get("no_effects", False)))
    name = records[0]["name"] if records else str(runs["scenario"].iloc[0])
    return _render(folder, {
        "title": f"Sensitivity of {name} to {len(params)} parameter(s)",
        "subtitle": "How the headline measures respond when uncertain inputs vary together.",
        "facts": _facts(manifest, [("Scenario", name), ("Parameters", ", ".join(params)),
                                   ("Combinations", len(means)),
                                   ("Replications each", manifest.get("reps", "?"))]),
        "scenarios": [], "warnings": _warnings(manifest), "sections": sections,
        "reading": "", "version": _version(manifest)})


def _tornado(coefficients: pd.DataFrame) -> str:
    with _style():
        fig, axes = _panels(coefficients.shape[1], cols=3,
                            size=(3.8, 0.9 + 0.35 * len(coefficients)))
        for ax, kpi in zip(axes, coefficients.columns, strict=False):
            values = coefficients[kpi].fillna(0).sort_values(key=np.abs)
            ax.barh(values.index, values.to_numpy(),
                    color=["#0b5cad" if v >= 0 else "#c62828" for v in values])
            ax.set_xlim(-1, 1)
            ax.axvline(0, color="#555", lw=0.8)
            ax.set_title(textwrap.fill(kpi_label(kpi).label, 38), fontsize=9)
            ax.tick_params(labelsize=8)
        for ax in axes[coefficients.shape[1]:]:
            ax.axis("off")
        fig.tight_layout()
        return _png(fig)


def _scatter(means: pd.DataFrame, summary: pd.DataFrame, params: list[str],
             kpis: list[str]) -> str:
    with _style():
        fig, axes = plt.subplots(len(kpis), len(params), squeeze=False,
                                 figsize=(3.2 * len(params) + 0.8, 2.2 * len(kpis)))
        for i, kpi in enumerate(kpis):
            s = summary[summary["kpi"] == kpi].set_index("sample").reindex(means.index)
            err = np.nan_to_num(np.abs(np.vstack([s["mean"] - s["ci_low"],
                                                  s["ci_high"] - s["mean"]])))
            for j, param in enumerate(params):
                ax = axes[i, j]
                ax.errorbar(means[param], s["mean"], yerr=err, fmt="o", ms=3, lw=0.8,
                            color="#0b5cad", ecolor="#9bb8d8")
                ax.yaxis.set_major_formatter(_axis_formatter(kpi))
                ax.tick_params(labelsize=7)
                ax.set_xlabel(param if i == len(kpis) - 1 else "", fontsize=8)
                ax.set_ylabel(textwrap.fill(kpi_label(kpi).label, 24) if j == 0 else "",
                              fontsize=8)
        fig.tight_layout()
        return _png(fig)
