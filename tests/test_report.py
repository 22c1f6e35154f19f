"""The HTML report: built from a folder's saved files alone, self-contained, and readable.

Fixture folders are synthetic but follow the compare/sweep file contract column by column,
so the report is tested without running the simulation.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from simulation.analysis.sensitivity import prcc
from simulation.analysis.stats import paired_differences, summarise
from simulation.report.html import (
    HEADLINE,
    KPI_LABELS,
    build_compare_report,
    build_report,
    format_value,
)

SCENARIOS = ["baseline", "hub", "fsp"]
EVIDENCE = "Family Safeguarding wave 2 evaluation: care entries down by up to 30 percent"
# KPI -> typical value; "extra_kpi" is a column the report does not know, which it must tolerate.
KPIS = {"referrals": 5100.0, "assessments_within_45wd_rate": 0.86, "cp_plans_started": 470.0,
        "cla_started": 290.0, "cla_per_10k_end": 65.0, "mean_days_in_care": 830.0,
        "sw_changes_per_child": 0.5, "children_3plus_workers_rate": 0.14,
        "mean_days_unallocated": 0.05, "mean_caseload": 13.6,
        "face_to_face_hours_per_child_week": 0.5, "total_cost_gbp": 7.3e7,
        "cost_per_child_gbp": 11800.0, "re_referral_rate": 0.19, "agency_share": 0.13,
        "extra_kpi": 1.0}
STAGES = ["front_door", "assessment", "s47", "cin", "cp", "cla", "closed"]
EFFECT = {"name": "fsp.cla_entry", "target": "pathway.cp.outcomes.cla", "kind": "probability",
          "value": -0.15, "low": -0.3, "high": 0.0, "evidence": EVIDENCE}


def _manifest(kind: str, reps: int, years: float, **extra) -> dict:
    return {"kind": kind, "command": f"csflow {kind} (test)", "created": "2025-01-02T03:04:05",
            "seed": 7, "years": years, "reps": reps,
            "package_versions": {"python": "3.11", "csflow": "0.1.0"}, **extra}


def make_compare_folder(folder: Path, reps: int = 5, years: float = 2.0) -> Path:
    """A compare folder: fsp starts 10% fewer children in care (clearly), hub is baseline-like."""
    rng = np.random.default_rng(3)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, name in enumerate(SCENARIOS):
        for rep in range(reps):
            row = {"scenario": name, "rep": rep, "seed": 100 + rep}
            for kpi, typical in KPIS.items():
                shift = 0.9 if (name == "fsp" and kpi == "cla_started") else 1 + 0.01 * i
                row[kpi] = typical * shift * (1 + rng.normal(0, 0.01))
            rows.append(row)
    runs = pd.DataFrame(rows)
    runs.to_parquet(folder / "runs.parquet", index=False)
    kpis = list(KPIS)
    summarise(runs, kpis).to_csv(folder / "summary.csv", index=False)
    paired_differences(runs, kpis, SCENARIOS[0]).to_csv(folder / "differences.csv", index=False)

    days = np.arange(0.0, years * 365.25, 7.0)
    stocks = []
    for name in SCENARIOS:
        for rep in range(reps):
            for j, stage in enumerate(STAGES):
                open_ = (np.cumsum(rng.poisson(100, len(days))) if stage == "closed"
                         else rng.poisson(100 + 50 * j, len(days)))
                waiting = rng.binomial(open_, 0.02) if stage in ("assessment", "cin") else 0
                stocks.append(pd.DataFrame({"scenario": name, "rep": rep, "day": days,
                                            "stage": stage, "open": open_,
                                            "unallocated": waiting}))
    pd.concat(stocks, ignore_index=True).to_parquet(folder / "stocks.parquet", index=False)

    dists = []
    for name in SCENARIOS:
        for rep in range(reps):
            changes = np.arange(8.0)
            bins = np.arange(0.0, 2400.0, 30.0)
            dists += [pd.DataFrame({"scenario": name, "rep": rep, "measure": "sw_changes",
                                    "value": changes, "count": rng.poisson(800 * 0.5 ** changes)}),
                      pd.DataFrame({"scenario": name, "rep": rep, "measure": "days_in_care",
                                    "value": bins, "count": rng.poisson(20 * np.exp(-bins / 600))})]
    pd.concat(dists, ignore_index=True).to_parquet(folder / "distributions.parquet", index=False)

    records = [{"name": n, "file": f"configs/{n}.yaml", "sha256": "0" * 64,
                "description": f"The {n} operating model.",
                "assumed_effects": [EFFECT] if n == "fsp" else []} for n in SCENARIOS]
    (folder / "manifest.json").write_text(json.dumps(_manifest("compare", reps, years,
                                                               scenarios=records)))
    return folder


def make_sweep_folder(folder: Path, samples: int = 12, reps: int = 3) -> Path:
    """A sweep folder: cla_started rises with turnover, falls with the effect; mean_caseload
    depends on turnover only."""
    rng = np.random.default_rng(5)
    folder.mkdir(parents=True, exist_ok=True)
    params = {"workforce.turnover_rate": (0.08, 0.25), "effects.fsp.cla_entry": (-0.3, 0.0)}
    rows = []
    for sample in range(samples):
        values = {p: rng.uniform(lo, hi) for p, (lo, hi) in params.items()}
        for rep in range(reps):
            turnover, effect = values.values()
            rows.append({"scenario": "fsp", "sample": sample, "rep": rep, "seed": 100 + rep,
                         **values,
                         "cla_started": 290 * (1 + 2 * turnover + effect) + rng.normal(0, 2),
                         "mean_caseload": 12 + 10 * turnover + rng.normal(0, 0.1),
                         "total_cost_gbp": 7.3e7 + rng.normal(0, 1e5)})
    runs = pd.DataFrame(rows)
    runs.to_parquet(folder / "runs.parquet", index=False)
    kpis = ["cla_started", "mean_caseload", "total_cost_gbp"]
    means = runs.groupby("sample")[list(params)].first().reset_index()
    summarise(runs, kpis, by="sample").merge(means, on="sample")[
        ["sample", *params, "kpi", "mean", "ci_low", "ci_high", "n"]].to_csv(
        folder / "summary.csv", index=False)
    records = [{"name": "fsp", "file": "configs/fsp.yaml", "sha256": "0" * 64,
                "description": "FSP", "assumed_effects": [EFFECT]}]
    (folder / "manifest.json").write_text(json.dumps(_manifest(
        "sweep", reps, 1.0, design="lhs", samples=samples, scenarios=records,
        parameters=[{"path": p, "low": lo, "high": hi} for p, (lo, hi) in params.items()])))
    return folder


@pytest.fixture(scope="module")
def compare_page(tmp_path_factory) -> str:
    folder = make_compare_folder(tmp_path_factory.mktemp("compare"))
    path = build_compare_report(folder)
    assert path == folder / "report.html" and path.exists()
    assert plt.get_fignums() == [], "every figure is closed once encoded"
    return path.read_text(encoding="utf-8")


def test_compare_report_is_self_contained(compare_page):
    assert "data:image/png;base64," in compare_page
    assert 'src="http' not in compare_page and "<script src" not in compare_page
    assert "<link" not in compare_page and "url(" not in compare_page


def test_compare_report_names_scenarios_assumptions_and_headline_table(compare_page):
    for name in SCENARIOS:
        assert name in compare_page
    assert html.escape(EVIDENCE) in compare_page and "fsp.cla_entry" in compare_page
    assert "inputs, not findings" in compare_page and "structural" in compare_page
    assert "Headline comparison" in compare_page and "fsp vs baseline" in compare_page
    headline = [KPI_LABELS[k].label for k in HEADLINE if k in KPIS]
    positions = [compare_page.index(html.escape(label)) for label in headline]
    assert positions == sorted(positions), "headline KPIs come first, in their order"
    assert "Extra kpi" in compare_page, "an unknown KPI column is shown, not dropped"
    # fsp's 10% fewer entries to care is flagged; the interval excludes zero.
    assert 'class="flag"' in compare_page
    for heading in ("Open cases over time", "Cases waiting for a social worker",
                    "Changes of social worker", "Time in care", "Assumptions"):
        assert f">{heading}</h2>" in compare_page


def test_optional_files_missing_drop_their_sections(tmp_path):
    folder = make_compare_folder(tmp_path / "cmp", reps=3, years=1.0)
    for name in ("distributions.parquet", "differences.csv", "summary.csv", "stocks.parquet"):
        (folder / name).unlink()
    page = build_report(folder).read_text(encoding="utf-8")
    assert "Headline comparison" in page and "data:image/png;base64," in page
    for heading in ("Changes of social worker", "Time in care", "Open cases over time"):
        assert f">{heading}</h2>" not in page
    assert " vs baseline" not in page and 'class="flag"' not in page
    assert "5,1" in page, "summary recomputed from runs: referrals about 5,100"


@pytest.mark.parametrize("missing", ["runs.parquet", "manifest.json"])
def test_a_missing_required_file_is_named(tmp_path, missing):
    folder = tmp_path / "cmp"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps(_manifest("compare", 1, 1.0)))
    pd.DataFrame({"scenario": ["a"], "rep": [0], "seed": [1], "referrals": [1.0]}).to_parquet(
        folder / "runs.parquet")
    (folder / missing).unlink()
    with pytest.raises(FileNotFoundError, match=missing):
        build_report(folder)


def test_values_are_formatted_for_a_board_paper():
    assert format_value("assessments_within_45wd_rate", 0.8642) == "86.4%"
    assert format_value("total_cost_gbp", 73562200.4) == "£73.6m"
    assert format_value("total_cost_gbp", 73562200.4, half=2.1e6) == "£74m", "CI-rounded"
    assert format_value("total_cost_gbp", 688000, signed=True) == "+£688k"
    assert format_value("referrals", 5115.4, half=281) == "5,100"
    assert format_value("assessments_within_45wd_rate", 0.8591, half=0.012) == "86%"
    assert format_value("referrals", 5112.2) == "5,112"
    assert format_value("children_3plus_workers_rate", -0.091, signed=True) == "−9.1 pts"
    assert format_value("cost_per_child_gbp", 87, signed=True) == "+£87"
    assert format_value("mean_caseload", float("nan")) == "n/a"
    # Both ends of an interval in one unit: "+£0.4m to +£5.8m", not "+£360k to +£5.83m".
    low, high = (format_value("total_cost_gbp", v, signed=True, half=2.7e6, scale=5.83e6)
                 for v in (360077, 5.83e6))
    assert (low, high) == ("+£0.4m", "+£5.8m")
    assert format_value("mean_days_unallocated", 0.0512) == "0.051"
    assert format_value("mean_days_unallocated", -0.00001) == "0.0000", "no sign on a zero"
    brief = [*HEADLINE, "contacts", "re_referral_rate", "referral_nfa_rate",
             "assessment_median_working_days", "sw_changes_handover",
             "changes_to_known_worker_rate", "staff_cost_gbp", "placement_cost_gbp"]
    assert all(k in KPI_LABELS and KPI_LABELS[k].label for k in brief)
    assert KPI_LABELS["total_cost_gbp"].unit == "£" and KPI_LABELS["agency_share"].unit == "%"


def test_prcc_ignores_rows_with_a_missing_output():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.random((60, 2)), columns=["a", "b"])
    frame["y"] = frame["a"] + rng.normal(0, 0.01, 60)
    frame.loc[3, "y"] = np.nan
    assert prcc(frame, ["a", "b"], "y")["a"] > 0.9


def test_sweep_report_builds(tmp_path):
    folder = make_sweep_folder(tmp_path / "sweep")
    (folder / "summary.csv").unlink()  # optional: the report needs runs and manifest only
    page = build_report(folder).read_text(encoding="utf-8")
    assert "data:image/png;base64," in page and "<script src" not in page
    assert "workforce.turnover_rate" in page and "effects.fsp.cla_entry" in page
    # cla_started rises with turnover: a strong, flagged positive PRCC.
    assert "Which parameters matter" in page and 'class="flag">+0.9' in page
    assert "<h1>How fsp responds to workforce turnover rate and effects fsp cla entry</h1>" in page
    assert "Too few samples" in page, "12 samples for 2 parameters: intervals too wide"
    assert html.escape(EVIDENCE) in page
    assert plt.get_fignums() == []


def test_unknown_kind_is_an_error(tmp_path):
    folder = make_sweep_folder(tmp_path / "s", samples=4)
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "kind": "mystery"}))
    with pytest.raises(ValueError, match="mystery"):
        build_report(folder)


# ------------------------------------------------------------------ board paper (issue 12)
from simulation.outputs.kpis import Practical, is_notable, practical  # noqa: E402
from simulation.outputs.limitations import KNOWN_GAPS, limitations  # noqa: E402
from simulation.outputs.sources import FILE_LIKE, cite  # noqa: E402
from simulation.report import html as report_html  # noqa: E402
from simulation.report.summary import paragraphs  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LONG = {"baseline": "current structure (baseline)", "hub": "hub teams in four localities",
        "fsp": "family safeguarding with adult practitioners"}


def _with_resolved(folder: Path, comparators: dict | None = None) -> Path:
    """Give the fixture's scenario records their resolved scenarios (as compare writes
    them), from the shipped configs, and optionally a council's own comparators."""
    from simulation.scenario import load_scenario

    manifest = json.loads((folder / "manifest.json").read_text())
    for record in manifest["scenarios"]:
        scenario = load_scenario(ROOT / "configs" / f"{record['name']}.yaml")
        record["resolved"] = scenario.model_dump(mode="json")
        record["population"] = scenario.population
    if comparators:
        manifest["comparators"] = comparators
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _rename(folder: Path, names: dict[str, str]) -> Path:
    """Give the fixture's scenarios long names, in every file, as a user might."""
    for name in ("runs.parquet", "stocks.parquet", "distributions.parquet"):
        frame = pd.read_parquet(folder / name)
        frame["scenario"] = frame["scenario"].map(names)
        frame.to_parquet(folder / name, index=False)
    for name in ("summary.csv", "differences.csv"):
        frame = pd.read_csv(folder / name)
        frame["scenario"] = frame["scenario"].map(names)
        if "baseline" in frame:
            frame["baseline"] = frame["baseline"].map(names)
        frame.to_csv(folder / name, index=False)
    manifest = json.loads((folder / "manifest.json").read_text())
    for record in manifest["scenarios"]:
        record["name"] = names[record["name"]]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.fixture(scope="module")
