"""Issue 10b: a council's own scenario from a profile, sized structures, local targets,
growing demand and dates, and the drift warning."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from simulation.analysis.drift import drift_warnings
from simulation.analysis.stats import mean_ci
from simulation.cli.main import main
from simulation.council.build import solve_profile
from simulation.council.profile import load_profile
from simulation.council.structures import apply_structure
from simulation.engine.contacts import draw_contacts
from simulation.experiments.calibration import local_table, tune_local
from simulation.outputs.flows import stage_flows
from simulation.outputs.run import simulate
from simulation.randomness.distributions import DAYS_PER_YEAR, build_distribution
from simulation.randomness.streams import Streams
from simulation.scenario import (
    ScenarioError,
    apply_effects,
    load_raw,
    load_scenario,
    validate,
)
from simulation.scenario.schema.structure import case_holding_fte

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
PROFILE = CONFIGS / "councils" / "leicestershire_profile.yaml"
LEICS = CONFIGS / "councils" / "leicestershire.yaml"
# Published (seed 002): per month 1,487 contacts, 250 referrals, 113 strategy meetings;
# open: 433 CIN, 370 CP, ~600 looked after.
PUBLISHED = {"referrals": 3000, "s47_enquiries": 1356, "cin_open": 433, "cp_open": 370,
             "cla_open": 600}


def capacity(s) -> float:
    return case_holding_fte([t.model_dump() for t in s.structure.teams],
                            {k: v.model_dump() for k, v in s.workforce.roles.items()})


# ------------------------------------------------------------------ profile round trip
@pytest.mark.slow
def test_leicestershire_profile_round_trips(tmp_path):
    """csflow profile, then year 1 of the written scenario on fresh seeds: referrals and
    s47 a year and the CIN/CP/CLA stocks at the end of year 1 each within 5% of the
    published figure plus the 95% CI half-width of the model's mean (6 replications)."""
    out = tmp_path / "leics.yaml"
    result = CliRunner().invoke(main, ["profile", str(PROFILE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    s = load_scenario(out)
    assert s.population == 140_000 and "100,000" not in s.description
    assert s.initial_state.cin == 433 and s.initial_state.cp == 370
    table = local_table(s, reps=6, years=1.0, seed=500).set_index("measure")
    for name, value in PUBLISHED.items():
        row = table.loc[name]
        assert row["local"] == value
        assert row["within"], (name, row.to_dict())


def test_shipped_leicestershire_scenario_matches_its_profile():
    """The shipped scenario was generated from the profile: same figures, same solve."""
    s = load_scenario(LEICS)
    p = load_profile(PROFILE)
    diff, solved = solve_profile(p, PROFILE)
    assert {n: f.latest()[1] for n, f in s.local_figures.items()} == {
        n: f.latest()[1] for n, f in solved.local_figures.items()}
    assert s.initial_state == solved.initial_state
    assert s.demand.contacts_per_10k == pytest.approx(1487 * 12 / 14)
    # tuning moves the solved inputs only a little
    assert s.demand.front_door.referral_rate == pytest.approx(
        solved.demand.front_door.referral_rate, rel=0.05)
    for stage in ("cin", "cp", "cla"):
        assert getattr(s.pathway, stage).duration["multiplier"] == pytest.approx(
            getattr(solved.pathway, stage).duration["multiplier"], rel=0.1)


def test_profile_solves_the_inputs_in_expectation():
    """The flow arithmetic alone: front-door referrals plus re-referrals give the
    referrals; care lengths stretch so that fewer entries still hold 600 in care."""
    p = load_profile(PROFILE)
    diff, s = solve_profile(p, PROFILE)
    base = load_scenario(CONFIGS / "baseline.yaml")
    assert diff["demand"]["contacts_per_10k"] == pytest.approx(17844 / 14)
    assert s.pathway.assessment.outcomes.s47 > base.pathway.assessment.outcomes.s47
    assert s.pathway.cla.duration["multiplier"] > 1.0
    assert "leicestershire" in s.description and "typical" not in s.description.lower()


def test_profile_options_declared_fte_costs_and_structure(tmp_path):
    """Declared case-holding FTE sizes the teams; local costs replace the template's; a
    structure file replaces the template's structure, sized to the council."""
    data = yaml.safe_load(PROFILE.read_text())
    data.update(template=str(CONFIGS / "baseline.yaml"), case_holding_fte=150.0,
                structure=str(CONFIGS / "pods.yaml"),
                costs={"role_weekly_gbp": {"social_worker": 2222},
                       "placement_weekly_gbp": {"residential": 5555}, "sources": "budget"})
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "s.yaml"
    result = CliRunner().invoke(main, ["profile", str(path), "--out", str(out), "--no-tune"])
    assert result.exit_code == 0, result.output
    s = load_scenario(out)
    assert capacity(s) == pytest.approx(150.0)
    assert [t.name for t in s.structure.teams] == ["assessment", "pod", "children_in_care"]
    assert s.workforce.roles["social_worker"].weekly_cost_gbp == 2222
    assert s.costs.placement_weekly_gbp["residential"] == 5555
    assert s.costs.placement_weekly_gbp["agency_foster"] == 1090  # the rest kept
    data["costs"] = {"role_weekly_gbp": {"wizard": 1}}
    path.write_text(yaml.safe_dump(data))
    bad = CliRunner().invoke(main, ["profile", str(path), "--out", str(out), "--no-tune",
                                    "--force"])
    assert bad.exit_code == 2 and "costs.role_weekly_gbp" in bad.output


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d.pop("population"), "population"),
    (lambda d: d["per_month"].update(referrals=-5), "per_month.referrals"),
    (lambda d: d["per_month"].update(referrals=5000), "per_month.referrals"),
    (lambda d: d["open"].update(cin="many"), "open.cin"),
    (lambda d: d.update(colour="blue"), "colour"),
    (lambda d: d["per_month"].update(strategy_meetings=240), "per_month.strategy_meetings"),
    (lambda d: d.update(case_holding_fte=0), "case_holding_fte"),
    (lambda d: d.update(template="nowhere.yaml"), "template"),
])
def test_bad_profile_exits_2_naming_the_field(tmp_path, mutate, field):
    data = yaml.safe_load(PROFILE.read_text())
    data["template"] = str(CONFIGS / "baseline.yaml")
    mutate(data)
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "out.yaml"
    result = CliRunner().invoke(main, ["profile", str(path), "--out", str(out), "--no-tune"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], result.output
    assert "Traceback" not in result.output
    assert not out.exists()


# ------------------------------------------------------------------ structures sized
def test_structure_scales_with_population(raw):
    """A council of twice the population gets twice the case-holding FTE under every
    structure, with team counts following; declared absolutely, teams stay as written."""
    base = validate(raw)
    double = dict(copy.deepcopy(raw), population=2 * raw["population"])
    for structure in ("pods.yaml", "fsp.yaml", "hub.yaml", "hackney_units.yaml"):
        one = validate(apply_structure(raw, CONFIGS / structure))
        two = validate(apply_structure(double, CONFIGS / structure))
        assert capacity(two) == pytest.approx(2 * capacity(one)), structure
        assert capacity(one) == pytest.approx(capacity(
            load_scenario(CONFIGS / structure))), structure
    assert capacity(validate(double)) == pytest.approx(2 * capacity(base))
    absolute = copy.deepcopy(double)
    absolute["structure"].pop("sized_for_population")
    assert capacity(validate(absolute)) == pytest.approx(capacity(base))
    declared = copy.deepcopy(double)
    declared["structure"]["case_holding_fte"] = 100.0
    assert capacity(validate(declared)) == pytest.approx(100.0)
    # sizing happens once: an assumed effect on staff afterwards is not undone
    overlay = yaml.safe_load((CONFIGS / "practice" / "self_managed_teams.yaml").read_text())
    with_effect = validate({**declared, **overlay})
    assert 105 < capacity(apply_effects(with_effect)) < 110  # +10% social workers kept
    # applying a structure keeps the council's declared capacity
    assert capacity(validate(apply_structure(declared, CONFIGS / "pods.yaml"))) == \
        pytest.approx(100.0)


@pytest.mark.slow
def test_doubled_council_has_similar_caseloads(raw):
    """Pods applied to a council of 2x population (twice the demand and caseload): the
    mean caseload per worker is the same within the paired 95% CI, plus 5%."""
    one = copy.deepcopy(raw)
    one["population"] = 50_000
    one["initial_state"] = {k: (round(v / 2) if isinstance(v, int) else v)
        for k, v in raw["initial_state"].items()}
    two = copy.deepcopy(raw)
    two["initial_state"] = dict(raw["initial_state"])
    small = validate(apply_structure(one, CONFIGS / "pods.yaml"))
    large = validate(apply_structure(two, CONFIGS / "pods.yaml"))
    assert capacity(large) == pytest.approx(2 * capacity(small))
    a = [simulate(small, seed, 1.0).kpis["mean_caseload"] for seed in range(4)]
    b = [simulate(large, seed, 1.0).kpis["mean_caseload"] for seed in range(4)]
    diff = mean_ci(np.array(b) - np.array(a))
    assert abs(diff.mean) <= 0.05 * np.mean(a) + diff.half_width, (a, b)


def test_compare_structures_on_a_council(tmp_path):
    out = tmp_path / "cmp"
    result = CliRunner().invoke(main, [
        "compare", str(LEICS), "--structures", str(CONFIGS / "pods.yaml"),
        "--reps", "2", "--years", "0.5", "--out", str(out), "--quiet", "--backend", "serial"])
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["scenario"].unique()) == ["leicestershire", "leicestershire-pods"]
    local = summary[summary["comparator_kind"] == "local"]
    assert set(local["kpi"]) >= {"referrals", "s47_enquiries", "cin_per_10k_end"}
    assert (local[local["kpi"] == "referrals"]["comparator"] == 3000).all()
    assert "local" in result.output and "3,000 (2019)" in result.output
    manifest = json.loads((out / "manifest.json").read_text())
    records = manifest["scenarios"]
    assert records[0]["local_figures"]["cla_open"]["value"] == 600
    # the council's own figures are the report's comparators, with their source
    local_referrals = manifest["comparators"]["leicestershire"]["referrals"]
    assert local_referrals["value"] == 3000 and "2019" in local_referrals["source"]
    assert "Leicestershire" in (out / "kpis_long.csv").read_text()


