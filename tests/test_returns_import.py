"""csflow import recovers a synthetic council's known parameters from its returns.

The council (tests/returns_synth.py) has 20,000 children and four collection years;
every tolerance is four standard errors of the estimate at the sample size it rests on
(binomial for shares, Greenwood for the Kaplan-Meier re-referral share, the lognormal
median's for durations, the Poisson-weighted slope's for the trend).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from simulation.cli.main import main
from simulation.outputs.run import simulate
from simulation.returns.fields import FIELDS, in_schema
from simulation.returns.importer import fit, import_returns, read_returns
from simulation.returns.initial import AGE_EDGES, ELAPSED_EDGES, MIN_CELL, group_cases
from simulation.returns.journeys import YEAR_DAYS
from simulation.scenario import load_scenario
from tests.returns_synth import Council, Params

Z = 4.0
P = Params()


@pytest.fixture(scope="module")
def council() -> Council:
    return Council(P, seed=1)


@pytest.fixture(scope="module")
def extract(council, tmp_path_factory):
    return council.write(tmp_path_factory.mktemp("returns"), "folders", "xml")


@pytest.fixture(scope="module")
def fitted(extract):
    return fit(read_returns(*extract), P.population)


@pytest.fixture(scope="module")
def imported(extract, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "council.yaml"
    result = CliRunner().invoke(main, ["import", "--ssda903", str(extract[0]), "--cin",
                                       str(extract[1]), "--population", str(P.population),
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result


def share_ok(est, key: str, sub: str | None, truth: float) -> tuple[bool, str]:
    value = est.get(key)
    value = value[sub] if sub else value
    n = est.records(key)
    tol = Z * math.sqrt(truth * (1 - truth) / n)
    return abs(value - truth) <= tol, f"{key}.{sub}: {value:.4f} vs {truth} (n={n}, tol {tol:.4f})"


SHARES = [
    ("referral_nfa_rate", None, P.nfa),
    *[("assessment_outcomes", k, v) for k, v in P.assessment_outcomes.items()],
    ("icpc_rate", None, P.icpc_rate),
    ("cp_plan_rate", None, P.cp_plan_rate),
    ("icpc_otherwise", "cin", P.icpc_otherwise["cin"]),
    ("no_icpc_outcomes", "cin", P.no_icpc_outcomes["cin"]),
    *[("cin_outcomes", k, v) for k, v in P.cin_outcomes.items()],
    *[("cp_outcomes", k, v) for k, v in P.cp_outcomes.items()],
    ("cla_exits", "home", P.exits["E4A"]), ("cla_exits", "sgo", P.exits["E45"]),
    ("cla_exits", "adoption", P.exits["E11"]), ("cla_exits", "other", P.exits["E8"]),
    ("referral_sources", "police", P.sources["6"]),
    ("referral_sources", "schools", P.sources["2A"]),
    ("parental_factors", "domestic_abuse", P.factors["3B"]),
    ("parental_factors", "mental_health", P.factors["4B"]),
    ("parental_factors", "substance_misuse", P.factors["2B"]),
]


@pytest.mark.parametrize(("key", "sub", "truth"), SHARES)
def test_shares_are_recovered(fitted, key, sub, truth):
    ok, message = share_ok(fitted[1], key, sub, truth)
    assert ok, message


def test_re_referral_share_from_censored_follow_up(fitted):
    est = fitted[1]
    p, se = est.checks["re_referral_probability"], est.checks["re_referral_se"]
    assert abs(p - P.re_referral) <= Z * se + 0.01, (p, se)  # +0.01: delays beyond the extract


def log_median_tolerance(sigma: float, n: int) -> float:
    """Four standard errors of a log median: 1.2533 sigma / sqrt(n)."""
    return Z * 1.2533 * sigma / math.sqrt(n)


@pytest.mark.parametrize(("key", "spec", "scale"), [
    ("assessment_duration", P.assessment_days, 7 / 5),
    ("cin_duration", P.cin_days, 1.0),
    ("cp_duration", P.cp_days, 1.0),
    ("cla_duration", P.cla_days, 1.0),
])
def test_durations_are_recovered_despite_censoring(fitted, key, spec, scale):
    est = fitted[1]
    median = est.get(key)["points"][0.5] * scale
    surv = est.checks.get(key.replace("duration", "survival"))
    n = surv.events if surv is not None else est.records(key)
    tol = log_median_tolerance(spec[1], n)
    assert abs(math.log(median / spec[0])) <= tol, (median, spec[0], n, tol)


def test_naive_median_of_closed_periods_is_biased_and_km_is_not(fitted):
    """Periods of care still open at the last 31 March are the long ones: the median of
    the closed ones alone is far too short; Kaplan-Meier is within its tolerance."""
    j, est = fitted
    care = j.periods[~j.periods["uasc"] & j.periods["start_known"]]
    age = (care["end"] - care["dob"]) / YEAR_DAYS
    closed = care[care["end"].notna() & (age < 17.95)]
    naive = float(np.median(closed["end"] - closed["start"]))
    km = est.get("cla_duration")["points"][0.5]
    tol = log_median_tolerance(P.cla_days[1], est.checks["cla_survival"].events)
    assert abs(math.log(km / P.cla_days[0])) <= tol
    assert math.log(P.cla_days[0] / naive) > tol, (naive, km)  # outside what chance allows


def test_trend_is_recovered(fitted):
    t = fitted[1].trend
    assert abs(t["growth"] - P.growth) <= Z * t["se"], t


def test_age_profile_is_recovered(fitted):
    weights = np.array(P.age_weights) / sum(P.age_weights)
    got = fitted[1].checks["age_weights"]
    n = fitted[1].records("age_at_contact_years")
    assert np.all(np.abs(got - weights) <= Z * np.sqrt(weights * (1 - weights) / n)), got


def test_social_worker_changes_by_reason(fitted):
    sw = fitted[1].local["social_worker_changes"]["by_year"]
    totals: dict[str, float] = {}
    for year in sw.values():
        for reason, per_child in year["by_reason_per_child"].items():
            totals[reason] = totals.get(reason, 0.0) + per_child * year["children"]
    n = sum(totals.values())
    for reason, truth in P.sw_reasons.items():
        assert abs(totals[reason] / n - truth) <= Z * math.sqrt(truth * (1 - truth) / n)


def test_scenario_extends_the_baseline_and_says_where_values_come_from(imported, fitted):
    out, _ = imported
    text = out.read_text()
    assert text.startswith("extends: ")
    flat = " ".join(line.lstrip("# ").strip() for line in text.splitlines())
    assert "is the national default of configs/baseline.yaml" in flat
    s = load_scenario(out)
    assert s.population == P.population
    assert s.workforce.turnover_rate == load_scenario(
        out.parent / text.split()[1]).workforce.turnover_rate  # unobserved: national default
    for key in ("contacts_per_10k", "referral_nfa_rate", "cla:"):
        assert key in text
    assert text.count("records") + text.count("periods") + text.count("plans") >= 15
    # the open caseload at the last 31 March, aggregated; unaccompanied children in care
    # are left out (the run draws its day-0 ones from demand.unaccompanied)
    last = fitted[1].figures.iloc[-1]
    assert s.initial_state.cla == last["cla_open"] - last["uasc_cla_open"]
    assert s.initial_state.cp == fitted[1].figures.iloc[-1]["cp_open"]


def test_thin_data_falls_back_and_says_so(tmp_path):
    """A council of 1,500 children over two years: a few dozen CP plans, too few to
    estimate their outcomes from, so the national default stays and the file says so."""
    c = Council(Params(population=1500, years=(2023, 2024), burn_years=4), seed=4)
    returns = read_returns(*c.write(tmp_path))
    out = tmp_path / "small.yaml"
    est = import_returns(returns, 1500, out)
    thin = [v for v in est.values if v.value is None]
    assert thin, "expected some estimates to rest on too few records"
    flat = " ".join(line.lstrip("# ").strip() for line in out.read_text().splitlines())
    assert "national default kept" in flat and "records (< 30)" in flat
    raw = yaml.safe_load(out.read_text())
    for v in thin:
        node = raw
        for part in FIELDS[v.key].split("."):
            node = node.get(part) if isinstance(node, dict) else None
        assert node is None, f"{v.key} written despite only {v.n} records"


def test_local_figures_file_beside_the_scenario(imported):
    out, _ = imported
    local = yaml.safe_load(out.with_name("council.targets.yaml").read_text())
    figures = local["local_figures"]
    assert set(figures["by_year"]) == set(P.years)
    assert 0 < figures["cp_repeat_rate"]["value"] < 1
    assert "pending_fields" in local


@pytest.mark.parametrize(("key", "path"), [
    ("demand_growth", "demand.growth.annual_rate"), ("history", "pathway.history"),
    ("local_figures", "local_figures"), ("initial_state_history", "initial_state.history")])
def test_fields_other_issues_add_are_written_where_the_schema_has_them(imported, key, path):
    """Each estimate goes to its scenario field if the schema has it (after the merge of
    issues 9b and 10b), and into pending_fields of the local file until then."""
    out, _ = imported
    raw = yaml.safe_load(out.read_text())
    pending = yaml.safe_load(out.with_name("council.targets.yaml").read_text())["pending_fields"]
    node = raw
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if in_schema(path):
        assert node is not None and key not in pending
    else:
        assert node is None and pending[key]["field"] == path


@pytest.mark.parametrize(("layout", "cin_format"), [("combined", "csv"), ("folders", "csv"),
                                                    ("combined", "xml")])
def test_every_layout_gives_the_same_scenario(council, fitted, tmp_path, layout, cin_format):
    s903, cin = council.write(tmp_path, layout, cin_format)
    _, est = fit(read_returns(s903, cin), P.population)
    for a, b in zip(est.values, fitted[1].values, strict=True):
        assert a.value == b.value, a.key
    assert est.initial_state == fitted[1].initial_state


def test_history_odds_ratio_is_recovered(tmp_path):
    """A council where a past CP plan triples the odds of the routes towards protection:
    the pooled (Mantel-Haenszel) odds ratio finds it within four standard errors (on the
    log scale), and the base council's, with no such effect, is 1 within the same."""
    truth = 3.0
    c = Council(Params(cp_history_odds=truth, cp_outcomes={"cin": 0.3, "close": 0.55,
                                                           "cla": 0.15}), seed=5)
    _, est = fit(read_returns(*c.write(tmp_path)), P.population)
    ratio, se, exposed = est.checks["previous_cp_odds_ratio"]
    assert exposed >= 100
    assert abs(math.log(ratio / truth)) <= Z * se, (ratio, se)
    assert est.get("history")["previous_cp"]["odds_ratio"] == round(ratio, 3)