def board(tmp_path_factory) -> tuple[Path, str]:
    folder = _with_resolved(make_compare_folder(tmp_path_factory.mktemp("board")), {
        "baseline": {"referrals": {"value": 4321.0,
                                   "source": "Anytown Council, children's services annual "
                                             "report 2024"}}})
    costs = []
    for name in SCENARIOS:
        for rep in range(5):
            days = np.arange(0.0, 730.0, 7.0)
            costs.append(pd.DataFrame({"scenario": name, "rep": rep, "day": days,
                                       "staff_gbp_week": 5e5 + 1e3 * rep,
                                       "agency_gbp_week": 5e4,
                                       "placement_gbp_week": 9e5 + days * 10}))
    pd.concat(costs).to_parquet(folder / "costs.parquet", index=False)
    return folder, build_compare_report(folder).read_text(encoding="utf-8")


def test_the_executive_summary_comes_first_and_states_the_numbers_it_rests_on(board):
    folder, page = board
    assert page.index('id="summary"') < page.index('id="headline"') < page.index(
        'id="about"'), "the answer first, the seed and command last"
    diffs = pd.read_csv(folder / "differences.csv")
    summary = pd.read_csv(folder / "summary.csv")
    manifest = json.loads((folder / "manifest.json").read_text())
    records = {r["name"]: r for r in manifest["scenarios"]}
    labels = {k: KPI_LABELS[k].label for k in KPI_LABELS}
    found = paragraphs(diffs, summary, "baseline", records, labels, format_value)
    assert [p.scenario for p in found] == ["hub", "fsp"]
    by_name = {p.scenario: p for p in found}
    # fsp starts 10% fewer children in care: called out, with the numbers of differences.csv.
    fsp = by_name["fsp"]
    assert "cla_started" in [f.kpi for f in fsp.findings]
    row = diffs[(diffs["scenario"] == "fsp") & (diffs["kpi"] == "cla_started")].iloc[0]
    half = (row["ci_high"] - row["ci_low"]) / 2
    stated = (f"children starting to be looked after a year down "
              f"{format_value('cla_started', abs(row['mean_difference']), half=half)} (95% CI "
              f"{format_value('cla_started', abs(row['ci_high']), half=half)} to "
              f"{format_value('cla_started', abs(row['ci_low']), half=half)})")
    assert stated in fsp.text, (stated, fsp.text)
    assert row["ci_high"] < 0 and row["mean_difference"] < 0, "a fall is written as down"
    # ... and rests on fsp's assumed effect; hub's rest on the structure alone.
    assert "fsp.cla_entry (−15%)" in fsp.text and "inputs, not findings" in fsp.text
    assert "structural" in by_name["hub"].text
    # Every other number stated in a sentence belongs to a finding or to the cost clause.
    for paragraph in found:
        assert html.escape(paragraph.text) in page
        for finding in paragraph.findings:
            r = diffs[(diffs["scenario"] == paragraph.scenario) & (diffs["kpi"] == finding.kpi)]
            assert float(r["mean_difference"].iloc[0]) == finding.difference
        if paragraph.cost is not None:
            r = diffs[(diffs["scenario"] == paragraph.scenario)
                      & (diffs["kpi"] == "total_cost_gbp")].iloc[0]
            h = (r["ci_high"] - r["ci_low"]) / 2
            assert format_value("total_cost_gbp", abs(r["mean_difference"]), half=h) in \
                paragraph.text