# ------------------------------------------------------------------ local targets
@pytest.mark.slow
def test_calibrate_tunes_to_local_targets(tmp_path, raw):
    """Local figures away from what the scenario gives (10% fewer referrals, 15% more on
    CP plans): calibrate --local --tune writes a scenario that hits them, checked on
    fresh seeds."""
    data = copy.deepcopy(raw)
    data["structure"].pop("sized_for_population")
    data["population"] = 30_000
    data["structure"]["case_holding_fte"] = 50.0
    init = {k: (round(v * 0.3) if isinstance(v, int) else v)
        for k, v in raw["initial_state"].items()}
    init["cp"] = round(init["cp"] * 1.15)
    data["initial_state"] = init
    src = "test figures"
    data["local_figures"] = {
        "referrals": {"values": {2024: round(0.9 * 0.3 * 5150)}, "source": src},
        "cp_open": {"values": {2024: init["cp"]}, "source": src},
        "cin_open": {"values": {2024: init["cin"]}, "source": src}}
    path = tmp_path / "council.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    before = local_table(validate(data), reps=6, seed=900).set_index("measure")
    assert not before.loc["referrals", "within"]
    out = tmp_path / "tuned.yaml"
    # 8 replications: with 4, the tuned CP stock on fresh seeds sat at the edge of the
    # tolerance (its year-1 spread grew with the history and workload mechanisms)
    result = CliRunner().invoke(main, ["calibrate", str(path), "--local", "--tune",
                                       "--tuned", str(out), "--reps", "8", "--seed", "3"])
    assert result.exit_code == 0, result.output
    tuned = load_scenario(out)
    assert tuned.demand.front_door.referral_rate < 0.168
    assert tuned.pathway.cp.duration.get("multiplier", 1.0) > 1.0
    after = local_table(tuned, reps=6, seed=900)
    assert after["within"].all(), after.to_dict("records")


