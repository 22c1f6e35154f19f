"""Sensitivity sweeps: designs, dotted paths, output rows."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from simulation.analysis.sensitivity import prcc
from simulation.cli import main
from simulation.experiments.sweep import (
    Parameter,
    SweepError,
    design,
    parse_parameter,
    sweep_scenarios,
)
from tests.conftest import CONFIGS

FSP = CONFIGS / "fsp.yaml"


def test_a_two_parameter_sweep_writes_the_expected_rows(tmp_path):
    out = tmp_path / "sweep"
    result = CliRunner().invoke(main, [
        "sweep", str(FSP), "--param", "workforce.turnover_rate=0.08:0.25",
        "--param", "effects.fsp.cla_entry=-0.3:0", "--samples", "4", "--reps", "2",
        "--years", "0.5", "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 4 * 2
    assert runs["workforce.turnover_rate"].between(0.08, 0.25).all()
    assert runs["effects.fsp.cla_entry"].between(-0.3, 0).all()
    assert runs.groupby("sample")["rep"].apply(list).tolist() == [[0, 1]] * 4
    # Common random numbers across samples: replication i has one seed everywhere.
    assert runs.groupby("rep")["seed"].nunique().eq(1).all()
    assert (out / "report.html").exists() and (out / "summary.csv").exists()
    # A title in words, the strongest sensitivities, and a warning: 4 samples are too few.
    title = "How fsp responds to workforce turnover rate and effects fsp cla entry"
    assert title in result.output and "fsp#0" not in (out / "report.html").read_text()
    assert "too few samples" in result.output or "strongest sensitivities" in result.output
    assert "4 samples for 2 parameters" in (out / "report.html").read_text()
    # The manifest holds every sample's resolved scenario: a rerun gives the same runs.
    import json

    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["resolved_samples"]) == 4 and manifest["code_version"]
    again = tmp_path / "again"
    rerun = CliRunner().invoke(main, ["rerun", str(out / "manifest.json"), "--out", str(again)])
    assert rerun.exit_code == 0, rerun.output
    assert (out / "runs.parquet").read_bytes() == (again / "runs.parquet").read_bytes()


def test_the_sample_size_rule_warns_below_k_plus_15():
    from simulation.analysis.sensitivity import prcc_interval, sample_warning, samples_needed

    assert samples_needed(2) == 17
    assert sample_warning(8, 2) is not None and "±0.75" in sample_warning(8, 2)
    assert sample_warning(16, 2) is not None and sample_warning(17, 2) is None
    low, high = prcc_interval(0.0, 17, 2)
    assert high <= 0.5 and low == pytest.approx(-high)
    assert prcc_interval(0.0, 16, 2)[1] > 0.5, "one sample fewer: wider than ±0.5"
    assert prcc_interval(0.9, 3, 2) == (-1.0, 1.0), "no degrees of freedom: anything"


def test_the_terminal_summary_names_the_strongest_sensitivity():
    import numpy as np

    from simulation.analysis.sensitivity import prcc_table, strongest

    rng = np.random.default_rng(2)
    frame = pd.DataFrame(rng.random((40, 2)), columns=["a", "b"])
    frame["y"] = frame["a"] + rng.normal(0, 0.05, 40)
    frame["z"] = -frame["b"] + rng.normal(0, 0.5, 40)
    top = strongest(prcc_table(frame, ["a", "b"], ["y", "z"]), 40, top=2)
    assert [(o, p) for o, p, *_ in top] == [("y", "a"), ("z", "b")]
    assert top[0][3] < top[0][2] < top[0][4], "the interval holds the coefficient"


def test_effect_paths_set_the_effect_value():
    scenarios, points = sweep_scenarios(FSP, [Parameter("effects.fsp.cla_entry", -0.3, 0)],
                                        3, "grid", seed=1)
    assert [s.effects["fsp"]["cla_entry"].value for s in scenarios] == [-0.3, -0.15, 0.0]


def test_integer_fields_stay_integers():
    scenarios, _ = sweep_scenarios(CONFIGS / "baseline.yaml",
                                   [Parameter("structure.teams.0.count", 6, 10)], 3, "grid", 1)
    assert [s.structure.teams[0].count for s in scenarios] == [6, 8, 10]


def test_lhs_covers_each_stratum_once():
    points = design([Parameter("a", 0, 1), Parameter("b", 10, 20)], 8, "lhs", seed=3)
    for column, (lo, hi) in {"a": (0, 1), "b": (10, 20)}.items():
        strata = ((points[column] - lo) / (hi - lo) * 8).astype(int).clip(0, 7)
        assert sorted(strata) == list(range(8))


@pytest.mark.parametrize("text, words", [
    ("workforce.turnover_rate", "expected PATH=LOW:HIGH"),
    ("x=1:a", "must be numbers"),
    ("x=3:1", "is above HIGH"),
])
def test_bad_parameter_text(text, words):
    with pytest.raises(SweepError, match=words):
        parse_parameter(text)


@pytest.mark.parametrize("param, words", [
    ("workforce.turnover_ratio=0:1", "no field 'workforce.turnover_ratio'"),
    ("pathway.cp.duration=0:1", "is not a number"),
    ("structure.teams.9.count=1:2", "no item '9'"),
    ("pathway.s47.icpc_rate=0.5:1.5", "Input should be less than or equal to 1"),
])
def test_bad_paths_exit_2_naming_them(tmp_path, param, words):
    result = CliRunner().invoke(main, ["sweep", str(CONFIGS / "baseline.yaml"), "--param",
                                       param, "--samples", "2", "--design", "grid",
                                       "--out", str(tmp_path / "s")])
    assert result.exit_code == 2, result.output
    assert words in result.output


def test_prcc_finds_monotone_drivers():
    import numpy as np

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.random((200, 3)), columns=["a", "b", "c"])
    frame["y"] = 3 * frame["a"] - frame["b"] + rng.normal(0, 0.05, 200)
    coefficients = prcc(frame, ["a", "b", "c"], "y")
    assert coefficients["a"] > 0.9 and coefficients["b"] < -0.5 and abs(coefficients["c"]) < 0.2