def test_a_difference_is_called_out_only_when_clear_and_large_enough(board):
    referrals = practical("referrals")
    assert referrals == Practical(relative=0.02)
    assert practical("assessments_within_45wd_rate").threshold(0.86) == 0.01
    # Clear but trivial (the -0.0054 days of wait the issue found): not called out.
    assert not is_notable("mean_days_unallocated", -0.0054, -0.008, -0.003, 0.05)
    # Large but possibly chance: not called out.
    assert not is_notable("referrals", 300.0, -20.0, 620.0, 5100.0)
    # Clear and at least 2% of 5,100: called out; just under the threshold: not.
    assert is_notable("referrals", 120.0, 60.0, 180.0, 5100.0)
    assert not is_notable("referrals", 100.0, 60.0, 140.0, 5100.0)
    # In the page: hub's 1% shifts are below every threshold, so only fsp cells are marked.
    _, page = board
    rows = page.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")
    flagged = [r for r in rows if 'class="flag"' in r]
    assert flagged, "fsp's 10% fewer entries to care is marked"
    for row in flagged:  # hub's 1% shifts reach a threshold only for money (1% of cost)
        cells = row.split("<td")
        assert 'class="flag"' not in cells[-2] or "cost" in cells[1], row
    assert "practical threshold" in page


