"""The measures on flat arrays (simulation.outputs.histories) equal, bit for bit, the loops
over children that define them (kept here, written plainly, as the reference)."""

from __future__ import annotations

import bisect
import math

import numpy as np
import pytest

from simulation.experiments.batch import changes_per_child
from simulation.outputs.flows import stage_flows
from simulation.outputs.histories import CAUSES, histories
from simulation.outputs.measures import MIN_GAP_DAYS, worker_changes
from simulation.outputs.reasons import DFE_CATEGORY, cla_change_shares
from simulation.outputs.run import simulate
from simulation.randomness.distributions import DAYS_PER_YEAR
from simulation.scenario import STAGES, load_scenario
from tests.conftest import CONFIGS

YEAR = DAYS_PER_YEAR


def _place_on(spells, day):
    i = bisect.bisect_right([since for _, since in spells], day) - 1
    return spells[i] if i >= 0 else (None, None)


def reference_worker_changes(children, years, pending=()):
    horizon, last = years * YEAR, years - 1
    held, three, cla_end, cla_three, waited = ([0] * years for _ in range(5))
    days = [0.0] * years
    changes = [[0] * len(CAUSES) for _ in range(years)]
    running: dict[int, list[float]] = {}
    for child, requested in pending:
        running.setdefault(child.id, []).append(requested)
    known = total = 0
    for child in children:
        gaps = [(a, b) for a, b in child.gaps if b - a >= MIN_GAP_DAYS] + [
            (a, horizon) for a in running.get(child.id, ()) if horizon - a >= MIN_GAP_DAYS]
        workers: dict[int, set] = {}
        for wid, start, end, cause, was_known in child.held:
            first = max(int(start // YEAR), 0)
            final = last if end is None else min(int(end // YEAR), last)
            for y in range(first, final + 1):
                workers.setdefault(y, set()).add(wid)
            if cause is not None and first <= last and start >= 0:
                changes[first][CAUSES.index(cause)] += 1
                total, known = total + 1, known + was_known
        gap_years = set()
        for k, (start, end) in enumerate(gaps):
            first, final = max(int(start // YEAR), 0), min(int(end // YEAR), last)
            for y in range(first, final + 1):
                workers.setdefault(y, set()).add(-1 - k)
                days[y] += max(min(end, (y + 1) * YEAR) - max(start, y * YEAR), 0.0)
                gap_years.add(y)
            if first <= last and start >= 0:
                changes[first][CAUSES.index("unallocated")] += 1
        for y in gap_years:
            waited[y] += 1
        for y, ws in workers.items():
            many = len(ws) >= 3
            held[y], three[y] = held[y] + 1, three[y] + many
            if _place_on(child.spells, (y + 1) * YEAR - 1e-9)[0] == "cla":
                cla_end[y], cla_three[y] = cla_end[y] + 1, cla_three[y] + many
    held_, changes_ = np.array(held, float), np.array(changes, float)

    def mean(v):
        v = v[np.isfinite(v)]
        return float(v.mean()) if v.size else math.nan

    with np.errstate(invalid="ignore", divide="ignore"):
        per_child = changes_ / held_[:, None]
        out = {"sw_changes_per_child": mean(per_child.sum(axis=1)),
               "children_3plus_workers_rate": mean(np.array(three, float) / held_),
               "cla_3plus_workers_rate": mean(np.array(cla_three, float)
                                              / np.array(cla_end, float)),
               "changes_to_known_worker_rate": known / total if total else math.nan,
               "children_with_worker_per_year": mean(held_),
               "child_days_unallocated_per_child": mean(np.array(days) / held_),
               "children_waited_rate": mean(np.array(waited, float) / held_)}
        out.update({f"sw_changes_{c}": mean(per_child[:, i]) for i, c in enumerate(CAUSES)})
    return out


def reference_cla_change_shares(children, years):
    counts = dict.fromkeys(("handover", "departure", "absence", "caseload_management"), 0)
    for end in [y * YEAR for y in range(min(3, max(years, 1)), years + 1)]:
        window = max(end - 2 * YEAR, 0.0)
        for child in children:
            place, since = _place_on(child.spells, end)
            if place != "cla" or since > window:
                continue
            for _, day, until, cause, _ in child.held:
                if not (day > end or (until is not None and until <= window)
                        or cause == "unallocated" or (cause is None and day <= 0.0)):
                    counts[DFE_CATEGORY[cause]] += 1
    total = sum(counts.values())
    return {f"cla_change_share_{c}": n / total if total else math.nan
            for c, n in counts.items()}


def reference_stage_flows(children, start, end):
    flows = {s: [0, 0] for s in STAGES}
    for child in children:
        for i, (place, day) in enumerate(child.spells):
            if place in flows:
                flows[place][0] += start <= day < end and not (i == 0 and day <= 0)
                flows[place][1] += i + 1 < len(child.spells) and \
                    start <= child.spells[i + 1][1] < end
    return {s: tuple(v) for s, v in flows.items()}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)


@pytest.fixture(scope="module", params=[("hub", 1, 2.5), ("fsp", 4, 4.0)],
                ids=lambda p: f"{p[0]}-{p[2]}y")
def run(request):
    name, seed, years = request.param
    return simulate(load_scenario(CONFIGS / f"{name}.yaml"), seed, years)


def test_worker_changes_equal_the_loop(run):
    children, years = run.simulation.rec.children, int(run.years)
    pending = run.simulation.alloc.pending_requests()
    assert any(c.gaps for c in children), "the run has periods without a worker"
    got = worker_changes(run.history, years, pending)
    assert _same(got, reference_worker_changes(children, years, pending))
    assert _same(worker_changes(children, years, pending), got), "children or histories"


def test_reasons_flows_and_distribution_equal_the_loop(run):
    children, years = run.simulation.rec.children, int(run.years)
    assert _same(cla_change_shares(run.history, years),
                 reference_cla_change_shares(children, years))
    for start, end in ((0.0, YEAR), (YEAR, 2 * YEAR)):
        assert stage_flows(run.history, start, end) == reference_stage_flows(children, start,
                                                                            end)
    values, counts = changes_per_child(run.history)
    per_child = [sum(h[3] is not None for h in c.held) for c in children if c.held]
    assert dict(zip(values.tolist(), counts.tolist(), strict=True)) == {
        v: per_child.count(v) for v in set(per_child)}


def test_a_wait_still_running_at_the_end_comes_after_the_childs_other_waits():
    from simulation.engine.recorder import Child

    child = Child(1, 0.0, -3000.0, 0, "police", None)
    child.spells = [("assessment", 10.0), ("cla", 200.0)]
    child.held = [[5, 10.0, 100.0, None, False], [6, 300.0, 400.0, "departure", True]]
    child.gaps = [(100.0, 300.0)]
    other = Child(2, 0.0, -3000.0, 0, "police", None)
    other.spells = [("cin", 20.0)]
    other.held = [[7, 20.0, None, None, False]]
    pending = [(child, 500.0), (other, 700.2)]
    h = histories([child, other])
    assert h.in_place_on(250.0, "cla").tolist() == [True, False]
    assert _same(worker_changes(h, 2, pending),
                 reference_worker_changes([child, other], 2, pending))
