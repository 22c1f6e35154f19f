"""The engine's mechanics: conservation, reproducibility, common random numbers."""

from __future__ import annotations

import filecmp

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from simulation.cli import main
from simulation.outputs.run import simulate
from simulation.scenario import PLACES, load_scenario
from tests.conftest import CONFIGS


@pytest.fixture(scope="module")
def two_years():
    return simulate(load_scenario(CONFIGS / "baseline.yaml"), seed=7, years=2)


def test_every_child_is_in_exactly_one_place_at_every_snapshot(two_years):
    stocks = two_years.stocks.pivot_table(index="day", columns="stage", values="open")
    sim = two_years.simulation
    initial = sim.first_contact_id
    arrived = initial + np.searchsorted(sim.contacts.arrival, stocks.index, side="right")
    # unaccompanied children enter care directly (those in care on day 0 arrived before it)
    uasc = np.sort([c.arrival for c in sim.rec.children if c.uasc])
    assert len(uasc) > 0
    arrived = arrived + np.searchsorted(uasc, stocks.index, side="right")
    # The weekly stocks add up to everyone who has arrived, at every snapshot and the end.
    np.testing.assert_array_equal(stocks[list(PLACES)].sum(axis=1).to_numpy(), arrived)

    # And, child by child, each is in exactly one spell at each snapshot.
    spells = two_years.spells()
    for day in stocks.index[1::5]:
        live = spells[(spells["start"] <= day) & (spells["end"] > day)]
        assert not live["child_id"].duplicated().any(), f"a child in two places on day {day}"
        assert len(live) == arrived[stocks.index.get_loc(day)], f"a child lost on day {day}"
        counts = live["place"].value_counts()
        for place in PLACES:
            assert counts.get(place, 0) == stocks.loc[day, place], (day, place)


def test_children_table_has_one_row_per_arrived_child(two_years):
    children = two_years.children()
    sim = two_years.simulation
    uasc = int(children["unaccompanied"].sum())
    assert len(children) == sim.first_contact_id + len(sim.contacts.arrival) + uasc
    assert children["child_id"].is_unique
    assert set(children["final_place"]) <= set(PLACES)


def _run(tmp_path, name, seed):
    out = tmp_path / name
    result = CliRunner().invoke(main, ["run", str(CONFIGS / "baseline.yaml"), "--seed",
                                       str(seed), "--years", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_same_seed_same_files_bit_for_bit_other_seed_differs(tmp_path):
    a, b, c = _run(tmp_path, "a", 3), _run(tmp_path, "b", 3), _run(tmp_path, "c", 4)
    files = ["kpis.csv", "children.parquet", "stocks.parquet"]
    match, mismatch, errors = filecmp.cmpfiles(a, b, files, shallow=False)
    assert match == files, (mismatch, errors)
    assert not (a / "kpis.csv").read_bytes() == (c / "kpis.csv").read_bytes()
    assert not filecmp.cmp(a / "children.parquet", c / "children.parquet", shallow=False)


def test_run_refuses_a_non_empty_folder_and_leaves_it_untouched(tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = CliRunner().invoke(main, ["run", str(CONFIGS / "baseline.yaml"),
                                       "--years", "0.2", "--out", str(out)])
    assert result.exit_code == 2 and "not empty" in result.output
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", boom)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(CONFIGS / "baseline.yaml"),
                                       "--years", "0.2", "--out", str(out)])
    assert result.exit_code != 0
    assert list(tmp_path.iterdir()) == [], "no output folder and no partial folder"


def test_force_replaces_a_previous_run(tmp_path):
    out = _run(tmp_path, "r", 1)
    (out / "stale.txt").write_text("old")
    result = CliRunner().invoke(main, ["run", str(CONFIGS / "baseline.yaml"), "--years", "0.2",
                                       "--out", str(out), "--force"])
    assert result.exit_code == 0 and not (out / "stale.txt").exists()
    manifest = pd.read_json(out / "manifest.json", typ="series")
    assert manifest["seed"] == 1 and len(manifest["scenario_sha256"]) == 64


def test_same_children_arrive_under_every_structure():
    """Common random numbers: the structure changes what happens, not who arrives."""
    base = simulate(load_scenario(CONFIGS / "baseline.yaml"), seed=11, years=1)
    hub = simulate(load_scenario(CONFIGS / "hub.yaml"), seed=11, years=1)
    cols = ["child_id", "arrival_day", "age_at_arrival", "referral_source"]
    a = base.children().query("not initial_caseload")[cols].reset_index(drop=True)
    b = hub.children().query("not initial_caseload")[cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    np.testing.assert_array_equal(base.simulation.contacts.referred,
                                  hub.simulation.contacts.referred)
    # The structure does change the workers children have.
    assert base.kpis["sw_changes_per_child"] != hub.kpis["sw_changes_per_child"]


def test_a_longer_run_extends_a_shorter_one():
    """Arrivals are drawn in fixed chunks: year 1 of a 2-year run is a 1-year run."""
    s = load_scenario(CONFIGS / "baseline.yaml")
    one, two = simulate(s, 5, 1).simulation.contacts, simulate(s, 5, 2).simulation.contacts
    n = len(one.arrival)
    np.testing.assert_array_equal(one.arrival, two.arrival[:n])
    np.testing.assert_array_equal(one.age_years, two.age_years[:n])
