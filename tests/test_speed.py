"""The speed-ups change no result: the event loop keeps SimPy's order, luck drawn only for
referred children is the luck every contact used to draw. (Timings: benchmarks/, not here.)"""

from __future__ import annotations

import copy
import random

import numpy as np
import pandas as pd
import pytest
import simpy

from simulation.engine import journey
from simulation.engine.clock import Clock
from simulation.engine.contacts import LAYER_SHIFT, draw_contacts, draw_luck
from simulation.outputs.run import simulate
from simulation.randomness.distributions import build_distribution
from simulation.randomness.streams import LUCK_PER_CHILD, Streams
from simulation.scenario.loading import validate


def _trace(env) -> list[tuple[float, str]]:
    """A small model full of ties: integer delays, starts, events triggered at the same
    instant, processes started from processes, and a stop at a busy instant."""
    log: list[tuple[float, str]] = []
    rng = random.Random(4)
    gates = [env.event() for _ in range(5)]

    def worker(name: str, n: int):
        for k in range(n):
            log.append((env.now, f"{name} step {k}"))
            yield env.timeout(rng.choice([0, 1, 1, 2, 3]))
            if rng.random() < 0.3:
                env.process(worker(f"{name}.{k}", 2))

    def waiter(name: str, gate):
        log.append((env.now, f"{name} waits"))
        yield gate
        log.append((env.now, f"{name} through"))
        yield gate  # already happened: carries on in the same instant
        log.append((env.now, f"{name} again"))

    def opener():
        for i, gate in enumerate(gates):
            yield env.timeout(2)
            gate.succeed()
            log.append((env.now, f"gate {i} opened"))
            env.process(worker(f"late{i}", 2))

    for i in range(4):
        env.process(worker(f"w{i}", 6))
    for i in range(10):
        env.process(waiter(f"q{i}", gates[i % 5]))
    env.process(opener())
    env.run(until=9)
    return log + [(env.now, "end"), (-1.0, f"events {next(env._eid)}")]


def test_the_clock_processes_events_in_simpys_order():
    assert _trace(Clock()) == _trace(simpy.Environment())


def test_a_process_may_only_yield_a_timeout_or_an_event():
    env = Clock()

    def wrong():
        yield 3.0

    env.process(wrong())
    with pytest.raises(TypeError, match="timeout or an event"):
        env.run(until=1)


@pytest.fixture(scope="module")
def understaffed(baseline_raw):
    """Half the social workers: queues, waits for a worker and pressure on the workforce."""
    data = copy.deepcopy(baseline_raw)
    for team in data["structure"]["teams"]:
        team["staff"]["social_worker"] *= 0.5
    return validate(data)


@pytest.mark.parametrize("which", ["baseline", "understaffed"])
def test_a_run_on_the_clock_is_the_run_simpy_gives_bit_for_bit(which, baseline, understaffed,
                                                                 monkeypatch):
    scenario = baseline if which == "baseline" else understaffed
    ours = simulate(scenario, seed=11, years=1)
    monkeypatch.setattr(journey, "Clock", simpy.Environment)
    theirs = simulate(scenario, seed=11, years=1)
    assert isinstance(theirs.simulation.env, simpy.Environment)
    assert ours.events_processed == theirs.events_processed
    assert ours.kpis.keys() == theirs.kpis.keys()
    for k, v in ours.kpis.items():
        assert v == theirs.kpis[k] or (np.isnan(v) and np.isnan(theirs.kpis[k])), k
    pd.testing.assert_frame_equal(ours.stocks, theirs.stocks)
    pd.testing.assert_frame_equal(ours.children(), theirs.children())


def test_luck_drawn_for_the_referred_is_the_luck_of_every_contact(baseline_raw):
    """Rows read in chunks for the referred only equal each layer's full matrix, row by
    row, with demand growing fast enough for several layers."""
    data = copy.deepcopy(baseline_raw)
    data["demand"]["growth"] = {"annual_rate": 0.4}
    scenario = validate(data)
    streams = Streams(3)
    front = build_distribution(scenario.demand.front_door.decision_time)
    contacts = draw_contacts(scenario, streams, 3 * 365.25, front)
    layers = contacts.key >> LAYER_SHIFT
    assert layers.max() >= 1
    idx = np.flatnonzero(contacts.referred)[::-1]  # any order
    got = draw_luck(streams, contacts, idx)
    for layer in np.unique(layers[idx]).tolist():
        rows = contacts.luck_row[idx]
        n = int(contacts.luck_row[layers == layer].max()) + 1
        full = streams.generator("journey" + (f"-{layer}" if layer else "")).random(
            (n, LUCK_PER_CHILD))
        mine = layers[idx] == layer
        np.testing.assert_array_equal(got[mine], full[rows[mine]])