def test_no_history_effect_gives_odds_ratio_near_one(fitted):
    ratio, se, _ = fitted[1].checks["previous_cp_odds_ratio"]
    assert abs(math.log(ratio)) <= Z * se, (ratio, se)


def test_a_cin_census_with_fewer_years_uses_its_own_window(council, tmp_path):
    """The CIN census of the first year missing: the trend and the CIN values rest on the
    years it covers, with their own start for late entry, not on empty years."""
    import shutil

    s903, cin = council.write(tmp_path, "folders", "xml")
    shutil.rmtree(cin / str(P.years[0]))
    _, est = fit(read_returns(s903, cin), P.population)
    assert list(est.trend["per_year"]) == list(P.years[1:])
    assert abs(est.trend["growth"] - P.growth) <= Z * est.trend["se"]
    ok, message = share_ok(est, "icpc_rate", None, P.icpc_rate)
    assert ok, message
    median = est.get("cin_duration")["points"][0.5]
    n = est.checks["cin_survival"].events
    assert abs(math.log(median / P.cin_days[0])) <= log_median_tolerance(P.cin_days[1], n)


# --------------------------------------------------------------------------- day 0's caseload
def open_at_end(c: Council) -> pd.DataFrame:
    """The truth: each child open at the last 31 March, once, at the deepest stage (care, CP
    plan, CIN plan, s47 enquiry, referral awaiting assessment), from the simulated journeys."""
    E, rank = c.end, {"cla": 5, "cp": 4, "cin": 3, "s47": 2, "assessment": 1}
    where: dict[str, tuple[str, float]] = {}

    def offer(cid: str, stage: str, start: float) -> None:
        cur = where.get(cid)
        if cur is None or rank[stage] > rank[cur[0]] or (stage == cur[0] and start > cur[1]):
            where[cid] = (stage, start)

    for p in c.periods:
        if not c.children[p["child"]]["uasc"] and p["start"] <= E < p["end"]:
            offer(p["child"], "cla", p["start"])
    for r in c.referrals:
        cid = r["child"]
        for s, e, _ in r["cp"]:
            if s <= E < e:
                offer(cid, "cp", s)
        for s, e in r["cin"]:
            if s <= E < e:
                offer(cid, "cin", s)
        if r["ref"] <= E and (r["closure"] is None or r["closure"] > E):
            for s, i in r["s47"]:
                if s <= E and (i is None or i > E):
                    offer(cid, "s47", s)
            if not r["nfa"] and r["assessment"][1] > E:
                offer(cid, "assessment", r["ref"])
    plans = {}
    for r in c.referrals:
        for s, e, n in r["cp"]:
            plans.setdefault(r["child"], []).append((s, e, n))
    ended_care = {p["child"] for p in c.periods
                  if p["end"] <= E and not c.children[p["child"]]["uasc"]}
    rows = []
    for cid, (stage, start) in where.items():
        mine = plans.get(cid, [])
        if stage == "cp":  # a plan before the current one
            current = max((p for p in mine if p[0] <= E < p[1]), key=lambda p: p[0])
            had_cp = current[2] > 0
        else:
            had_cp = any(s <= E for s, _, _ in mine)
        dob = int(c.children[cid]["dob"])  # as written (whole days)
        rows.append((stage, (E - dob) / YEAR_DAYS, E - start, had_cp, cid in ended_care))
    return pd.DataFrame(rows, columns=["stage", "age", "elapsed", "previous_cp",
                                       "previous_cla"])


