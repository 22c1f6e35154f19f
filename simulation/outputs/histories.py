"""The run's children as flat arrays: every worker episode, wait and spell, built once a run.

Changes of worker (``measures.worker_changes``), the DfE's reasons (``reasons``), the flows
in and out of each stage (``flows``), the conservation check (``guard``) and a batch's
distribution of changes each walked every child's history in Python, again and again:
about a tenth of a replication. Flattened once into numpy arrays, each is a few array
operations.

Rows keep the run's order (children in order, each child's own entries in order), so
a sum taken over rows adds in the order the loops added, and every measure is identical
bit for bit. The arrays are in the smallest types that hold them (places as small codes,
not strings), so that a long run's peak memory hardly moves. The recorder's lists are
read as sequences, whatever their type.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np

from simulation.scenario import PLACES

# Causes of a change of worker (see measures.CAUSES for what each means); a worker
# episode's cause is coded as its index here, and -1 for none (the child's first worker).
CAUSES = ("handover", "departure", "absence", "caseload_management", "unallocated",
          "role_change")
NO_CAUSE = -1
_CAUSE_CODE: dict[str | None, int] = {None: NO_CAUSE, **{c: i for i, c in enumerate(CAUSES)}}


class _Codes(dict):
    """Place name -> small integer, the model's places first; any other name gets the next
    code when first seen, so names compare exactly through their codes."""

    def __init__(self) -> None:
        super().__init__((p, i) for i, p in enumerate(PLACES))

    def __missing__(self, name: str) -> int:
        self[name] = code = len(self)
        return code


@dataclass(frozen=True)
class Episodes:
    """One row per worker episode (a worker holding a child's case), in run order."""

    child: np.ndarray   # position of the child in the run's list
    worker: np.ndarray  # worker id
    start: np.ndarray   # day begun
    end: np.ndarray     # day ended; NaN while still held at the end
    cause: np.ndarray   # index into CAUSES, NO_CAUSE for a first worker
    known: np.ndarray   # the family knew the worker before


@dataclass(frozen=True)
class Spells:
    """One row per stay in a place (place, day begun), in run order: a child's rows are
    consecutive and in time order."""

    child: np.ndarray
    place: np.ndarray   # the place's code (``code``)
    day: np.ndarray
    offset: np.ndarray  # per child: the row of their first spell
    count: np.ndarray   # per child: how many spells
    codes: dict[str, int]

    def code(self, place: str) -> int:
        """The code of ``place`` (-1, matching nothing, if no spell was there)."""
        return self.codes.get(place, -1)

    def first(self) -> np.ndarray:
        """Per row: the child's first spell."""
        first = np.zeros(len(self.day), dtype=bool)
        first[self.offset[self.count > 0]] = True
        return first

    def next_day(self) -> np.ndarray:
        """Per row: when the child's next spell began; NaN after their last."""
        following = np.full(len(self.day), np.nan)
        if len(self.day):
            same_child = self.child[1:] == self.child[:-1]
            following[:-1][same_child] = self.day[1:][same_child]
        return following


@dataclass(frozen=True)
class Histories:
    """Every child's worker episodes, waits for a worker (``gaps``) and spells."""

    size: int           # children
    ids: np.ndarray     # per child: the child's id
    places: np.ndarray  # per child: the code (Spells.codes) of where they are at the end
    episodes: Episodes
    gap_child: np.ndarray
    gap_start: np.ndarray
    gap_end: np.ndarray
    spells: Spells

    def episodes_per_child(self) -> np.ndarray:
        return np.bincount(self.episodes.child, minlength=self.size)

    def last_spell(self, day: float) -> np.ndarray:
        """Per child, the row of the last spell begun by ``day`` (where they were then),
        -1 if none had begun: a bisection of each child's spells, for all at once."""
        s = self.spells
        begun = np.bincount(s.child[s.day <= day], minlength=self.size)
        return np.where(begun > 0, s.offset + begun - 1, -1)

    def in_place_on(self, day: float, place: str) -> np.ndarray:
        """Per child: in ``place`` on ``day`` (their last spell begun by then)."""
        row = self.last_spell(day)
        if not len(self.spells.day):
            return row >= 0  # no child has begun a spell
        return (row >= 0) & (self.spells.place[row] == self.spells.code(place))


def histories(children: Iterable[Any] | Histories) -> Histories:
    """The flat arrays of ``children`` (a run's ``rec.children``), or ``children`` itself
    if already flattened: the measures accept either."""
    if isinstance(children, Histories):
        return children
    kids = children if isinstance(children, Sequence) else list(children)
    gaps = [c.gaps for c in kids]
    gap_start, gap_end = _columns(gaps, (float, float))
    spells = _spells([c.spells for c in kids])
    return Histories(
        size=len(kids),
        ids=np.array([c.id for c in kids], dtype=np.int64),
        places=np.array([spells.codes[c.place] for c in kids], dtype=np.int16),
        episodes=_episodes([c.held for c in kids]),
        gap_child=_owners(gaps), gap_start=gap_start, gap_end=gap_end,
        spells=spells)


def _owners(lists: list[Sequence[Any]]) -> np.ndarray:
    """The child of each row when per-child lists are laid end to end."""
    counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    return np.repeat(np.arange(len(lists), dtype=np.int32), counts)


def _columns(lists: list[Sequence[Any]], dtypes: tuple[Any, ...]) -> list[np.ndarray]:
    """The rows of per-child lists laid end to end, as one array per field (``dtypes``).
    Each field passes through a tuple of the rows' values on its way: the fastest way
    from Python objects to an array, and freed field by field."""
    rows = list(chain.from_iterable(lists))
    if not rows:
        return [np.array([], dtype=d) for d in dtypes]
    fields = zip(*rows, strict=True)
    del rows
    return [np.array(values, dtype=d) for values, d in zip(fields, dtypes, strict=True)]


def _episodes(held: list[Sequence[Any]]) -> Episodes:
    rows = list(chain.from_iterable(held))
    if rows:
        worker, start, end, cause, known = zip(*rows, strict=True)
        cause = [_CAUSE_CODE[c] for c in cause]
    else:
        worker = start = end = cause = known = ()
    del rows
    return Episodes(child=_owners(held), worker=np.array(worker, dtype=np.int32),
                    start=np.array(start, dtype=float),
                    end=np.array(end, dtype=float),  # None (still held) reads as NaN
                    cause=np.array(cause, dtype=np.int8), known=np.array(known, dtype=bool))


def _spells(spells: list[Sequence[Any]]) -> Spells:
    codes = _Codes()
    rows = list(chain.from_iterable(spells))
    place, day = zip(*rows, strict=True) if rows else ((), ())
    del rows
    count = np.fromiter(map(len, spells), dtype=np.int64, count=len(spells))
    return Spells(child=_owners(spells),
                  place=np.array([codes[p] for p in place], dtype=np.int16),
                  day=np.array(day, dtype=float), offset=np.cumsum(count) - count,
                  count=count, codes=codes)
