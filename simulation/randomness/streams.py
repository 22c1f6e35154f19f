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

import array
import hashlib
import itertools
from collections.abc import Callable, Iterable

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


class _Overflow:
    """Draws past a child's row: a stream keyed by the child, created only if needed."""

    __slots__ = ("_streams", "_name", "_key", "_it")

    def __init__(self, streams: Streams, name: str, key: int) -> None:
        self._streams, self._name, self._key = streams, name, key
        self._it = None

    def __iter__(self) -> _Overflow:
        return self

    def __next__(self) -> float:
        if self._it is None:
            rng = self._streams.generator(self._name, self._key)
            self._it = iter(lambda: float(rng.random()), None)
        return next(self._it)


def Luck(draws: Iterable[float], streams: Streams, key: int,  # noqa: N802 - reads as a type
         name: str = "luck-overflow") -> Callable[[], float]:
    """A child's own uniforms as a zero-argument callable: their row, then an overflow
    stream keyed by the child. A C-level iterator's ``__next__``: it is called on every
    decision of every journey."""
    return itertools.chain(draws, _Overflow(streams, name, key)).__next__


class _Rows:
    """Rows of a uniforms matrix as memoryview slices of one flat array of doubles.

    A run hands out tens of thousands of rows; a list of Python floats per row would be
    ~33 objects each to create and free. A slice is one object, and yields the same
    floats, bit for bit, on demand.
    """

    __slots__ = ("_view", "_width")

    def __init__(self, matrix: np.ndarray) -> None:
        self._view = memoryview(array.array("d", np.ascontiguousarray(matrix, float).tobytes()))
        self._width = matrix.shape[1]

    def __getitem__(self, i: int) -> memoryview:
        return self._view[i * self._width:(i + 1) * self._width]


def luck_rows(matrix: np.ndarray) -> _Rows:
    """Per-child rows of uniforms (one row per child, LUCK_PER_CHILD wide)."""
    return _Rows(matrix)