def fine_cells(frame: pd.DataFrame) -> pd.Series:
    # a young person open past 18 (a CIN or CP case) counts in the top band
    a = np.clip(np.searchsorted(AGE_EDGES, frame["age"], side="right") - 1, 0,
                len(AGE_EDGES) - 2)
    e = np.clip(np.searchsorted(ELAPSED_EDGES, frame["elapsed"], side="right") - 1, 0,
                len(ELAPSED_EDGES) - 2)
    return frame.assign(a=a, e=e).groupby(
        ["stage", "a", "e", "previous_cp", "previous_cla"]).size()


def test_open_caseload_is_recovered_exactly(tmp_path):
    """A council whose journeys all begin inside the extract (no years before it), so
    the returns show every child's whole past: the import finds each child open at the
    last 31 March at their stage, with their age, time in the stage and past, and its
    finest groups are the true counts by stage, age band, elapsed band and past."""
    c = Council(Params(burn_years=0), seed=6)
    _, est = fit(read_returns(*c.write(tmp_path)), P.population)
    truth = open_at_end(c)
    got = est.checks["open_cases"]
    assert not got["elapsed_open_ended"].any()
    key = ["stage", "elapsed", "previous_cp", "previous_cla", "age"]
    a = truth.sort_values(key).reset_index(drop=True)
    b = got[truth.columns].sort_values(key).reset_index(drop=True)
    assert len(a) > 300
    assert a[key[:-1]].equals(b[key[:-1]].astype(a[key[:-1]].dtypes.to_dict()))
    assert np.allclose(a["age"], b["age"])
    expected = fine_cells(truth)
    rows = group_cases(got, min_cell=1)
    recovered = pd.Series({(g["stage"], AGE_EDGES.index(g["age_years"][0]),
                            ELAPSED_EDGES.index(g["elapsed_days"][0]),
                            bool(g["previous_cp"]), bool(g["previous_cla"])): g["count"]
                           for g in rows}).sort_index()
    assert recovered.to_dict() == expected.to_dict()
    by_stage = truth.groupby("stage").size().to_dict()
    assert {k: v for k, v in est.initial_state.items() if k in by_stage} == by_stage


