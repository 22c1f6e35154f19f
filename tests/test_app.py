"""The workshop app without a browser: what-ifs as data, the shared pool, export, the API.

The pool here runs on threads (same code path, no process start-up), on a council a
tenth of the baseline's size, for speed.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import Future, ThreadPoolExecutor

import pandas as pd
import pytest
import yaml
from starlette.testclient import TestClient

from simulation.analysis.stats import paired_difference_ci
from simulation.app import answers as answers_module
from simulation.app.answers import Answer
from simulation.app.catalogue import Catalogue
from simulation.app.export import ExportError, export_pinned
from simulation.app.question import parse_question
from simulation.app.server import create_app
from simulation.app.whatif import WhatIfError, apply_whatif, check_values
from simulation.experiments.batch import Task, replication_seed, run_replication
from simulation.experiments.live import LivePool, digest, replications
from simulation.scenario import ScenarioError, load_raw, validate
from tests.conftest import CONFIGS, small

YEARS = 0.5


class RecordingExecutor(ThreadPoolExecutor):
    """A one-thread executor that remembers the order tasks were handed to it."""

    def __init__(self) -> None:
        super().__init__(1)
        self.order: list[tuple[str, int]] = []

    def submit(self, fn, *args, **kwargs):
        if args and isinstance(args[0], Task):
            self.order.append((args[0].scenario.name, args[0].rep))
        return super().submit(fn, *args, **kwargs)


@pytest.fixture
def pool():
    executor = RecordingExecutor()
    live = LivePool(workers=1, executor=executor)
    yield live
    live.close()
    executor.shutdown(wait=True)


@pytest.fixture(scope="module")
def council(tmp_path_factory):
    """A folder with a small council and its FSP variant, as the app would offer them."""
    folder = tmp_path_factory.mktemp("configs")
    for name in ("baseline", "fsp"):
        data = small(load_raw(CONFIGS / f"{name}.yaml")).model_dump()
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(data))
    return folder


@pytest.fixture(scope="module")
def catalogue(council):
    return Catalogue(council)


# ------------------------------------------------------------------ what-ifs as data
def test_staff_and_caseload_change_every_team_case_holding_roles_only(catalogue):
    base = catalogue.get("baseline")
    variant = apply_whatif(base, {"staff_pct": 10, "caseload_change": 2}, {}, True, "x")
    holding = {r for r, role in base.workforce.roles.items() if role.caseload_share > 0}
    for before, after in zip(base.structure.teams, variant.structure.teams, strict=True):
        assert after.caseload_limit == before.caseload_limit + 2
        for role, fte in before.staff.items():
            expected = fte * 1.1 if role in holding else fte
            assert after.staff[role] == pytest.approx(expected)
    assert variant.name == "baseline · x"


def test_workforce_demand_and_effects_become_scenario_values(catalogue):
    fsp = catalogue.get("fsp")
    variant = apply_whatif(fsp, {"turnover_pct": 20, "agency_cover": 0, "agency_start_weeks": 8,
                                 "demand_pct": -10}, {"fsp.cla_entry": -0.3}, True, "y")
    assert variant.workforce.turnover_rate == pytest.approx(0.2)
    assert variant.workforce.agency_cover is False
    assert variant.workforce.agency_start["value"] == 8
    assert variant.demand.contacts_per_10k == pytest.approx(fsp.demand.contacts_per_10k * 0.9)
    assert variant.effects["fsp"]["cla_entry"].value == -0.3
    off = apply_whatif(fsp, {}, {}, False, "")
    assert all(e.value == 0 for es in off.effects.values() for e in es.values())


def test_demand_growth_is_offered_exactly_when_the_schema_has_a_trend(catalogue):
    from simulation.app.whatif import CONTROL_BY_NAME, has_growth_field, scenario_defaults

    base = catalogue.get("baseline")
    assert ("growth_pct" in CONTROL_BY_NAME) == has_growth_field()
    if has_growth_field():
        variant = apply_whatif(base, {"growth_pct": 3}, {}, True, "g")
        assert variant.demand.growth.annual_rate == pytest.approx(0.03)
        assert scenario_defaults(base)["growth_pct"] == base.demand.growth.annual_rate * 100
    else:
        with pytest.raises(WhatIfError, match="whatif.growth_pct: unknown control"):
            check_values({"growth_pct": 3})


@pytest.mark.parametrize(("values", "message"), [
    ({"staff_pct": 31}, "whatif.staff_pct: must be between -30 and 30, got 31"),
    ({"turnover_pct": -1}, "whatif.turnover_pct: must be between 0 and 40, got -1"),
    ({"caseload_change": "lots"}, "whatif.caseload_change: must be a number, got 'lots'"),
    ({"demand_pct": float("nan")}, "whatif.demand_pct: must be a number"),
    ({"staff": 5}, "whatif.staff: unknown control"),
])
def test_controls_outside_their_range_are_refused(values, message):
    with pytest.raises(WhatIfError, match=message.replace("(", r"\(")):
        check_values(values)


def test_effects_only_within_their_evidence_range(catalogue):
    ask = {"base": "baseline", "compare": ["fsp"], "years": 1}
    with pytest.raises(WhatIfError, match=r"effects.fsp.cla_entry: must be between -0.3 and 0"):
        parse_question(ask | {"effects": {"fsp.cla_entry": 0.2}}, catalogue)
    with pytest.raises(WhatIfError, match="no compared scenario assumes this effect"):
        parse_question(ask | {"compare": ["baseline"], "effects": {"fsp.cla_entry": -0.1}},
                       catalogue)
    with pytest.raises(WhatIfError, match="years: must be between 1 and 10"):
        parse_question(ask | {"years": 50}, catalogue)
    with pytest.raises(ScenarioError, match="'nowhere': not in this app"):
        parse_question({"base": "nowhere"}, catalogue)


def test_question_pairs_against_the_base_as_it_stands(catalogue):
    q = parse_question({"base": "baseline", "compare": ["baseline", "fsp"],
                        "whatif": {"staff_pct": 10, "turnover_pct": 11.8}}, catalogue)
    assert [s.name for s in q.scenarios] == ["baseline", "baseline · staff +10%",
                                             "fsp · staff +10%"]
    assert q.scenarios[0] == catalogue.get("baseline")
    assert q.values == {"staff_pct": 10}  # the scenario's own turnover is no change
    plain = parse_question({"base": "baseline", "compare": ["baseline"]}, catalogue)
    assert len(plain.scenarios) == 1 and plain.label == ""


# ------------------------------------------------------------------ the shared pool
def test_pool_answers_are_the_batch_answers_and_repeats_are_cached(pool, catalogue):
    base = catalogue.get("baseline")
    outs = list(replications(pool, [base], 2, seed=7, years=YEARS))
    assert sorted(o.rep for o in outs) == [0, 1]
    direct = run_replication(Task(0, base, 1, replication_seed(7, 1), YEARS))
    assert next(o for o in outs if o.rep == 1).row == direct.row  # common random numbers
    runs = pool.runs_started
    started = time.monotonic()
    job = pool.submit([base], 2, 7, YEARS)
    assert job.done and len(job.outputs) == 2  # at once, from the cache
    assert pool.runs_started == runs and pool.cache_hits == 2
    assert time.monotonic() - started < 60  # (a bound on the test, not a timing claim)


def test_first_replications_of_every_question_before_anyone_refines(pool, catalogue):
    base, fsp = catalogue.get("baseline"), catalogue.get("fsp")
    first = pool.submit([base], 3, 1, YEARS)  # its replication 0 starts at once
    second = pool.submit([fsp], 3, 1, YEARS)
    third = pool.submit([base], 3, 2, YEARS)
    assert pool.queue_position(second) == 0  # next to start
    assert pool.queue_position(third) == 1  # behind second's first replication
    assert pool.queue_position(first) == 2  # its refinement waits for both first answers
    for job in (first, second, third):
        while not job.done:
            job.wait(job.version, 5)
    order = pool._executor.order
    assert order.index(("fsp", 0)) < order.index(("baseline", 1))
    assert pool.queue_position(second) == 0


def test_a_withdrawn_question_frees_its_queued_runs_but_shared_ones_go_on(pool, catalogue):
    base, fsp = catalogue.get("baseline"), catalogue.get("fsp")
    keep = pool.submit([base], 2, 3, YEARS)
    drop = pool.submit([base, fsp], 2, 3, YEARS)
    pool.cancel(drop)
    while not keep.done:
        keep.wait(keep.version, 5)
    time.sleep(0.2)
    names = {name for name, _ in pool._executor.order}
    # fsp's runs were only wanted by the withdrawn question; at most one had started
    assert sum(1 for name, _ in pool._executor.order if name == "fsp") <= 1
    assert "baseline" in names and drop.done


class ManualExecutor:
    """Hands out futures the test resolves itself, so arrivals land exactly when it says."""

    def __init__(self) -> None:
        self.handed: list[tuple[Task, Future]] = []

    def submit(self, fn, task):
        future: Future = Future()
        self.handed.append((task, future))
        return future

    def finish(self, rep: int) -> None:
        """Run replication ``rep`` (in this thread) and land it through the pool."""
        task, future = next((t, f) for t, f in self.handed if t.rep == rep and not f.done())
        future.set_result(run_replication(task))


def test_a_snapshot_is_one_moment_even_when_the_last_run_lands_during_it(catalogue,
                                                                         monkeypatch):
    """The load test's flake: the same scenario asked twice (base vs itself), the last
    replication shared in flight by two questions and landing while a snapshot is being
    built. The snapshot must not say "finished" over a count of complete replications
    taken before that run landed (it did: n 2 of 3, arrived 6 of 6, finished)."""
    base = catalogue.get("baseline")
    executor = ManualExecutor()
    live = LivePool(workers=1, executor=executor)
    first = live.submit([base, base], 3, 5, YEARS)
    executor.finish(0)
    executor.finish(1)
    second = live.submit([base, base], 3, 5, YEARS)  # reps 0, 1 cached; 2 in flight, shared
    assert len(second.outputs) == 4 and live.runs_started == 3
    answer = Answer(first, ["base", "same"], [])
    real_card_kpis = answers_module.card_kpis
    landed = []

    def land_mid_snapshot(columns):
        if not landed:  # the shared run lands while the snapshot is half built
            landed.append(True)
            executor.finish(2)
        return real_card_kpis(columns)

    monkeypatch.setattr(answers_module, "card_kpis", land_mid_snapshot)
    snap = answer.snapshot()
    assert landed and first.done, "the run did not land during the snapshot"
    assert not snap["finished"] and snap["arrived"] == 2 * snap["n"] == 4, snap
    final = answer.snapshot()
    assert final["finished"] and final["n"] == 3 and final["arrived"] == 6, final
    # the shared run reached the second question too, for both its identical scenarios
    snap = Answer(second, ["base", "same"], []).snapshot()
    assert snap["finished"] and snap["n"] == 3 and snap["arrived"] == 6, snap
    assert sorted(second.outputs) == [(si, r) for si in (0, 1) for r in range(3)]
    assert live.runs_started == 3
    live.close()


# ------------------------------------------------------------------ direction and export
def test_more_social_workers_lower_caseloads_paired(pool, catalogue):
    q = parse_question({"base": "baseline", "compare": ["baseline"], "whatif": {"staff_pct": 20},
                        "years": 1}, catalogue)
    outs = list(replications(pool, list(q.scenarios), 3, q.seed, q.years))
    runs = pd.DataFrame([o.row for o in outs])
    base = runs[runs.scenario == "baseline"].sort_values("rep")["mean_caseload"]
    more = runs[runs.scenario != "baseline"].sort_values("rep")["mean_caseload"]
    assert paired_difference_ci(base.to_numpy(), more.to_numpy()).high < 0


def test_pinned_what_ifs_export_to_the_compare_layout_and_report(pool, catalogue, tmp_path):
    asks = [{"base": "baseline", "compare": ["baseline", "fsp"], "whatif": {"staff_pct": 10},
             "years": 1},
            {"base": "baseline", "compare": ["baseline"], "whatif": {"caseload_change": 2},
             "years": 1}]
    pinned = [parse_question(a, catalogue) for a in asks]
    for q in pinned:
        list(replications(pool, list(q.scenarios), 2, q.seed, q.years))
    report = export_pinned(pool, pinned, tmp_path / "out")
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    assert list(dict.fromkeys(runs["scenario"])) == [
        "baseline", "baseline · staff +10%", "fsp · staff +10%", "baseline · limit +2"]
    differences = pd.read_csv(tmp_path / "out" / "differences.csv")
    assert set(differences["baseline"]) == {"baseline"}
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert [w["label"] for w in manifest["what_ifs"]] == ["staff +10%", "limit +2"]
    assert "fsp · staff +10%" in report.read_text(encoding="utf-8")
    longer = parse_question(asks[1] | {"years": 2}, catalogue)
    with pytest.raises(ExportError, match="must share the base and the horizon"):
        export_pinned(pool, [pinned[0], longer], tmp_path / "again")
    with pytest.raises(ExportError, match="at least 2 finished replications"):
        export_pinned(pool, [longer], tmp_path / "again")


# ------------------------------------------------------------------ the API
@pytest.fixture
def client(council):
    executor = ThreadPoolExecutor(1)
    app = create_app(reps=2, configs=council, pool=LivePool(1, executor=executor))
    with TestClient(app) as c:
        yield c
    executor.shutdown(wait=True)


def test_api_answers_progressively_and_refuses_bad_input(client):
    options = client.get("/api/options").json()
    assert {s["key"] for s in options["scenarios"]} == {"baseline", "fsp"}
    fsp = next(s for s in options["scenarios"] if s["key"] == "fsp")
    assert all(e["evidence"] and e["low"] <= e["value"] <= e["high"] for e in fsp["effects"])

    bad = client.post("/api/ask", json={"base": "baseline", "whatif": {"staff_pct": 99}})
    assert bad.status_code == 400
    assert bad.json()["error"] == "whatif.staff_pct: must be between -30 and 30, got 99"
    assert client.post("/api/ask", content=b"{not json").status_code == 400

    upload = client.post("/api/upload?name=council.yaml", content=b"population: [1\n")
    assert upload.status_code == 400
    assert upload.json()["error"].startswith("council.yaml: not valid YAML at line")
    assert client.post("/api/upload?name=notes.txt", content=b"x").json()["error"] == (
        "notes.txt: a scenario file must be YAML (.yaml or .yml)")

    job = client.post("/api/ask", json={"base": "baseline", "compare": ["baseline", "fsp"],
                                        "whatif": {"staff_pct": 10}, "years": 1}).json()["job"]
    snaps = []
    with client.stream("GET", f"/api/jobs/{job}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                snaps.append(json.loads(line[5:]))
                if snaps[-1]["finished"]:
                    break
    assert snaps[-1]["n"] == 2 and len(snaps[-1]["scenarios"]) == 3
    assert [s["arrived"] for s in snaps] == sorted(s["arrived"] for s in snaps)
    assert len({s["arrived"] for s in snaps}) > 2  # the answer grew run by run
    assert all(a != b for a, b in zip(snaps, snaps[1:], strict=False)), "no answer sent twice"
    card = snaps[-1]["cards"][0]
    assert card["values"][1]["diff"]["range"]  # paired CI against the base
    assert snaps[-1]["rests_on"][2]["effects"][0]["on"]

    pin = client.post(f"/api/jobs/{job}/pin")
    assert pin.status_code == 200
    report = client.post("/api/export", json={"jobs": [job]})
    assert report.status_code == 200 and "attachment" in report.headers["content-disposition"]
    assert "<html" in report.text.lower()
    assert client.post("/api/export", json={"jobs": [12345]}).status_code == 400
    assert client.get("/api/health").json()["ok"]


def test_a_good_upload_joins_the_list(client):
    data = validate(load_raw(CONFIGS / "baseline.yaml")).model_dump() | {"name": "my_council"}
    added = client.post("/api/upload?name=my_council.yaml", content=yaml.safe_dump(data).encode())
    assert added.json() == {"key": "my_council"}
    assert "my_council" in {s["key"] for s in client.get("/api/options").json()["scenarios"]}
    again = client.post("/api/upload?name=copy.yaml", content=yaml.safe_dump(data).encode())
    assert again.json() == {"key": "my_council (2)"}  # renamed, so results stay apart
    ask = {"base": "my_council", "compare": ["my_council (2)"], "years": 1}
    assert client.post("/api/ask", json=ask).status_code == 200


def test_the_page_and_its_scripts_are_served_locally(client):
    page = client.get("/").text
    assert 'src="/vendor/plotly.min.js"' in page and "https://" not in page
    assert client.get("/vendor/plotly.min.js").status_code == 200
    assert client.get("/static/app.js").status_code == 200


def test_digest_tells_scenarios_apart(catalogue):
    assert digest(catalogue.get("baseline")) != digest(catalogue.get("fsp"))
    assert digest(catalogue.get("baseline")) == digest(catalogue.get("baseline").model_copy())


def test_the_app_cites_evidence_by_publication(catalogue):
    """What a room reads beside each assumed effect names publications, not the project's
    own files (the same rule as the report's sources)."""
    from simulation.app.answers import rests_on

    fsp = catalogue.get("fsp")
    texts = [e["evidence"] for r in rests_on([fsp], True) for e in r["effects"]]
    assert texts
    for text in texts:
        assert "DOMAIN" not in text and "seed 00" not in text, text


def test_a_cost_interval_reads_in_one_unit():
    """The card's range must not mix units ("+£360,077 to +£5.83m")."""
    wide = 5.83e6
    low, high = (answers_module._signed("total_cost_gbp", v, wide) for v in (360077, wide))
    assert (low, high) == ("+£0.36m", "+£5.83m")
    assert answers_module._signed("total_cost_gbp", 1000.0, wide) == "±£0.00m", \
        "rounds to zero in the interval's unit: no sign"


def test_the_workload_feedback_is_listed_among_what_an_answer_rests_on(catalogue):
    """The baseline has no practice effects but does rest on the assumed workload feedback;
    the room must not read "no assumed effects" while it is on."""
    from simulation.app.answers import rests_on

    baseline = catalogue.get("baseline")
    on = {e["name"]: e["on"] for e in rests_on([baseline], True)[0]["effects"]}
    assert on and all(name.startswith("workforce.pressure.") for name in on)
    assert all(on.values())
    off = rests_on([baseline], False)[0]["effects"]
    assert not any(e["on"] for e in off)


def test_structures_are_applied_to_a_council_base():
    """A council picked as the base meets each shipped structure sized to its own demand
    (as ``csflow compare --structures`` does); the shipped structures among themselves are
    compared as shipped."""
    shipped = Catalogue()
    assert {"leicestershire", "five_year_projection"} <= set(shipped.scenarios)
    assert not any(k.endswith("_profile") for k in shipped.scenarios)
    council = shipped.get("leicestershire")
    q = parse_question({"base": "leicestershire", "compare": ["leicestershire", "fsp"],
                        "years": 1}, shipped)
    under_fsp = q.scenarios[-1]
    assert under_fsp.name.startswith("leicestershire-fsp")
    assert under_fsp.population == council.population
    assert under_fsp.demand == council.demand and under_fsp.initial_state == council.initial_state
    assert under_fsp.structure.teams != council.structure.teams
    q = parse_question({"base": "baseline", "compare": ["fsp"], "years": 1}, shipped)
    assert q.scenarios[-1] == shipped.get("fsp")