def test_no_figure_label_is_cut_or_overlapping(tmp_path, monkeypatch):
    problems: list[str] = []
    checked = []
    real_save = report_html._save

    def checking_save(fig, **how):
        checked.append(fig)
        problems.extend(report_html.text_problems(fig))
        return real_save(fig, **how)

    monkeypatch.setattr(report_html, "_save", checking_save)
    folder = _rename(make_compare_folder(tmp_path / "long"), LONG)
    page = build_compare_report(folder).read_text(encoding="utf-8")
    assert len(checked) >= 5 and problems == [], problems
    for name in LONG.values():  # whole names, never cut to 14 characters
        assert any(name in t.get_text() for fig in checked for t in fig.findobj(
            matplotlib_text())), name
    assert html.escape(LONG["fsp"]) in page
    sweep = make_sweep_folder(tmp_path / "sweep")
    build_report(sweep)
    assert problems == [], problems


def matplotlib_text():
    from matplotlib.text import Text

    return Text


def test_each_figure_is_drawn_once(tmp_path, monkeypatch):
    """Drawing is most of a report's time: the layout's draw is the one saved (savefig's
    tight box would draw each figure twice more)."""
    from collections import Counter

    from matplotlib.figure import Figure

    draws: Counter = Counter()
    real_draw = Figure.draw

    def counting_draw(fig, renderer):
        draws[id(fig)] += 1
        return real_draw(fig, renderer)

    monkeypatch.setattr(Figure, "draw", counting_draw)
    page = build_compare_report(make_compare_folder(tmp_path / "once")).read_text()
    assert len(draws) == page.count("<img ") >= 5
    assert set(draws.values()) == {1}, draws


