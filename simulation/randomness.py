"""Named random streams derived from one seed, and each child's own luck.

Every random number in a run comes from a stream named for its purpose and derived
from the run seed (``numpy.random.SeedSequence``), so runs reproduce bit for bit.
Stream names are hashed into the spawn key rather than spawned in order, so adding
a stream later never shifts the numbers of the existing ones.

Children carry their own luck: a row of uniforms drawn when they arrive, consumed
in order by the decisions and durations of their journey. Arrivals do not depend
on the operating model, so child *n* gets the same luck under every structure
(common random numbers): differences between scenarios come from the structure,
not from which child happened to draw which number. A journey that needs more
draws than the row holds continues on a stream keyed by the child's id, which is
still independent of the structure.
"""

from __future__ import annotations

import hashlib

import numpy as np

LUCK_PER_CHILD = 32


def _name_key(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


class Streams:
    """A factory of independent generators, one per purpose name, from one seed."""

    def __init__(self, seed: int) -> None:
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        self.seed = int(seed)

    def generator(self, name: str, *key: int) -> np.random.Generator:
        """The generator for ``name`` (optionally sub-keyed, e.g. by child id)."""
        seq = np.random.SeedSequence(self.seed, spawn_key=(_name_key(name), *key))
        return np.random.Generator(np.random.PCG64(seq))


class Luck:
    """A child's own uniforms, handed out one at a time as Python floats."""

    __slots__ = ("_draws", "_next", "_streams", "_key", "_name", "_overflow")

    def __init__(self, draws: list[float], streams: Streams, key: int,
                 name: str = "luck-overflow") -> None:
        self._draws = draws
        self._next = 0
        self._streams = streams
        self._key = key
        self._name = name
        self._overflow: list[float] | None = None

    def __call__(self) -> float:
        i = self._next
        self._next = i + 1
        if i < LUCK_PER_CHILD:
            return self._draws[i]
        if self._overflow is None or i - LUCK_PER_CHILD >= len(self._overflow):
            # Rare long journeys: deterministic continuation keyed by the child.
            rng = self._streams.generator(self._name, self._key)
            self._overflow = rng.random(4 * LUCK_PER_CHILD + i).tolist()
        return self._overflow[i - LUCK_PER_CHILD]


def luck_rows(streams: Streams, name: str, n: int) -> list[list[float]]:
    """``n`` rows of per-child uniforms from the named stream, drawn in one batch."""
    return streams.generator(name).random((n, LUCK_PER_CHILD)).tolist()