def test_tuning_is_deterministic(raw):
    data = copy.deepcopy(raw)
    data["population"] = 10_000
    data["initial_state"] = {k: (round(v * 0.1) if isinstance(v, int) else v)
        for k, v in raw["initial_state"].items()}
    data["local_figures"] = {"referrals": {"values": {2024: 450}, "source": "x"}}
    a, _ = tune_local(data, reps=2, seed=1, iterations=1)
    b, _ = tune_local(data, reps=2, seed=1, iterations=1)
    assert a == b


def test_local_figures_schema(raw):
    data = copy.deepcopy(raw)
    data["local_figures"] = {"referals": {"values": {2024: 1}, "source": "x"}}
    with pytest.raises(ScenarioError, match="local_figures.*referals"):
        validate(data)
    data["local_figures"] = {"referrals": {"values": {2023: 10, 2024: 12}, "source": "x"}}
    assert validate(data).local_figures["referrals"].latest() == (2024, 12)


# ------------------------------------------------------------------ growth and dates
def _contacts(data: dict, seed: int, years: float):
    s = validate(data)
    door = build_distribution(s.demand.front_door.decision_time)
    return draw_contacts(s, Streams(seed), years * DAYS_PER_YEAR, door)


def _per_year(c, years: int) -> np.ndarray:
    return np.histogram(c.arrival, bins=np.arange(years + 1) * DAYS_PER_YEAR)[0]