def test_groups_keep_the_counts_and_hide_small_cells(fitted, imported):
    """What is written: the stage counts exactly, the children with each past exactly, and
    no row of fewer than MIN_CELL children but one merged leftover a stage, aged 0-18."""
    est = fitted[1]
    records, groups = est.checks["open_cases"], est.initial_cases
    for stage, n in records.groupby("stage").size().items():
        mine = [g for g in groups if g["stage"] == stage]
        assert sum(g["count"] for g in mine) == n == est.initial_state[stage]
        for past in ("previous_cp", "previous_cla"):
            assert sum(round(g[past] * g["count"]) for g in mine) == \
                int(records.loc[records["stage"] == stage, past].sum())
        small = [g for g in mine if g["count"] < MIN_CELL]
        assert len(small) <= 1 and all(g["age_years"] == [0.0, 18.0] for g in small)
        assert all(g is mine[-1] for g in small)
    assert len(groups) < len(records) / MIN_CELL + 5 * len(set(records["stage"]))
    assert f"as {len(groups)} groups by stage" in imported[1].output
    written = load_scenario(imported[0]).initial_state
    assert [g.model_dump() for g in written.cases] == [
        {**g, "age_years": list(g["age_years"]), "elapsed_days": list(g["elapsed_days"])}
        for g in groups]


