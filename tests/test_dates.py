"""Dates in a projection (issue 10, bullet 5): effects and staffing that start part-way.

Paired seeds (common random numbers): a change that starts at a date leaves everything
before it bit for bit as without it, and moves what follows the way the domain says.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from simulation.analysis.stats import paired_difference_ci
from simulation.cli import main
from simulation.engine.routing import Routes
from simulation.outputs.run import simulate
from simulation.randomness.distributions import DAYS_PER_YEAR
from simulation.report.summary import _rests_on
from simulation.scenario import apply_effects, load_scenario
from simulation.scenario.effects import effect_dates, scenario_dates
from tests.conftest import CONFIGS, small, write_yaml

SEEDS = (1, 2, 3, 4, 5)
YEARS = 2.0
SCALE = 0.2
DATE = 1.0
DAY = DATE * DAYS_PER_YEAR
CARE = ["pathway.assessment.outcomes.cla", "pathway.cin.outcomes.cla",
        "pathway.cp.outcomes.cla"]


def _effect(value: float = -0.5, start: float | None = DATE, **extra) -> dict:
    spec = {"kind": "probability", "target": CARE, "value": value, "low": -0.6, "high": 0.0,
            "evidence": "a test assumption", **extra}
    if start is not None:
        spec["starts_at_years"] = start
    return spec


def _with(raw: dict, effect: dict | None = None, staff: float = 1.0,
          change: dict | None = None) -> dict:
    data = copy.deepcopy(raw)
    if effect is not None:
        data["effects"] = {"policy": {"care": effect}}
    for team in data["structure"]["teams"]:
        team["staff"]["social_worker"] *= staff
    if change is not None:
        data["structure"]["changes"] = [change]
    return data


def _run(data: dict, seed: int):
    return simulate(small(data, SCALE), seed, YEARS)


def _before(stocks):
    return stocks[stocks.day < DAY].reset_index(drop=True)


def _events(result, name: str, after: bool) -> list[float]:
    return [t for t in result.simulation.rec.events[name] if (t >= DAY) == after]


# ---------------------------------------------------------------- dated effects
@pytest.fixture(scope="module")
def effect_runs(baseline_raw):
    return {seed: (_run(_with(baseline_raw), seed),
                   _run(_with(baseline_raw, _effect()), seed)) for seed in SEEDS}


def test_an_effect_from_year_1_leaves_year_1_bit_for_bit(effect_runs):
    for base, dated in effect_runs.values():
        assert _before(base.stocks).equals(_before(dated.stocks))
        for name in ("referral", "assessment", "s47", "cp_start", "cla_start"):
            assert _events(base, name, False) == _events(dated, name, False), name
        assert not base.stocks.equals(dated.stocks)  # and it does act afterwards


def test_an_effect_on_care_entries_lowers_them_after_its_date(effect_runs):
    base = [len(_events(b, "cla_start", True)) for b, _ in effect_runs.values()]
    dated = [len(_events(d, "cla_start", True)) for _, d in effect_runs.values()]
    ci = paired_difference_ci(base, dated)  # dated - base
    assert ci.high < 0, ci


def test_an_effect_from_day_0_is_the_undated_effect(baseline_raw):
    undated = _run(_with(baseline_raw, _effect(start=None)), 1)
    at_zero = _run(_with(baseline_raw, _effect(start=0.0)), 1)
    assert undated.kpis == at_zero.kpis


def test_routes_switch_per_period_and_per_factor_group(baseline_raw):
    """A dated effect on families with a factor: before the date every group meets the
    same pathway; after it only the selected group's care share falls."""
    s = small(_with(baseline_raw, _effect(applies_to={"factors": ["domestic_abuse"]})), SCALE)
    routes = Routes(s, apply_effects(s, at_years=0.0))
    assert routes.dates == [DATE] == effect_dates(s)
    share = s.pathway.cp.outcomes.cla
    assert _share(routes.get(1, False, False).cp_outcome) == pytest.approx(share)  # bit 0:
    routes.advance()                                                              # domestic
    assert _share(routes.get(1, False, False).cp_outcome) == pytest.approx(share / 2)  # abuse
    assert _share(routes.get(2, False, False).cp_outcome) == pytest.approx(share)
    assert _share(routes.get(0, True, False).cp_outcome) > share  # history still applies


