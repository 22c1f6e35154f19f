"""Bad input never crashes, hangs or quietly changes the answer (issue 13).

Scenario-field reproductions are rows of ``BROKEN`` in test_scenario.py; here are the
ones that need a file's text, ``extends``, the command line, or a run.
"""

from __future__ import annotations

import copy
import fcntl
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from simulation.cli import main
from simulation.engine.recorder import Child
from simulation.experiments.batch import run_batch
from simulation.experiments.sweep import Parameter, sweep_scenarios
from simulation.outputs import run as run_module
from simulation.outputs.files import atomic_folder
from simulation.outputs.guard import RunGuardError, conservation_problems, kpi_problems
from simulation.outputs.run import simulate
from simulation.scenario import load_scenario
from tests.conftest import CONFIGS, small, write_yaml

ROOT = Path(__file__).resolve().parents[1]


def _one_clean_line(result, words: str, code: int = 2) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert words in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def _base_copy(tmp_path: Path) -> Path:
    path = tmp_path / "base.yaml"
    path.write_text((CONFIGS / "baseline.yaml").read_text())
    return path


@pytest.mark.parametrize("text, words", [
    ("name: a\nname: b\n", "line 2: duplicate key 'name'"),
    ("a: " + "[" * 600 + "]" * 600 + "\n", "nested too deeply"),
], ids=["duplicate key", "600-deep nesting"])
def test_file_text_problems_exit_2(tmp_path, text, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    _one_clean_line(CliRunner().invoke(main, ["validate", str(path)]), words)


def test_exponent_without_a_point_is_a_number(tmp_path):
    """YAML 1.1 reads 1e-6 as text; it is read as the number the user meant (and bounded)."""
    base = _base_copy(tmp_path)
    diff = tmp_path / "d.yaml"
    diff.write_text(f"extends: {base.name}\nrun:\n  snapshot_interval_days: 1e-6\n")
    result = CliRunner().invoke(main, ["validate", str(diff)])
    _one_clean_line(result, "run.snapshot_interval_days: Input should be greater than or equal")
    diff.write_text(f"extends: {base.name}\npopulation: 1e5\n")
    result = CliRunner().invoke(main, ["validate", str(diff)])
    _one_clean_line(result, "population: must be a whole number, got 100000.0")


@pytest.mark.parametrize("diff, words", [
    ("costs:\n  placement_weekly_gbp:\n    residental: 5000\n",
     "costs.placement_weekly_gbp: residental: not a placement type in pathway.cla.placements "
     "(did you mean 'residential'?)"),
    ("workforce:\n  roles:\n    social_wroker: {caseload_share: 1.0, weekly_cost_gbp: 2100}\n",
     "workforce.roles.social_wroker: no team uses this role; did you mean 'social_worker'?"),
], ids=["misspelt placement cost", "misspelt role"])
def test_misspelt_keys_of_free_form_maps_under_extends(tmp_path, diff, words):
    base = _base_copy(tmp_path)
    path = tmp_path / "diff.yaml"
    path.write_text(f"extends: {base.name}\nname: diff\n{diff}")
    _one_clean_line(CliRunner().invoke(main, ["validate", str(path)]), words)


@pytest.mark.parametrize("args, words", [
    (["run", "{cfg}", "--years", "nan"], "--years"),
    (["run", "{cfg}", "--years", "inf"], "--years"),
    (["run", "{cfg}", "--years", "1e9"], "at most 100"),
    (["compare", "{cfg}", "--years", "nan", "--out", "{out}"], "--years"),
    (["compare", "{cfg}", "--reps", "1000000", "--out", "{out}"], "--reps"),
    (["sweep", "{cfg}", "--param", "workforce.turnover_rate=nan:1", "--out", "{out}"],
     "LOW and HIGH must be finite numbers"),
], ids=["years nan", "years inf", "years 1e9", "compare years nan", "reps", "sweep nan"])
def test_command_line_values_checked_before_any_work(tmp_path, args, words):
    args = [a.format(cfg=CONFIGS / "baseline.yaml", out=tmp_path / "out") for a in args]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert words in result.output and "Traceback" not in result.output, result.output
    assert not (tmp_path / "out").exists()


def test_years_on_the_command_line_must_still_fit_in_memory(tmp_path, raw):
    raw["population"] = 5_000_000
    path = write_yaml(tmp_path / "big.yaml", raw)
    assert CliRunner().invoke(main, ["validate", str(path)]).exit_code == 0
    result = CliRunner().invoke(main, ["run", str(path), "--years", "100",
                                       "--out", str(tmp_path / "out")])
    _one_clean_line(result, "population: 5,000,000 children with 1e+08 contacts over 100 years")


@pytest.mark.parametrize("out", ["/proc/csflow-x", "{file}/sub"], ids=["proc", "under a file"])
def test_unwritable_out_fails_before_the_run(tmp_path, monkeypatch, out):
    (tmp_path / "file").write_text("x")
    monkeypatch.setattr("simulation.cli.run.simulate", _must_not_run)
    result = CliRunner().invoke(main, ["run", str(CONFIGS / "baseline.yaml"), "--years", "0.1",
                                       "--out", out.format(file=tmp_path / "file")])
    _one_clean_line(result, "cannot write there")


def _must_not_run(*args, **kwargs):
    raise AssertionError("the simulation ran before the output folder was checked")


def test_unreachable_scheduler_is_one_line(tmp_path):
    result = CliRunner().invoke(main, [
        "compare", str(CONFIGS / "baseline.yaml"), "--reps", "1", "--years", "0.1",
        "--scheduler", "tcp://127.0.0.1:1", "--out", str(tmp_path / "out")])
    _one_clean_line(result, "--scheduler tcp://127.0.0.1:1: cannot connect within 3 s")


def test_jobs_capped_by_tasks(raw, capsys):
    scenario = small(raw, 0.05)
    batch = run_batch([scenario], 1, seed=1, years=0.1, jobs=8, progress=True)
    assert len(batch.runs) == 1
    assert "--jobs 8 capped at 1 (1 replication(s) to run" in capsys.readouterr().err


def test_stale_partial_folders_cleaned_but_not_live_ones_or_checkpoints(tmp_path):
    out = tmp_path / "out"
    stale = tmp_path / ".out.tmp-deadbeef.partial"
    live = tmp_path / ".out.tmp-alive123.partial"
    checkpoint = tmp_path / ".out.partial"  # compare's resume checkpoint
    for folder in (stale, live, checkpoint):
        folder.mkdir()
        (folder / "x").write_text("x")
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another writer, still running
    try:
        with atomic_folder(out, force=False) as tmp:
            (tmp / "done").write_text("ok")
    finally:
        os.close(fd)
    assert (out / "done").exists()
    assert not stale.exists()
    assert live.exists() and checkpoint.exists()


def _child(cid: int, place: str, spells: list[tuple[str, float]]) -> Child:
    child = Child(cid, 0.0, -3000.0, 0, "police", None)
    child.place, child.spells = place, spells
    return child


def test_the_run_guards_conservation():
    lost = _child(7, "", [])
    ok = _child(8, "cin", [("assessment", 0), ("cin", 3)])
    problems = conservation_problems([lost, ok], {"cin": 1})
    assert problems == ["1 child(ren) in no place at the end (ids 7)"]
    assert conservation_problems([ok], {"cin": 2})[0].startswith("place counts disagree")
    moved = _child(9, "cp", [("assessment", 0), ("cin", 3)])
    assert conservation_problems([ok, moved], {"cin": 1, "cp": 1}) == [
        "1 child(ren) whose last move is not where they are"]


def test_the_run_guards_its_kpis():
    assert kpi_problems({"total_cost_gbp": math.inf}) == ["KPI total_cost_gbp is inf"]
    assert kpi_problems({"referrals": math.nan}) == ["KPI referrals is nan"]
    # a median over nothing (no assessment ended yet) is undefined, not an error
    assert kpi_problems({"assessment_median_working_days": math.nan}) == []


def test_a_run_with_a_non_finite_kpi_exits_non_zero(tmp_path, monkeypatch, raw):
    real = run_module.compute_kpis
    monkeypatch.setattr(run_module, "compute_kpis",
                        lambda *a, **k: {**real(*a, **k), "total_cost_gbp": math.inf})
    with pytest.raises(RunGuardError, match="KPI total_cost_gbp is inf"):
        simulate(small(raw, 0.05), 1, 0.1)
    path = write_yaml(tmp_path / "s.yaml", raw)
    result = CliRunner().invoke(main, ["run", str(path), "--years", "0.1",
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and "KPI total_cost_gbp is inf" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_sweep_fte_written_as_whole_number_is_not_rounded():
    scenarios, points = sweep_scenarios(
        CONFIGS / "baseline.yaml", [Parameter("structure.teams.0.staff.social_worker", 5.5, 6.5)],
        3, "grid", 1)
    assert [s.structure.teams[0].staff["social_worker"] for s in scenarios] == [5.5, 6.0, 6.5]
    assert points.attrs["rounded"] == []


def test_sweep_whole_number_fields_are_rounded_and_recorded_as_run():
    path = "structure.teams.0.count"
    scenarios, points = sweep_scenarios(CONFIGS / "baseline.yaml", [Parameter(path, 5.6, 9.4)],
                                        4, "lhs", 1)
    assert points.attrs["rounded"] == [path]
    assert list(points[path]) == [s.structure.teams[0].count for s in scenarios]
    assert all(float(v).is_integer() for v in points[path])


def test_validate_checks_the_scenario_with_overlays_and_effects(tmp_path):
    overlay = tmp_path / "o.yaml"
    overlay.write_text("effects:\n  x:\n    y: {kind: rate, target: workforce.turnover_rate, "
                       "value: 50, low: 0, high: 50, evidence: t}\n")
    result = CliRunner().invoke(main, ["validate", str(CONFIGS / "baseline.yaml"),
                                       "--overlay", str(overlay)])
    _one_clean_line(result, "(after effects): workforce.turnover_rate")


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            text = Path(f"/proc/{p}/task/{p}/children").read_text()
        except OSError:
            continue
        kids = {int(k) for k in text.split()}
        found |= kids
        todo.extend(kids)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_pool_workers_end_with_a_killed_compare(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulation", "compare", str(CONFIGS / "baseline.yaml"),
         "--reps", "4", "--years", "3", "--jobs", "2", "--quiet", "--out", str(tmp_path / "o")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    for _ in range(600):  # until the pool has started (a liveness wait, not a timing check)
        workers = _descendants(proc.pid)
        if len(workers) >= 2 or proc.poll() is not None:
            break
        time.sleep(0.1)
    assert len(workers) >= 2, "the compare never started its workers"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for _ in range(300):  # the workers notice within about a second
        if not any(_alive(w) for w in workers):
            break
        time.sleep(0.1)
    survivors = [w for w in workers if _alive(w)]
    for w in survivors:  # never leave them behind, even when the test fails
        os.kill(w, signal.SIGKILL)
    assert not survivors


def test_shipped_configs_load_unchanged():
    """The strict schema accepts every shipped file as written."""
    for path in sorted(CONFIGS.glob("*.yaml")):
        s = load_scenario(path)
        assert copy.deepcopy(s) == s
