"""Monte Carlo batches: backends agree bit for bit, batches resume, failures are contained."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest
from click.testing import CliRunner

from simulation.analysis.stats import paired_difference_ci, welch_difference_ci
from simulation.cli import main
from simulation.experiments import batch as batch_module
from simulation.experiments.batch import run_batch
from simulation.experiments.compare import compare, partial_folder
from simulation.outputs.kpis import format_kpi
from simulation.outputs.run import simulate
from simulation.scenario import load_scenario
from tests.conftest import CONFIGS

BASE, HUB = CONFIGS / "baseline.yaml", CONFIGS / "hub.yaml"


def _frames_equal(a, b) -> None:
    for name in ("runs", "stocks", "distributions"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)


@pytest.fixture(scope="module")
def scenarios():
    return [load_scenario(BASE), load_scenario(HUB)]


@pytest.fixture(scope="module")
def serial(scenarios):
    return run_batch(scenarios, 3, seed=5, years=0.5, backend="serial", progress=False)


def test_parallel_processes_equal_serial(scenarios, serial):
    threads: list[str] = []  # the parent's own work, done while the pool replicates
    parallel = run_batch(scenarios, 3, seed=5, years=0.5, jobs=2, backend="processes",
                         progress=False,
                         meanwhile=lambda: threads.append(threading.current_thread().name))
    _frames_equal(serial, parallel)
    assert list(serial.runs["rep"]) == [0, 1, 2, 0, 1, 2]
    assert threads == ["meanwhile" if batch_module.usable_workers(2, 6) > 1 else "MainThread"]


def test_the_parents_own_work_is_done_and_its_error_raised(scenarios):
    threads: list[str] = []
    run_batch(scenarios[:1], 1, seed=5, years=0.2, backend="serial", progress=False,
              meanwhile=lambda: threads.append(threading.current_thread().name))
    assert threads == ["MainThread"], "without a pool, after the replications"

    def broken() -> None:
        raise RuntimeError("no git")

    with pytest.raises(RuntimeError, match="no git"):
        run_batch(scenarios[:1], 2, seed=5, years=0.2, jobs=2, progress=False,
                  meanwhile=broken)


@pytest.mark.slow
def test_dask_cluster_equals_serial(scenarios, serial):
    on_dask = run_batch(scenarios, 3, seed=5, years=0.5, jobs=2, backend="dask", progress=False)
    _frames_equal(serial, on_dask)


def test_replication_i_shares_its_seed_across_scenarios(serial):
    seeds = serial.runs.pivot(index="rep", columns="scenario", values="seed")
    assert (seeds["baseline"] == seeds["hub"]).all()
    assert seeds["baseline"].is_unique


@pytest.mark.parametrize("kpi", ["sw_changes_per_child", "cla_started", "mean_days_in_care"])
def test_paired_differences_are_narrower_than_unpaired(scenarios, kpi):
    """Common random numbers: the shared children's noise cancels in paired differences."""
    result = run_batch(scenarios, 8, seed=11, years=1, jobs=2, progress=False)
    wide = result.runs.pivot(index="rep", columns="scenario", values=kpi)
    paired = paired_difference_ci(wide["baseline"], wide["hub"])
    unpaired = welch_difference_ci(wide["baseline"], wide["hub"])
    assert paired.half_width < unpaired.half_width, (paired, unpaired)


def test_a_disposed_run_leaves_almost_nothing_for_the_garbage_collector(scenarios):
    """A batch worker frees each replication by reference counting; a run left in
    cycles costs a full traversal of its objects (once ~0.4 s a replication)."""
    gc.collect()
    gc.disable()
    try:
        result = simulate(scenarios[0], seed=3, years=0.5)
        children = len(result.simulation.rec.children)
        result.simulation.dispose()
        del result
        found = gc.collect()
    finally:
        gc.enable()
    assert children > 1_000
    assert found < children / 2, f"{found} objects left in cycles by {children} children"


def test_a_failing_replication_is_reported_and_the_rest_go_on(scenarios, monkeypatch):
    real = batch_module.simulate
    bad_seed = batch_module.replication_seed(5, 1)

    def flaky(scenario, seed, years):
        if seed == bad_seed and scenario.name == "hub":
            raise RuntimeError("boom")
        return real(scenario, seed, years)

    monkeypatch.setattr(batch_module, "simulate", flaky)
    result = run_batch(scenarios, 3, seed=5, years=0.5, backend="serial", progress=False)
    assert len(result.runs) == 5
    assert result.failures[["scenario", "rep", "seed"]].values.tolist() == [["hub", 1, bad_seed]]
    assert "RuntimeError: boom" in result.failures["error"].iloc[0]


