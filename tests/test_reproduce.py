"""Reproducible from the manifest, and the event log.

Every manifest holds the resolved scenarios, seeds and code version; ``csflow rerun`` must
remake the data files bit for bit (timestamps and the command in the manifest and report
differ, nothing else). The event log must carry enough to rebuild the weekly stocks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from simulation.cli.main import main
from simulation.outputs.events import stocks_from_events
from simulation.outputs.files import code_version
from simulation.outputs.measures import CAUSES
from simulation.scenario import STAGES

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
DATA_SUFFIXES = (".parquet", ".csv")


def _small_fsp(tmp_path: Path) -> Path:
    """fsp.yaml with a shorter run, written beside the test (so the rerun cannot read it)."""
    raw = yaml.safe_load((CONFIGS / "fsp.yaml").read_text())
    raw["extends"] = str(CONFIGS / raw["extends"]) if "extends" in raw else raw.get("extends")
    path = tmp_path / "fsp_copy.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _invoke(args: list[str]) -> str:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result.output


def _same_data(a: Path, b: Path) -> list[str]:
    names = sorted(p.name for p in a.iterdir() if p.suffix in DATA_SUFFIXES)
    assert names and names == sorted(p.name for p in b.iterdir() if p.suffix in DATA_SUFFIXES)
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), f"{name} differs"
    return names


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def test_code_version_names_the_commit_and_dirty_flag():
    version = code_version()
    assert set(version) == {"package", "commit", "dirty"}
    if version["commit"] is not None:
        assert len(version["commit"]) == 40 and isinstance(version["dirty"], bool)


def test_code_version_outside_a_git_checkout_is_none_not_an_error(monkeypatch, tmp_path):
    import simulation.outputs.files as files

    files.code_version.cache_clear()
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "not-a-repo"))
    try:
        version = files.code_version()
        assert version["commit"] is None and version["dirty"] is None
    finally:
        files.code_version.cache_clear()


def test_rerun_of_a_run_is_bit_for_bit_identical(tmp_path):
    first, again = tmp_path / "first", tmp_path / "again"
    _invoke(["run", str(CONFIGS / "fsp.yaml"), "--years", "0.5", "--seed", "4",
             "--event-log", "--out", str(first)])
    manifest = _manifest(first)
    assert manifest["kind"] == "run" and manifest["scenario"]["name"] == "fsp"
    assert manifest["seed"] == 4 and manifest["event_log"] is True
    assert set(manifest["code_version"]) == {"package", "commit", "dirty"}
    assert {"python", "numpy", "simpy", "pandas"} <= set(manifest["package_versions"])
    _invoke(["rerun", str(first / "manifest.json"), "--out", str(again)])
    names = _same_data(first, again)
    assert {"kpis.csv", "kpis_long.csv", "children.parquet", "stocks.parquet",
            "events.parquet"} <= set(names)
    assert _manifest(again)["rerun_of"] == str(first / "manifest.json")


def test_rerun_of_a_comparison_is_bit_for_bit_identical_without_the_files(tmp_path):
    copy = _small_fsp(tmp_path)
    first, again = tmp_path / "first", tmp_path / "again"
    terminal = _invoke(["compare", str(CONFIGS / "baseline.yaml"), str(copy), "--reps", "2",
                        "--years", "0.5", "--seed", "9", "--quiet", "--out", str(first)])
    assert "Referrals a year (per year)" in terminal, "every headline line has its unit"
    assert "Changes of social worker per child a year (changes per child a year)" in terminal
    manifest = _manifest(first)
    resolved = [r["resolved"] for r in manifest["scenarios"]]
    assert [r["name"] for r in resolved] == ["baseline", "fsp"]
    assert manifest["code_version"]["package"] is not None
    copy.unlink()  # the rerun reads the manifest alone
    _invoke(["rerun", str(first / "manifest.json"), "--out", str(again)])
    names = _same_data(first, again)
    assert {"runs.parquet", "stocks.parquet", "costs.parquet", "summary.csv",
            "differences.csv", "kpis_long.csv"} <= set(names)
    _check_spreadsheet_outputs(first)


def _check_spreadsheet_outputs(folder: Path) -> None:
    """The long KPI table (CSV and a workbook of one sheet per table) for Excel users."""
    from openpyxl import load_workbook

    from simulation.outputs.tables import LONG_COLUMNS

    long = pd.read_csv(folder / "kpis_long.csv")
    assert list(long.columns) == LONG_COLUMNS
    row = long[(long["kpi"] == "referrals") & (long["scenario"] == "baseline")].iloc[0]
    assert row["label"] == "Referrals a year" and row["unit"] == "per year"
    assert row["ci_low"] < row["mean"] < row["ci_high"]
    assert row["comparator"] == 518 * 10  # 518 per 10,000, scaled to 100,000 children
    assert "DfE, Children in need 2025" in row["comparator_source"]
    rate = long[(long["kpi"] == "re_referral_rate") & (long["scenario"] == "fsp")].iloc[0]
    assert rate["unit"] == "%" and 10 < rate["mean"] < 40, "rates in percent"
    summary = pd.read_csv(folder / "summary.csv")
    assert len(long) == len(summary)
    book = load_workbook(folder / "kpis.xlsx", read_only=True)
    assert book.sheetnames == ["KPIs", "Differences", "Staffing"]
    header = [c.value for c in next(book["KPIs"].iter_rows(max_row=1))]
    assert header == LONG_COLUMNS
    assert book["KPIs"].max_row == len(long) + 1
    staffing = pd.read_excel(folder / "kpis.xlsx", sheet_name="Staffing")
    assert {"Managers", "Case-holding practitioners", "Adult practitioners"} <= set(
        staffing["group"])


def test_calibrate_writes_a_manifest_that_reruns(tmp_path):
    first, again = tmp_path / "first", tmp_path / "again"
    args = ["calibrate", str(CONFIGS / "baseline.yaml"), "--reps", "2", "--years", "1",
            "--out", str(first)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 1), result.output  # 1: a figure outside its tolerance
    assert _manifest(first)["kind"] == "calibrate"
    CliRunner().invoke(main, ["rerun", str(first / "manifest.json"), "--out", str(again)])
    assert _same_data(first, again) == ["calibration.csv"]


@pytest.mark.parametrize("content, words", [
    ("not json", "cannot read the manifest"),
    ('{"kind": "party"}', "kind 'party' cannot be rerun"),
    ('{"kind": "run", "seed": 1, "years": 1}', "no resolved scenario"),
    ('{"kind": "run", "seed": 1, "years": 1, "scenario": {"name": "x"}}', "scenario"),
])
def test_a_bad_manifest_exits_2_naming_the_problem(tmp_path, content, words):
    path = tmp_path / "manifest.json"
    path.write_text(content)
    result = CliRunner().invoke(main, ["rerun", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and words in result.output, result.output
    assert not (tmp_path / "o").exists()


def test_the_event_log_rebuilds_the_weekly_stocks_exactly(tmp_path):
    out = tmp_path / "run"
    _invoke(["run", str(CONFIGS / "pods.yaml"), "--years", "1", "--seed", "2",
             "--event-log", "--out", str(out)])
    log = pd.read_parquet(out / "events.parquet")
    assert list(log.columns[:4]) == ["case_id", "activity", "timestamp", "day"]
    assert {"stage", "resource", "team", "cause"} <= set(log.columns)
    assert {"contact", "assessment", "closed", "allocated", "released"} <= set(log["activity"])
    assert set(log.loc[log["activity"] == "worker_changed", "cause"]) <= set(CAUSES)
    assert log["timestamp"].is_monotonic_increasing
    stocks = pd.read_parquet(out / "stocks.parquet")
    rebuilt = stocks_from_events(log, stocks["day"].unique(), list(STAGES))
    merged = stocks.merge(rebuilt, on=["day", "stage"], suffixes=("", "_log"), how="outer",
                          validate="one_to_one")
    assert len(merged) == len(stocks)
    pd.testing.assert_series_equal(merged["open"], merged["open_log"], check_names=False)
    pd.testing.assert_series_equal(merged["unallocated"], merged["unallocated_log"],
                                   check_names=False)


def test_no_event_log_unless_asked(tmp_path):
    out = tmp_path / "run"
    _invoke(["run", str(CONFIGS / "baseline.yaml"), "--years", "0.2", "--out", str(out)])
    assert not (out / "events.parquet").exists()
    assert _manifest(out)["event_log"] is False


def test_every_terminal_line_has_a_unit(baseline):
    from simulation.cli.run import kpi_summary
    from simulation.outputs.kpis import KPI_INFO, KPI_ORDER

    kpis = dict.fromkeys(KPI_ORDER, 1.0)
    lines = kpi_summary(baseline, 1, 1.0, kpis).splitlines()
    for kpi in KPI_ORDER:
        line = next(x for x in lines if x.strip().startswith(KPI_INFO[kpi].label.strip()))
        unit = line[2 + 50 + 12:].strip().split("  ")[0]
        assert unit, f"no unit on the line of {kpi}: {line!r}"