def _share(decision, label: str = "cla") -> float:
    i = decision.labels.index(label)
    return decision.cum[i] - (decision.cum[i - 1] if i else 0.0)


def test_a_dated_effect_on_contacts_is_a_step_in_demand(baseline_raw):
    """Contacts before the date are the same children as without it; more come after."""
    effect = {"kind": "rate", "target": "demand.contacts_per_10k", "value": 0.3, "low": 0.0,
              "high": 0.5, "evidence": "a test assumption", "starts_at_years": DATE}
    s = small(_with(baseline_raw, effect), SCALE)
    day0 = apply_effects(s, at_years=0.0)
    assert day0.demand.contacts_per_10k == s.demand.contacts_per_10k
    assert [(c.at_years, c.factor) for c in day0.demand.changes] == [(DATE, 1.3)]
    base, more = _run(_with(baseline_raw), 1), _run(_with(baseline_raw, effect), 1)
    assert _events(base, "referral", False) == _events(more, "referral", False)
    assert len(_events(more, "referral", True)) > len(_events(base, "referral", True))


def test_dated_effects_outside_the_pathway_switch_at_their_date(baseline_raw):
    """Re-referrals (read at each closure), placement costs and pay (read at each weekly
    account) switch at the date too: the same before it, moved after it."""
    effects = {
        "returns": {"kind": "probability", "target": "demand.re_referral.probability",
                    "value": 1.0, "low": 0.0, "high": 1.0, "evidence": "a test assumption",
                    "starts_at_years": DATE},
        "prices": {"kind": "rate", "target": "costs.placement_weekly_gbp.*", "value": 0.5,
                   "low": 0.0, "high": 0.5, "evidence": "a test assumption",
                   "starts_at_years": DATE},
        "pay": {"kind": "rate", "target": "workforce.roles.social_worker.weekly_cost_gbp",
                "value": 0.5, "low": 0.0, "high": 0.5, "evidence": "a test assumption",
                "starts_at_years": DATE}}
    data = _with(baseline_raw)
    data["effects"] = {"policy": effects}
    base, dated = _run(_with(baseline_raw), 1), _run(data, 1)
    costs = {n: [(a[0], a[3]) for a in r.simulation.rec.accounts]
             for n, r in (("base", base), ("dated", dated))}
    assert [c for c in costs["base"] if c[0] < DAY] == [c for c in costs["dated"] if c[0] < DAY]
    later = [(b[1], d[1]) for b, d in zip(costs["base"], costs["dated"], strict=True)
             if b[0] >= DAY]
    assert all(d > b for b, d in later)
    staff = {n: [(a[0], a[1]) for a in r.simulation.rec.accounts]
             for n, r in (("base", base), ("dated", dated))}
    assert [c for c in staff["base"] if c[0] < DAY] == [c for c in staff["dated"] if c[0] < DAY]
    assert all(d[1] > b[1] for b, d in zip(staff["base"], staff["dated"], strict=True)
               if b[0] >= DAY)
    assert _events(base, "referral", False) == _events(dated, "referral", False)
    returned = {n: sum(1 for c in r.simulation.rec.children if c.referrals > 1)
                for n, r in (("base", base), ("dated", dated))}
    assert returned["dated"] > returned["base"]


# ---------------------------------------------------------------- staffing changes
def _unallocated_days(stocks, after: bool) -> float:
    """Unallocated child-days: weekly open unallocated cases x 7, before or after the date."""
    part = stocks[(stocks.day >= DAY) == after]
    return float(part.unallocated.sum() * 7)


@pytest.fixture(scope="module")
def staff_runs(baseline_raw):
    """A council 30% short of social workers; +30% (or -20%) from year 1."""
    out = {}
    for seed in SEEDS:
        out[seed] = {name: _run(_with(baseline_raw, staff=0.7, change=change), seed)
                     for name, change in (("base", None),
                                          ("more", {"at_years": DATE, "factor": 1.3}),
                                          ("less", {"at_years": DATE, "factor": 0.8}))}
    return out


def test_staffing_changes_leave_the_time_before_their_date_bit_for_bit(staff_runs):
    for runs in staff_runs.values():
        for name in ("more", "less"):
            assert _before(runs["base"].stocks).equals(_before(runs[name].stocks)), name