def test_growth_raises_contacts_and_referrals_by_the_stated_rate(raw):
    """+3% a year: contacts and front-door referrals in year 2 over year 1 is 1.03 within
    the 95% CI over 12 seeds; year 1 is not 3% higher than without growth everywhere."""
    grown = copy.deepcopy(raw)
    grown["demand"]["growth"] = {"annual_rate": 0.03}
    ratios, referred = [], []
    for seed in range(12):
        c = _contacts(grown, seed, 3.0)
        y = _per_year(c, 3)
        ratios.append(y[2] / y[1])
        r = np.histogram(c.decision[c.referred], bins=np.arange(4) * DAYS_PER_YEAR)[0]
        referred.append(r[2] / r[1])
    for values in (ratios, referred):
        ci = mean_ci(values)
        assert ci.low <= 1.03 <= ci.high, ci
        assert ci.low > 1.0
    # by age band: only the band that grows grows
    by_age = copy.deepcopy(raw)
    by_age["demand"]["growth"] = {"by_age": [0.0, 0.0, 0.0, 0.5, 0.0]}
    c = _contacts(by_age, 1, 2.0)
    teen = (c.age_years >= 10) & (c.age_years < 16)
    t = np.histogram(c.arrival[teen], bins=[0, DAYS_PER_YEAR / 2, DAYS_PER_YEAR * 2])[0]
    o = np.histogram(c.arrival[~teen], bins=[0, DAYS_PER_YEAR / 2, DAYS_PER_YEAR * 2])[0]
    assert t[1] / 3 > 1.3 * t[0] and o[1] / 3 == pytest.approx(o[0], rel=0.06)


def test_growth_keeps_common_random_numbers(raw):
    """Where demand is equal the same children arrive; a longer run extends a shorter."""
    step = copy.deepcopy(raw)
    step["demand"]["changes"] = [{"at_years": 1.0, "factor": 1.25}]
    base, stepped = _contacts(raw, 4, 2.0), _contacts(step, 4, 2.0)
    before = base.arrival < DAYS_PER_YEAR
    assert np.array_equal(base.arrival[before], stepped.arrival[stepped.arrival < DAYS_PER_YEAR])
    assert np.array_equal(base.key[before], stepped.key[stepped.arrival < DAYS_PER_YEAR])
    after = _per_year(stepped, 2)[1] / _per_year(base, 2)[1]
    assert after == pytest.approx(1.25, abs=0.03)
    # every child of the base is still there after the step (it only adds children)
    assert set(base.key[~before]) <= set(stepped.key[stepped.arrival >= DAYS_PER_YEAR])
    short, long = _contacts(step, 4, 1.5), stepped
    n = len(short.arrival)
    assert np.array_equal(short.arrival, long.arrival[:n])


@pytest.mark.slow
def test_change_at_a_date_shows_in_the_weekly_series_after_it_only(raw):
    """A 30% step in demand at 0.5 years: every weekly stock is identical to the run
    without it before the date (same children, same luck), and referrals after it rise."""
    data = copy.deepcopy(raw)
    data["population"] = 30_000
    data["structure"]["case_holding_fte"] = 50.0
    data["initial_state"] = {k: (round(v * 0.3) if isinstance(v, int) else v)
        for k, v in raw["initial_state"].items()}
    step = copy.deepcopy(data)
    step["demand"]["changes"] = [{"at_years": 0.5, "factor": 1.3, "reason": "new front door"}]
    a, b = simulate(validate(data), 2, 1.0), simulate(validate(step), 2, 1.0)
    date = 0.5 * DAYS_PER_YEAR
    sa, sb = a.stocks, b.stocks
    assert sa[sa["day"] < date].equals(sb[sb["day"] < date])
    ra = np.asarray(a.simulation.rec.events["referral"])
    rb = np.asarray(b.simulation.rec.events["referral"])
    assert np.array_equal(ra[ra < date], rb[rb < date])
    assert (rb >= date).sum() > 1.15 * (ra >= date).sum()
    fa, fb = sa[sa["stage"] == "front_door"], sb[sb["stage"] == "front_door"]
    assert fb[fb["day"] > date + 14]["open"].mean() > fa[fa["day"] > date + 14]["open"].mean()