def test_figures_drawn_in_parallel_make_the_same_report(tmp_path):
    folder = make_compare_folder(tmp_path / "serial")
    serial = build_compare_report(folder).read_text()
    parallel = build_compare_report(folder, processes=2).read_text()
    assert parallel == serial and serial.count("<img ") >= 5
    assert plt.get_fignums() == []


def _png_of(encoded: str) -> np.ndarray:
    import base64
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(base64.b64decode(encoded))).convert("RGB"))


def _ink_box(image: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.nonzero((image < 250).any(axis=2))
    return rows.min(), rows.max(), cols.min(), cols.max()


@pytest.mark.parametrize("outside", [False, True])
def test_a_saved_figure_is_what_savefig_would_write(outside):
    """Cut from the layout's drawing, the image has savefig's size and margins; a label
    past the figure's edge makes savefig widen it instead of cutting the label."""
    import io

    def figure():
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.plot([0, 1], [2.0e6, 3.5e6])
        ax.set_title("Staff cost", fontsize=9, y=1.0)
        if outside:
            fig.text(0.9, 0.5, "a note running past the edge", clip_on=False)
        fig.canvas.draw()
        return fig

    buf = io.BytesIO()
    reference = figure()
    reference.savefig(buf, format="png", dpi=report_html.DPI, bbox_inches="tight",
                      pad_inches=report_html.PAD_INCHES)
    plt.close(reference)
    import base64

    expected = _png_of(base64.b64encode(buf.getvalue()).decode())
    fig = figure()
    width = fig.canvas.get_width_height()[0]
    got = _png_of(report_html._save(fig, drawn=True))
    assert got.shape == expected.shape
    assert max(abs(a - b) for a, b in zip(_ink_box(got), _ink_box(expected), strict=True)) <= 2
    assert (got.shape[1] > width) == outside


def test_the_label_check_finds_a_cut_and_an_overlap():
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.set_xticks([0, 1], ["a very long scenario name", "another very long scenario name"])
    fig.text(1.5, 0.5, "off the figure", clip_on=False)
    problems = report_html.text_problems(fig)
    plt.close(fig)
    assert any("overlapping" in p for p in problems)


def test_every_cited_source_is_a_publication(board):
    _, page = board
    sources = page.split('id="sources"')[1].split("</ol>")[0]
    items = [html.unescape(i.split("</li>")[0]) for i in sources.split("<li>")[1:]]
    assert items and all(not FILE_LIKE.search(i) for i in items), items
    assert any("DfE, Children in need 2025" in i and "EES 911dae20" in i for i in items)
    assert "Anytown Council, children's services annual report 2024" in items
    body = page.split("<code>")[0] + "".join(p.split("</code>", 1)[1] for p in
                                             page.split("<code>")[1:])
    assert not FILE_LIKE.search(body.replace("docs/kpis.md", "")), FILE_LIKE.search(body)
    # The shipped configs' evidence, as any report would show it.
    from simulation.scenario import load_scenario

    for path in sorted((ROOT / "configs").glob("*.yaml")):
        s = load_scenario(path)
        for practice in sorted((ROOT / "configs" / "practice").glob("*.yaml")):
            for _, effect in load_scenario(path, [practice]).effects.get(
                    practice.stem, {}).items():
                assert not FILE_LIKE.search(cite(effect.evidence)), effect.evidence
        texts = [s.description] + [e.evidence for g in s.effects.values() for e in g.values()]
        for text in texts:
            assert not FILE_LIKE.search(cite(" ".join(text.split()))), text


def test_local_comparators_replace_the_national_figure(board):
    from simulation.outputs.tables import comparator_with_source as comparator

    assert comparator("referrals", 100_000) == (
        5180.0, "England: DfE, Children in need 2025 (referrals), EES 911dae20 (national rate "
                "scaled to 100,000 children)")
    assert comparator("referrals", 100_000, {"referrals": {
        "value": 4000, "source": "Anytown returns (DOMAIN: EES 911dae20)"}}) == (
        4000.0, "Anytown returns (DfE, Children in need 2025 (referrals), EES 911dae20)")
    assert comparator("contacts", 100_000) == (None, ""), "no published figure: none"
    _, page = board
    assert "4,321" in page and ">local<" in page.replace("<small><span>local</span></small>",
                                                         ">local<")
    assert "England" in page, "national figures where the council has none"


def test_staffing_cost_over_time_and_limitations_sections(board):
    _, page = board
    for heading in ("Cost over time", "Staffing of each structure", "Limitations", "Sources"):
        assert f">{heading}</h2>" in page
    staffing = page.split('id="staffing"')[1].split("</table>")[0]
    assert "Managers" in staffing and "Adult practitioners" in staffing
    # fsp: 12 teams with 0.6 FTE of each of three adult practitioners = 21.6 FTE.
    adult = staffing.split("Adult practitioners</td>")[1].split("</tr>")[0]
    assert "21.6" in adult
    for gap in limitations():
        assert gap.title in html.unescape(page)
    assert "fsp.cla_entry (fsp)" in page.split('id="limitations"')[1]


def test_known_gaps_are_the_ones_documented_in_calibration():
    doc = (ROOT / "docs" / "calibration.md").read_text()
    section = doc.split("## Known gaps")[1].split("\n## ")[0]
    documented = {line.split("|")[1].strip() for line in section.splitlines()
                  if line.startswith("| ") and not line.startswith("| figure")}
    assert documented == {g.measure for g in KNOWN_GAPS}


def test_the_pdf_prints_whole_tables_and_figures(board, tmp_path):
    """Chromium's --print-to-pdf with the report's print styles: pages, the text, every
    headline row on one page, every figure once (a figure cut across pages is drawn twice)."""
    from pypdf import PdfReader

    from simulation.report.pdf import print_to_pdf

    folder, page = board
    pdf = print_to_pdf(folder / "report.html", tmp_path / "report.pdf")
    reader = PdfReader(pdf)
    texts = [" ".join(p.extract_text().split()) for p in reader.pages]
    assert len(texts) > 1 and "Summary" in texts[0] and "Headline comparison" in " ".join(texts)
    summary = report_html._intervals(pd.read_csv(folder / "summary.csv"), "mean")
    for kpi in HEADLINE:
        if kpi not in KPIS:
            continue
        cell = report_html._cell(kpi, summary, "baseline")
        label = KPI_LABELS[kpi].label
        whole = [t for t in texts if label in t and cell["text"] in t
                 and cell["sub"].split(" ")[0] in t]
        assert whole, f"the row of {label} is split across pages (or missing)"
    drawn = sum(len(p.images) for p in reader.pages)
    assert drawn == page.count("<img "), "each figure whole, on one page"


def test_labels_in_a_sentence_keep_their_acronyms():
    from simulation.report.summary import in_sentence
    assert in_sentence("Referrals a year") == "referrals a year"
    assert in_sentence("CP plans started a year") == "CP plans started a year"
    assert in_sentence("CIN plans open") == "CIN plans open"


@pytest.mark.parametrize(("ticks", "money", "labels"), [
    ([23.0e6, 23.5e6, 24.0e6, 24.5e6], True, ["£23.0m", "£23.5m", "£24.0m", "£24.5m"]),
    ([10_000, 10_500, 11_000], True, ["£10,000", "£10,500", "£11,000"]),
    ([0.55, 0.575, 0.6], False, ["0.550", "0.575", "0.600"]),
    ([5000, 5200, 5400], False, ["5,000", "5,200", "5,400"]),
    ([-0.02, 0.0, 0.02], False, ["−0.02", "0.00", "0.02"]),
])
def test_axis_ticks_never_repeat_a_label(ticks, money, labels):
    """The cost-over-time panels once read "£24m, £24m, £24m" up one axis."""
    from simulation.report.html import TickLabels
    fmt = TickLabels(money=money)
    fmt.set_locs(ticks)
    assert [fmt(t) for t in ticks] == labels