def _unallocated_ci(staff_runs, name: str, after: bool):
    base = [_unallocated_days(r["base"].stocks, after) for r in staff_runs.values()]
    other = [_unallocated_days(r[name].stocks, after) for r in staff_runs.values()]
    return paired_difference_ci(base, other)  # other - base


def test_more_staff_from_a_date_cut_unallocated_days_after_it_not_before(staff_runs):
    ci = _unallocated_ci(staff_runs, "more", after=True)
    assert ci.high < 0, ci
    before = _unallocated_ci(staff_runs, "more", after=False)
    assert before.mean == before.low == before.high == 0.0, before


def test_fewer_staff_from_a_date_never_look_better(staff_runs):
    """A cut works through vacancies, agency contracts and attrition (slow: a permanent
    post closes only when its holder leaves), so its first year can be small; it must
    not lower unallocated days."""
    ci = _unallocated_ci(staff_runs, "less", after=True)
    assert ci.mean > 0 and ci.high > 0, ci


def test_staffing_changes_move_fte_in_post(staff_runs):
    """People in post follow the establishment: up by recruitment (with its lag), down by
    vacancies, agency contracts and attrition."""
    for runs in staff_runs.values():
        fte = {n: np.array([(d, f) for d, _, f, *_ in r.simulation.rec.caseload_snapshots])
               for n, r in runs.items()}
        last = {n: f[f[:, 0] >= YEARS * DAYS_PER_YEAR - 60, 1].mean() for n, f in fte.items()}
        assert last["more"] > last["base"] > last["less"]


def test_the_weekly_accounts_follow_the_establishment(staff_runs):
    """Funded posts and the staff bill (the weekly accounts, which work each post's figures
    out once) follow a change of establishment: the same before its date, and after it the
    new posts are counted and cut ones are not."""
    for runs in staff_runs.values():
        posts = {}
        for name, r in runs.items():
            rows = np.array([(d, f) for d, _, f, *_ in r.simulation.rec.workforce])
            days = np.unique(rows[:, 0])
            posts[name] = {d: rows[rows[:, 0] == d, 1].sum() for d in (days[0], days[-1])}
            costs = np.array([(d, p + a) for d, p, a, *_ in r.simulation.rec.accounts])
            posts[name]["cost_after"] = costs[costs[:, 0] >= DAY + 180, 1].mean()
            posts[name]["cost_before"] = costs[costs[:, 0] < DAY, 1].mean()
        first, last = days[0], days[-1]
        assert posts["base"][first] == posts["more"][first] == posts["less"][first]
        assert posts["more"][last] > posts["base"][last] > posts["less"][last]
        assert posts["base"]["cost_before"] == posts["more"]["cost_before"]
        assert posts["more"]["cost_after"] > posts["base"]["cost_after"]


def test_a_cut_ends_agency_contracts_and_is_not_refilled(baseline_raw):
    r = _run(_with(baseline_raw, staff=0.7, change={"at_years": DATE, "factor": 0.5}), 1)
    sim = r.simulation
    outcome = sim.establishment.done[0]
    assert outcome.closed_fte > 0 and outcome.opened_fte == 0
    closed = sim.workforce.closed
    assert closed
    for post in sim.alloc.posts:
        if post.id in closed and post.holder is not None:
            assert not post.holder.agency  # agency staff were let go on the date
    held = [p for k in sim.alloc.kinds for u in k.units for p in u.posts if p.id in closed]
    assert all(p.holder is not None for p in held)  # empty cut posts left the units


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("change, words", [
    (lambda d: d["effects"].update({"policy": {"care": _effect(start=-1)}}),
     "starts_at_years: Input should be greater than or equal to 0"),
    (lambda d: d["effects"].update({"policy": {"care": _effect(start=7)}}),
     "starts_at_years: 7 is at or after the end of the run (run.years 5)"),
    (lambda d: d["effects"].update({"policy": {"care": {
        **_effect(), "kind": "rate", "target": "workforce.turnover_rate"}}}),
     "target 'workforce.turnover_rate' is read once when a run starts"),
    (lambda d: d["effects"].update({"policy": {"care": {
        **_effect(), "kind": "rate", "target": "structure.teams.*.staff.social_worker"}}}),
     "(staffing changes at a date: structure.changes)"),
    (lambda d: d["structure"].update({"changes": [{"at_years": 1, "team": "nope",
                                                   "factor": 1.1}]}),
     "changes.0.team: no team 'nope'"),
    (lambda d: d["structure"].update({"changes": [{"at_years": -1, "factor": 1.1}]}),
     "structure.changes.0.at_years: Input should be greater than or equal to 0"),
    (lambda d: d["structure"].update({"changes": [{"at_years": 9, "factor": 1.1}]}),
     "structure.changes.0.at_years: 9 is at or after the end of the run"),
    (lambda d: d["structure"].update({"changes": [{"at_years": 1, "role": "team_manager",
                                                   "factor": 1.1}]}),
     "'team_manager' is not a case-holding role"),
    (lambda d: d["structure"].update({"changes": [{"at_years": 1, "factor": 1.1,
                                                   "fte": 2}]}),
     "give exactly one of factor or fte"),
], ids=["negative effect date", "effect after the horizon", "dated workforce target",
        "dated staff target", "unknown team", "negative staffing date",
        "staffing after the horizon", "not case-holding", "factor and fte"])