def test_precision_rule_stops_and_says_how_many(tmp_path):
    comparison = compare([BASE], reps=3, seed=2, years=0.5, precision=0.2, max_reps=40,
                         progress=False)
    assert 3 <= comparison.reps < 40
    runs = comparison.batch.runs
    assert len(runs) == comparison.reps and list(runs["rep"]) == list(range(comparison.reps))
    from simulation.analysis.stats import relative_half_width
    from simulation.outputs.kpis import BRIEF_HEADLINE

    for kpi in BRIEF_HEADLINE:
        if runs[kpi].mean():
            assert relative_half_width(runs[kpi]) <= 0.2 + 1e-9, kpi


def _compare_args(out, reps=4, years="0.5"):
    return [sys.executable, "-m", "simulation", "compare", str(BASE), str(HUB),
            "--reps", str(reps), "--years", years, "--seed", "3", "--quiet", "--out", str(out)]


def test_a_killed_batch_resumes_to_exactly_the_requested_replications(tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen(_compare_args(out, reps=6), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    partial = partial_folder(out)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(partial.glob("*.pkl"))) < 2:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = len(list(partial.glob("*.pkl")))
    assert 2 <= kept < 12 and not out.exists(), "killed mid-batch, before the results"
    resumed = subprocess.run(_compare_args(out, reps=6), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert not partial.exists()
    runs = pd.read_parquet(out / "runs.parquet")
    assert runs.groupby("scenario")["rep"].apply(sorted).tolist() == [list(range(6))] * 2
    clean = tmp_path / "clean"
    subprocess.run(_compare_args(clean, reps=6), check=True, capture_output=True)
    pd.testing.assert_frame_equal(runs, pd.read_parquet(clean / "runs.parquet"),
                                  check_exact=True)


def test_compare_writes_every_file_and_report_rebuilds_alone(tmp_path):
    out = tmp_path / "cmp"
    result = CliRunner().invoke(main, ["compare", str(BASE), str(CONFIGS / "fsp.yaml"),
                                       "--reps", "3", "--years", "0.5", "--quiet",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    expected = {"runs.parquet", "stocks.parquet", "distributions.parquet", "summary.csv",
                "differences.csv", "report.html", "manifest.json"}
    assert expected <= {p.name for p in out.iterdir()}
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == ["scenario", "kpi", "mean", "ci_low", "ci_high", "n",
                                     "comparator", "comparator_kind", "comparator_year"]
    assert set(summary["comparator_kind"].dropna()) <= {"national", "local"}
    diffs = pd.read_csv(out / "differences.csv")
    assert set(diffs["scenario"]) == {"fsp"} and set(diffs["baseline"]) == {"baseline"}
    # The terminal shows each headline KPI by its label, as "mean ± CI half-width".
    row = summary.set_index(["scenario", "kpi"]).loc[("fsp", "sw_changes_per_child")]
    cell = (f"{format_kpi('sw_changes_per_child', row['mean'])} ± "
            f"{format_kpi('sw_changes_per_child', (row['ci_high'] - row['ci_low']) / 2)}")
    line = next(x for x in result.output.splitlines()
                if x.startswith("Changes of social worker per child a year"))
    assert line.rstrip().endswith(cell), (line, cell)
    page = (out / "report.html").read_text()
    assert "data:image/png;base64," in page and 'src="http' not in page
    assert "fsp.cla_entry" in page and "council-reported" in page
    (out / "report.html").unlink()
    rebuilt = CliRunner().invoke(main, ["report", str(out)])
    assert rebuilt.exit_code == 0 and (out / "report.html").exists()


@pytest.mark.parametrize("args, words", [
    (["compare", str(BASE), "--reps", "-2", "--out", "X"], "--reps"),
    (["compare", str(BASE), "--reps", "0", "--out", "X"], "--reps"),
    (["compare", "nope.yaml", "--out", "X"], "nope.yaml: file not found"),
    (["compare", str(BASE), str(BASE), "--out", "X"], "scenario names must differ"),
    (["compare", str(BASE), "--jobs", "0", "--out", "X"], "--jobs"),
    (["report", "no_such_folder"], "no such folder"),
])
def test_bad_batch_arguments_exit_2(tmp_path, args, words):
    args = [str(tmp_path / a) if a == "X" else a for a in args]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert words in result.output
