"""The imported scenario reproduces its extract; the back-test runs; bad extracts are
refused cleanly; nothing identifying leaves the importer."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from simulation.cli.main import main
from simulation.outputs.run import simulate
from simulation.scenario import load_scenario
from tests.returns_synth import Council, Params

P = Params()
Z = 4.0


@pytest.fixture(scope="module")
def council() -> Council:
    return Council(P, seed=2)


@pytest.fixture(scope="module")
def extract(council, tmp_path_factory):
    return council.write(tmp_path_factory.mktemp("returns"), "folders", "xml")


def run_import(extract, out: Path, *extra: str):
    return CliRunner().invoke(main, ["import", "--ssda903", str(extract[0]), "--cin",
                                     str(extract[1]), "--population", str(P.population),
                                     "--out", str(out), *extra])


@pytest.fixture(scope="module")
def backtested(extract, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "council.yaml"
    result = run_import(extract, out, "--holdout-years", "1", "--reps", "3")
    assert result.exit_code == 0, result.output
    return out, result


def test_running_the_import_reproduces_the_extracts_own_figures(backtested):
    """One simulated year from the last 31 March against that year's returns: each flow
    and stock within four standard errors (the observed count's Poisson error and the
    model mean's over the replications), and the 18+ share of leavers likewise."""
    out, _ = backtested
    s = load_scenario(out)
    figures = yaml.safe_load(out.with_name("council.targets.yaml").read_text())
    by_year = figures["local_figures"]["by_year"]
    last = by_year[max(by_year)]
    runs = [simulate(s, seed, 1.0) for seed in range(6)]
    per_10k = s.population / 10_000
    model = {
        "referrals": [r.kpis["referrals"] for r in runs],
        "s47_enquiries": [r.kpis["s47_enquiries"] for r in runs],
        "icpcs": [r.kpis["icpcs"] for r in runs],
        "cp_plans_started": [r.kpis["cp_plans_started"] for r in runs],
        "cla_started": [r.kpis["cla_started"] for r in runs],
        "cin_open": [r.kpis["cin_per_10k_end"] * per_10k for r in runs],
        "cp_open": [r.kpis["cp_per_10k_end"] * per_10k for r in runs],
        "cla_open": [r.kpis["cla_per_10k_end"] * per_10k for r in runs],
    }
    problems = []
    for name, values in model.items():
        m, obs = float(np.mean(values)), float(last[name])
        se = math.sqrt(obs + np.var(values, ddof=1) / len(values))
        if abs(m - obs) > Z * se:
            problems.append(f"{name}: model {m:.1f} vs returns {obs:.0f} (tol {Z * se:.1f})")
        print(f"{name}: model {m:.1f} vs returns {obs:.0f} (tolerance {Z * se:.1f})")
    assert not problems, problems
    if "cp_repeat_rate" in runs[0].kpis:  # issue 9b's history: repeat CP plans
        share = float(np.mean([r.kpis["cp_repeat_rate"] for r in runs]))
        observed = float(np.mean([y["cp_repeat_rate"] for y in by_year.values()]))
        n_obs = sum(y["cp_plans_started"] for y in by_year.values())
        n_model = sum(r.kpis["cp_plans_started"] for r in runs)
        se = math.sqrt(max(observed * (1 - observed), 0.01) * (1 / n_obs + 1 / n_model))
        print(f"cp_repeat_rate: model {share:.3f} vs returns {observed:.3f}")
        assert abs(share - observed) <= Z * se, (share, observed)
    leavers = [e for r in runs for e in r.simulation.rec.cla_episodes]
    share = np.mean([e[4] == "18+" for e in leavers])
    observed = np.mean([y["cla_leavers_18plus_rate"] for y in by_year.values()])
    n_obs = sum(y["cla_ended"] for y in by_year.values())
    se = math.sqrt(observed * (1 - observed) * (1 / n_obs + 1 / len(leavers)))
    assert abs(share - observed) <= Z * se, (share, observed)


def test_backtest_reports_the_held_out_error(backtested):
    out, result = backtested
    table = pd.read_csv(out.with_name("council.backtest.csv"))
    assert set(table["measure"]) >= {"referrals", "s47_enquiries", "icpcs",
                                     "cp_plans_started", "cla_started", "cla_open"}
    assert table["error_pct"].notna().all()
    assert (table["interval_low"] <= table["interval_high"]).all()
    text = out.with_name("council.backtest.md").read_text()
    assert "Mean absolute error" in text and "Mean absolute error" in result.output
    assert f"| {P.years[-1]} |" in text  # the held-out year


def test_holdout_must_leave_a_year_to_fit(extract, tmp_path):
    result = run_import(extract, tmp_path / "x.yaml", "--holdout-years", str(len(P.years)))
    assert result.exit_code == 2
    assert not (tmp_path / "x.yaml").exists()


def test_no_identifier_reaches_any_output(council, backtested):
    out, result = backtested
    texts = [p.read_text() for p in out.parent.iterdir()] + [result.output]
    blob = "\n".join(texts)
    leaked = [i for i in council.identifiers() if i in blob]
    assert not leaked, f"{len(leaked)} identifying values in the outputs"
    assert len(council.identifiers()) > 1000  # the scan covered the extract's children
    # nor any exact date of a child's journey (day 0's caseload is written in bands)
    dated = [d for d in council.dates() if d in blob]
    assert not dated, f"{len(dated)} exact dates in the outputs, e.g. {dated[:3]}"
    assert len(council.dates()) > 1000
    assert "cases:" in out.read_text()  # the open caseload was written, as groups


# ------------------------------------------------------------------------- bad input
@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A small extract in both layouts, copied and broken by each case."""
    c = Council(Params(population=4000, years=(2022, 2023), burn_years=4), seed=3)
    root = tmp_path_factory.mktemp("small")
    c.write(root / "folders", "folders", "xml")
    c.write(root / "combined", "combined", "csv")
    return root


def _edit_csv(path: Path, edit) -> None:
    lines = path.read_text().splitlines()
    edit(lines)
    path.write_text("\n".join(lines) + "\n")


def _set(lines: list[str], row: int, column: str, value: str) -> None:
    header = lines[0].split(",")
    cells = lines[row - 1].split(",")
    cells[header.index(column)] = value
    lines[row - 1] = ",".join(cells)


def _drop_column(lines: list[str], column: str) -> None:
    i = lines[0].split(",").index(column)
    for k, line in enumerate(lines):
        cells = line.split(",")
        del cells[i]
        lines[k] = ",".join(cells)


def _episode_with_end(lines: list[str]) -> int:
    header = lines[0].split(",")
    return next(k + 1 for k, line in enumerate(lines[1:], start=1)
                if line.split(",")[header.index("DEC")])


def case_bad_date(root: Path):
    f = root / "folders/ssda903/2023/episodes.csv"
    _edit_csv(f, lambda ls: _set(ls, 4, "DECOM", "31/02/2023"))
    return "folders", [], ["episodes.csv", "row 4", "column DECOM", "bad date"]


def case_missing_column(root: Path):
    f = root / "folders/ssda903/2022/episodes.csv"
    _edit_csv(f, lambda ls: _drop_column(ls, "REC"))
    return "folders", [], ["episodes.csv", "row 1", "column REC", "missing column"]


def case_ends_before_start(root: Path):
    f = root / "folders/ssda903/2023/episodes.csv"
    row = {}

    def edit(ls):
        row["n"] = _episode_with_end(ls)
        _set(ls, row["n"], "DEC", "01/01/1990")
    _edit_csv(f, edit)
    return "folders", [], ["episodes.csv", f"row {row['n']}", "column DEC", "before it starts"]


def case_unknown_code_strict(root: Path):
    f = root / "folders/ssda903/2022/episodes.csv"
    _edit_csv(f, lambda ls: _set(ls, 3, "PLACE", "ZZ9"))
    return "folders", ["--strict"], ["episodes.csv", "row 3", "column PLACE", "unknown code"]


def case_cin_xml_bad_date(root: Path):
    f = next((root / "folders/cin/2023").glob("*.xml"))
    text = f.read_text()
    start = text.index("<CINreferralDate>") + len("<CINreferralDate>")
    f.write_text(text[:start] + "2023-13-45" + text[start + 10:])
    return "folders", [], [f.name, "child 1", "column CINreferralDate", "bad date"]


def case_flat_cin_missing_id(root: Path):
    _edit_csv(root / "combined/cin/cin_census.csv", lambda ls: _drop_column(ls, "LAchildID"))
    return "combined", [], ["cin_census.csv", "row 1", "column LAchildID", "missing column"]


def case_combined_without_year(root: Path):
    _edit_csv(root / "combined/ssda903/header.csv", lambda ls: _drop_column(ls, "YEAR"))
    return "combined", [], ["header.csv", "row 1", "column YEAR", "missing column"]


@pytest.mark.parametrize("case", [case_bad_date, case_missing_column, case_ends_before_start,
                                  case_unknown_code_strict, case_cin_xml_bad_date,
                                  case_flat_cin_missing_id, case_combined_without_year])
def test_broken_extract_is_refused_in_one_line(small, tmp_path, case):
    root = tmp_path / "copy"
    shutil.copytree(small, root)
    layout, flags, expected = case(root)
    out = tmp_path / "out" / "council.yaml"
    result = run_import((root / layout / "ssda903", root / layout / "cin"), out, *flags)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for part in expected:
        assert part in lines[0], (part, lines[0])
    assert not out.parent.exists() or not any(out.parent.iterdir())


def _overlap(lines: list[str]) -> None:
    """Push an episode's end 10 days past the start of the child's next episode."""
    header = lines[0].split(",")
    child, dec, decom = (header.index(c) for c in ("CHILD", "DEC", "DECOM"))
    for k in range(1, len(lines) - 1):
        a, b = lines[k].split(","), lines[k + 1].split(",")
        if a[child] == b[child] and a[dec]:
            later = pd.to_datetime(b[decom], format="%d/%m/%Y") + pd.Timedelta(days=10)
            _set(lines, k + 1, "DEC", later.strftime("%d/%m/%Y"))
            return
    raise AssertionError("no consecutive episodes to overlap")


def test_unknown_codes_and_overlaps_are_reported_not_fatal(small, tmp_path):
    """Overlaps are trimmed (the earlier episode ends where the next starts), as
    data-to-insight's model does, and counted; unknown codes are listed with counts."""
    root = tmp_path / "copy"
    shutil.copytree(small, root)
    f = root / "folders/ssda903/2022/episodes.csv"
    _edit_csv(f, lambda ls: _set(ls, 3, "PLACE", "ZZ9"))
    _edit_csv(f, _overlap)
    out = tmp_path / "council.yaml"
    result = run_import((root / "folders/ssda903", root / "folders/cin"), out)
    assert result.exit_code == 0, result.output
    assert "warning: unknown PLACE code 'ZZ9' in 1 row(s)" in result.output
    assert "cleaned: overlapping episodes trimmed to the next episode's start: 1" \
        in result.output
    assert out.exists()


def test_only_the_import_faces_use_the_importer():
    """The importer writes a file a run reads: no engine, model or output code imports it."""
    from tests.test_architecture import imports_of, project_modules

    modules = project_modules()
    users = {name for name, path in modules.items()
             if not name.startswith("simulation.returns")
             and any(m.startswith("simulation.returns") for m in
                     imports_of(path, name, set(modules)))}
    assert users <= {"simulation.cli.returns", "simulation.experiments.backtest"}, users


def test_an_existing_scenario_is_not_replaced_without_force(backtested, extract):
    """A second import to the same --out is refused before any work; --force replaces it."""
    out, _ = backtested
    before = out.read_bytes()
    refused = run_import(extract, out)
    assert refused.exit_code == 2 and "exists (use --force" in refused.output
    assert "Traceback" not in refused.output and out.read_bytes() == before
    assert run_import(extract, out, "--force").exit_code == 0