def test_bad_dates_are_one_line_exit_2(tmp_path, baseline_raw, change, words):
    data = copy.deepcopy(baseline_raw)
    data.setdefault("effects", {})
    change(data)
    path = write_yaml(tmp_path / "bad.yaml", data)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert words in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


# ---------------------------------------------------------------- what a run rests on
def test_outputs_say_which_effects_a_run_rests_on_and_from_when(tmp_path, baseline_raw):
    data = small(_with(baseline_raw, _effect(), change={"at_years": 0.5, "factor": 1.1}),
                 SCALE).model_dump(mode="json")
    path = write_yaml(tmp_path / "dated.yaml", data)
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(path), "--years", "0.8", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "policy.care starts at year 1, after this 0.8-year run" in result.output
    assert "policy.care -0.5 on" in result.output and "from year 1" in result.output
    kpis = (out / "kpis.csv").read_text()
    assert "policy.care=-0.5 from year 1" in kpis
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"name": "policy.care", "value": -0.5, "target": CARE,
            "starts_at_years": DATE} in manifest["assumed_effects"]
    assert [(d["at_years"], d["kind"]) for d in manifest["dates"]] == [
        (0.5, "staffing"), (DATE, "assumed effect")]
    record = {"assumed_effects": [{"name": "policy.care", "value": -0.5,
                                   "starts_at_years": DATE}]}
    assert "policy.care (−50% from year 1)" in _rests_on(record)


def test_the_shipped_projection_runs_and_compares(tmp_path):
    """configs/examples/five_year_projection.yaml: demand +3% a year, +10% social workers
    from 18 months, a practice effect from year 2; run and compare end to end."""
    path = CONFIGS / "examples" / "five_year_projection.yaml"
    s = load_scenario(path)
    assert s.demand.growth.annual_rate == 0.03
    assert [d["kind"] for d in scenario_dates(s)] == ["staffing", "assumed effect",
                                                      "assumed effect"]
    raw = s.model_dump(mode="json")
    small_path = write_yaml(tmp_path / "projection.yaml", small(raw, 0.1).model_dump(mode="json"))
    base_path = write_yaml(tmp_path / "base.yaml",
                           small(_strip_dates(raw), 0.1).model_dump(mode="json"))
    runner = CliRunner()
    result = runner.invoke(main, ["run", str(small_path), "--years", "2.5",
                                  "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    stocks = pd.read_parquet(tmp_path / "run" / "stocks.parquet")
    assert stocks.day.max() == pytest.approx(2.5 * DAYS_PER_YEAR)
    result = runner.invoke(main, ["compare", str(base_path), str(small_path), "--reps", "2",
                                  "--years", "2.5", "--out", str(tmp_path / "cmp")])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "cmp" / "manifest.json").read_text())
    record = next(r for r in manifest["scenarios"] if r["name"] == "five_year_projection")
    assert {e["starts_at_years"] for e in record["assumed_effects"]} >= {2.0}
    report = (tmp_path / "cmp" / "report.html").read_text()
    assert "from year 2" in report
    assert "social worker +10% from year 1.5" in report, "the staffing table names the change"


def _strip_dates(raw: dict) -> dict:
    data = copy.deepcopy(raw)
    data["name"] = "steady"
    data["demand"]["growth"] = {"annual_rate": 0.0}
    data["structure"]["changes"] = []
    data["effects"] = {}
    return data