# ------------------------------------------------------------------ drift warning
def test_drift_warning_names_the_stock_and_the_imbalance(tmp_path):
    """The analyst's nine lines: Leicestershire's counts on the baseline's flows. CIN
    fills up from 433, and the warning says by how much and with which flows."""
    naive = tmp_path / "naive.yaml"
    naive.write_text(yaml.safe_dump({
        "extends": str(CONFIGS / "baseline.yaml"), "name": "naive", "population": 140_000,
        "initial_state": {"assessment": 600, "s47": 100, "cin": 433, "cp": 370, "cla": 600,
                          "closed_returning": 1200}}))
    result = CliRunner().invoke(main, ["run", str(naive), "--years", "1", "--out",
                                       str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    warnings = [w for w in result.output.splitlines() if w.startswith("warning: naive: CIN")]
    assert len(warnings) == 1, result.output
    assert "433 ->" in warnings[0] and "starts" in warnings[0] and "ends" in warnings[0]
    s = load_scenario(naive)
    r = simulate(s, 1, 1.0)
    flows = stage_flows(r.simulation.rec.children, 0.0, DAYS_PER_YEAR)
    assert flows["cin"][0] > flows["cin"][1]  # more start than end: the cause named


@pytest.mark.parametrize("path", [CONFIGS / "baseline.yaml", LEICS])
def test_calibrated_scenarios_do_not_warn(path):
    s = load_scenario(path)
    for seed in (1, 2):
        r = simulate(s, seed, 1.0)
        flows = stage_flows(r.simulation.rec.children, 0.0, DAYS_PER_YEAR)
        assert drift_warnings(s.name, s.initial_state.model_dump(), r.stocks, flows) == []


def test_description_follows_the_population(raw):
    data = copy.deepcopy(raw)
    data["population"] = 140_000
    s = validate(data)
    assert "140,000" in s.description and "100,000" not in s.description
    assert "100,000" in validate(raw).description


def test_drift_margin_is_stated():
    stocks = pd.DataFrame({"day": [0.0, 350.0, 365.25], "stage": "cin", "open": [100, 130, 130],
                           "unallocated": 0})
    lines = drift_warnings("x", {"cin": 100}, stocks, {"cin": (200.0, 170.0)})
    assert lines and "+30%" in lines[0] and "10% margin" in lines[0]
    assert "200/yr" in lines[0] and "170/yr" in lines[0]
    assert drift_warnings("x", {"cin": 125}, stocks, {"cin": (1.0, 1.0)}) == []


def test_shipped_profile_cites_its_figures():
    text = PROFILE.read_text()
    assert "seed 002" in text and "1,487" in text and "113 strategy meetings" in text
    assert load_raw(LEICS)["name"] == "leicestershire"


@pytest.mark.parametrize("mutate, words", [
    (lambda d: d["demand"].update(growth={"by_age": [0.1, 0.2]}), "demand: growth.by_age"),
    (lambda d: d["demand"].update(changes=[{"at_years": 1, "factor": -2}]),
     "demand.changes.0.factor"),
    (lambda d: d["structure"].update(case_holding_fte=-5), "structure.case_holding_fte"),
    (lambda d: d.update(local_figures={"referrals": {"values": {2024: 1}}}),
     "local_figures.referrals.source"),
])
def test_bad_council_fields_exit_2_naming_the_field(tmp_path, raw, mutate, words):
    data = copy.deepcopy(raw)
    mutate(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2 and words in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_run_of_a_council_compares_with_its_own_figures(tmp_path):
    """kpis_long.csv of a single run shows the council's own figure, as its terminal does."""
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(LEICS), "--years", "0.5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    long = pd.read_csv(out / "kpis_long.csv").set_index("kpi")
    assert long.loc["referrals", "comparator"] == 3000
    assert "2019" in long.loc["referrals", "comparator_source"]
