"""The run's children as flat arrays: every worker episode, wait and spell, built once a run.

Changes of worker (``measures.worker_changes``), the DfE's reasons (``reasons``), the flows
in and out of each stage (``flows``), the conservation check (``guard``) and a batch's
distribution of changes each walked every child's history in Python, again and again:
about a tenth of a replication. Flattened once into numpy arrays, each is a few array
operations.

Rows keep the run's order (children in order, each child's own entries in order), so
a sum taken over rows adds in the order the loops added, and every measure is identical
bit for bit. The arrays are filled straight from the children (``np.fromiter``), in the
smallest types that hold them, so that a long run's peak memory hardly moves. The
recorder's lists are read as sequences, whatever their type.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
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
    held = [c.held for c in kids]
    gaps = [c.gaps for c in kids]
    spells = _spells([c.spells for c in kids])
    return Histories(
        size=len(kids),
        ids=np.fromiter((c.id for c in kids), dtype=np.int64, count=len(kids)),
        places=np.fromiter((spells.codes[c.place] for c in kids), dtype=np.int16,
                           count=len(kids)),
        episodes=_episodes(held),
        gap_child=_owners(gaps),
        gap_start=_column(gaps, 0, float),
        gap_end=_column(gaps, 1, float),
        spells=spells)


def _owners(lists: list[Sequence[Any]]) -> np.ndarray:
    """The child of each row when per-child lists are laid end to end."""
    counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    return np.repeat(np.arange(len(lists), dtype=np.int32), counts)


def _rows(lists: list[Sequence[Any]]) -> Iterator[Any]:
    return chain.from_iterable(lists)


def _column(lists: list[Sequence[Any]], field: int, dtype: Any, codes: Any = None
            ) -> np.ndarray:
    """Field ``field`` of every row, read straight into an array (through ``codes``)."""
    values = map(itemgetter(field), _rows(lists))
    return np.fromiter(values if codes is None else map(codes.__getitem__, values),
                       dtype=dtype, count=sum(map(len, lists)))


def _episodes(held: list[Sequence[Any]]) -> Episodes:
    # None (still held) reads as NaN
    end = np.array(list(map(itemgetter(2), _rows(held))), dtype=float)
    return Episodes(child=_owners(held), worker=_column(held, 0, np.int32),
                    start=_column(held, 1, float), end=end,
                    cause=_column(held, 3, np.int8, _CAUSE_CODE),
                    known=_column(held, 4, bool))


def _spells(spells: list[Sequence[Any]]) -> Spells:
    codes = _Codes()
    count = np.fromiter(map(len, spells), dtype=np.int64, count=len(spells))
    return Spells(child=_owners(spells), place=_column(spells, 0, np.int16, codes),
                  day=_column(spells, 1, float), offset=np.cumsum(count) - count,
                  count=count, codes=codes)