def test_grouping_any_caseload_keeps_counts_and_cells(tmp_path):
    """Random caseloads (including unknown ages and stages begun before the extract): every
    child in exactly one row, each past's count kept, every row but a stage's last at
    least MIN_CELL children."""
    rng = np.random.default_rng(3)
    for n in (1, 7, 60, 900):
        frame = pd.DataFrame({
            "stage": rng.choice(["assessment", "s47", "cin", "cp", "cla"], n),
            "age": np.where(rng.random(n) < 0.05, np.nan, rng.uniform(0, 18, n)),
            "elapsed": rng.exponential(400, n),
            "elapsed_open_ended": rng.random(n) < 0.1,
            "previous_cp": rng.random(n) < 0.3, "previous_cla": rng.random(n) < 0.1})
        groups = group_cases(frame)
        assert sum(g["count"] for g in groups) == n
        for stage, part in frame.groupby("stage"):
            mine = [g for g in groups if g["stage"] == stage]
            assert all(g["count"] >= MIN_CELL for g in mine[:-1])
            assert sum(round(g["previous_cp"] * g["count"]) for g in mine) == \
                part["previous_cp"].sum()


def test_an_imported_run_starts_with_its_open_caseload(imported):
    """The imported scenario's run begins with the groups' children at their stages."""
    s = load_scenario(imported[0])
    sim = simulate(s, 1, 2 / YEAR_DAYS).simulation
    grouped = [c for c in sim.rec.children if c.initial][-len_cases(s):]
    stages = pd.Series([c.spells[0][0] for c in grouped]).value_counts().to_dict()
    assert stages == {k: getattr(s.initial_state, k) for k in s.initial_state.grouped_stages()}


def len_cases(s) -> int:
    return sum(g.count for g in s.initial_state.cases)


def test_without_the_cin_census_only_care_is_grouped(extract):
    """The SSDA903 alone: day 0's children in care as groups (no CP past is known), and no
    other stage declared."""
    _, est = fit(read_returns(extract[0], None), P.population)
    assert set(est.initial_state) == {"cla"}
    assert {g["stage"] for g in est.initial_cases} == {"cla"}
    assert sum(g["count"] for g in est.initial_cases) == est.initial_state["cla"] > 0
    assert all(g["previous_cp"] == 0 for g in est.initial_cases)
