"""Why looked-after children change social worker: moves inside the council (models.moves)
and the DfE's way of counting the reasons (simulation.outputs.reasons)."""

from __future__ import annotations

import copy

import pytest

from models.moves import InternalMoves
from simulation.analysis.stats import paired_difference_ci
from simulation.engine.recorder import Child
from simulation.outputs.reasons import cla_change_shares
from simulation.outputs.run import simulate
from simulation.randomness.distributions import DAYS_PER_YEAR
from simulation.scenario import load_scenario, validate, without_effects
from tests.conftest import CONFIGS

Y = DAYS_PER_YEAR


def _still(raw: dict, rate: float) -> dict:
    """No leavers, vacancies or absences: only internal moves change the workforce."""
    raw = copy.deepcopy(raw)
    wf = raw["workforce"]
    wf.update(turnover_rate=0.0, agency_turnover_rate=0.0, initial_vacancy_rate=0.0,
              internal_move_rate=rate)
    wf.pop("annual_leave", None)
    wf.pop("sickness", None)
    return raw


# ---------------------------------------------------------------- the mechanism
def test_internal_moves_reallocate_cases_and_leave_no_vacancy(baseline_raw):
    off = simulate(without_effects(validate(_still(baseline_raw, 0.0))), 1, 2)
    on = simulate(without_effects(validate(_still(baseline_raw, 0.3))), 1, 2)
    assert off.kpis["sw_changes_role_change"] == 0
    assert on.kpis["sw_changes_role_change"] > 0
    assert on.simulation.workforce.moves.moves > 0
    # a move is not a leaver and is filled from inside the council the same day
    assert on.kpis["staff_turnover_rate"] == 0 and on.kpis["vacancy_rate"] == 0
    assert on.kpis["agency_share"] == 0
    assert on.kpis["sw_changes_per_child"] > off.kpis["sw_changes_per_child"]


def test_the_successor_takes_the_post_and_starts_their_own_clock(baseline_raw):
    run = simulate(without_effects(validate(_still(baseline_raw, 0.3))), 2, 1)
    sim = run.simulation
    posts = [p for p in sim.alloc.posts if p.turns_over]
    assert all(p.holder is not None and not p.holder.agency for p in posts)
    movers = [w for w in sim.alloc.people if w.left]
    assert len(movers) == sim.workforce.moves.moves
    assert all(not w.cases for w in movers)  # their cases went to colleagues
    # some successors moved on in turn: their clocks ran too
    assert any(w.since > 0 and w.left for w in movers)


def test_agency_staff_do_not_move(baseline_raw, monkeypatch):
    raw = _still(baseline_raw, 5.0)
    raw["workforce"]["initial_vacancy_rate"] = 0.5  # half the posts start with agency cover
    movers = []
    original = InternalMoves.move

    def record(self, worker):
        movers.append(worker.agency)
        return original(self, worker)

    monkeypatch.setattr(InternalMoves, "move", record)
    run = simulate(without_effects(validate(raw)), 3, 1)
    assert run.kpis["agency_share"] > 0
    assert movers and not any(movers)


def test_raising_the_internal_move_rate_raises_departures_and_other(baseline_raw):
    """Direction, on paired seeds: more moves inside the council, a larger share of
    looked-after children's changes for departures and other, and more changes per child."""
    seeds = (11, 12, 13, 14)
    low, high = copy.deepcopy(baseline_raw), copy.deepcopy(baseline_raw)
    low["workforce"]["internal_move_rate"] = 0.0
    high["workforce"]["internal_move_rate"] = 0.2
    k_low = [simulate(validate(low), s, 4).kpis for s in seeds]
    k_high = [simulate(validate(high), s, 4).kpis for s in seeds]
    for kpi in ("cla_change_share_departure", "sw_changes_per_child"):
        d = paired_difference_ci([k[kpi] for k in k_low], [k[kpi] for k in k_high])
        assert d.low > 0, (kpi, d)
    d = paired_difference_ci([k["cla_change_share_handover"] for k in k_low],
                             [k["cla_change_share_handover"] for k in k_high])
    assert d.high < 0, d


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")) + [
    CONFIGS / "councils" / "leicestershire.yaml"], ids=lambda p: p.stem)
def test_every_shipped_council_has_internal_moves(path):
    assert load_scenario(path).workforce.internal_move_rate > 0


# ---------------------------------------------------------------- counting as the DfE does
def _child(cid: int, spells, held, initial: bool = False) -> Child:
    child = Child(cid, 0.0, -5000.0, 0, "police", None, initial=initial)
    child.spells = spells
    child.held = held
    return child


def test_reasons_are_counted_on_the_dfe_population():
    # in care from day 100 to the end: at the year-3 end looked after throughout the two
    # years before, so every episode overlapping them counts, the one carried in included
    long_stay = _child(1, [("cp", 10.0), ("cla", 100.0)], [
        [1, 10.0, 100.0, None, False],                 # CP worker: ended before the window
        [2, 100.0, 1.5 * Y, "handover", False],        # carried into the window
        [3, 1.5 * Y, 2.5 * Y, "role_change", False],
        [4, 2.5 * Y, None, "caseload_management", False],
    ])
    # in care for a year only at the year-3 end: not in the population
    short_stay = _child(2, [("cp", 10.0), ("cla", 2 * Y)], [
        [5, 10.0, 2 * Y, None, False], [6, 2 * Y, None, "handover", False]])
    # day 0's caseload: its first worker's reason is unknown and left out
    initial = _child(3, [("cla", 0.0)], [
        [7, 0.0, 2.0 * Y, None, False], [8, 2.0 * Y, None, "absence", False]], initial=True)
    out = cla_change_shares([long_stay, short_stay, initial], 3)
    # counted: handover, role_change (departures and other), caseload, absence
    assert out["cla_change_share_handover"] == pytest.approx(1 / 4)
    assert out["cla_change_share_departure"] == pytest.approx(1 / 4)
    assert out["cla_change_share_caseload_management"] == pytest.approx(1 / 4)
    assert out["cla_change_share_absence"] == pytest.approx(1 / 4)


def test_periods_unallocated_are_no_reason_and_year_ends_pool():
    child = _child(1, [("cla", 5.0)], [
        [1, 5.0, 2.2 * Y, "handover", False],
        [2, 2.3 * Y, 3.5 * Y, "unallocated", False],
        [3, 3.5 * Y, None, "departure", False],
    ])
    out = cla_change_shares([child], 4)
    # year 3: handover (carried in); year 4: handover (still overlapping) and departure
    assert out["cla_change_share_handover"] == pytest.approx(2 / 3)
    assert out["cla_change_share_departure"] == pytest.approx(1 / 3)
    assert out["cla_change_share_absence"] == 0


def test_no_population_gives_no_shares():
    out = cla_change_shares([_child(1, [("cin", 5.0)], [[1, 5.0, None, None, False]])], 3)
    assert all(v != v for v in out.values())  # NaN
