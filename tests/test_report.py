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
    assert format_value("total_cost_gbp", 73562200.4) == "£73,562,200"
    assert format_value("referrals", 5112.2) == "5,112"
    assert format_value("children_3plus_workers_rate", -0.091, signed=True) == "−9.1 pts"
    assert format_value("cost_per_child_gbp", 87, signed=True) == "+£87"
    assert format_value("mean_caseload", float("nan")) == "n/a"
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
    assert html.escape(EVIDENCE) in page
    assert plt.get_fignums() == []


def test_unknown_kind_is_an_error(tmp_path):
    folder = make_sweep_folder(tmp_path / "s", samples=4)
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "kind": "mystery"}))
    with pytest.raises(ValueError, match="mystery"):
        build_report(folder)
