"""The speed-ups change no result: luck drawn only for referred children is the luck every
contact used to draw. (Timings: benchmarks/, not here.)"""

from __future__ import annotations

import copy

import numpy as np

from simulation.engine.contacts import LAYER_SHIFT, draw_contacts, draw_luck
from simulation.randomness.distributions import build_distribution
from simulation.randomness.streams import LUCK_PER_CHILD, Streams
from simulation.scenario.loading import validate


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
