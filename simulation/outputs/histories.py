"""The run's children as flat arrays: every worker episode, wait and spell, built once a run.

Changes of worker (``measures.worker_changes``), the DfE's reasons (``reasons``), the flows
in and out of each stage (``flows``), the conservation check (``guard``) and a batch's
distribution of changes each walked every child's history in Python, again and again:
about a tenth of a replication. Flattened once into numpy arrays, each is a few array
operations.

Rows keep the run's order (children in order, each child's own entries in order), so
a sum taken over rows adds in the order the loops added, and every measure is identical
bit for bit. The recorder's lists are read as sequences, whatever their type.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np

# Causes of a change of worker (see measures.CAUSES for what each means); a worker
# episode's cause is coded as its index here, and -1 for none (the child's first worker).
CAUSES = ("handover", "departure", "absence", "caseload_management", "unallocated",
          "role_change")
NO_CAUSE = -1
_CAUSE_CODE: dict[str | None, int] = {None: NO_CAUSE, **{c: i for i, c in enumerate(CAUSES)}}


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
    place: np.ndarray   # the place's name (a numpy string)
    day: np.ndarray
    first: np.ndarray   # the child's first spell
    next_day: np.ndarray  # when the child's next spell began; NaN for the last
    offset: np.ndarray  # per child: the row of their first spell
    count: np.ndarray   # per child: how many spells


@dataclass(frozen=True)
class Histories:
    """Every child's worker episodes, waits for a worker (``gaps``) and spells."""

    size: int           # children
    ids: np.ndarray     # per child: the child's id
    places: list[str]   # per child: where they are at the end
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
        return (row >= 0) & (self.spells.place[row] == place)


def histories(children: Iterable[Any] | Histories) -> Histories:
    """The flat arrays of ``children`` (a run's ``rec.children``), or ``children`` itself
    if already flattened: the measures accept either."""
    if isinstance(children, Histories):
        return children
    kids = children if isinstance(children, Sequence) else list(children)
    held = [c.held for c in kids]
    spells = [c.spells for c in kids]
    gaps = [c.gaps for c in kids]
    return Histories(
        size=len(kids),
        ids=np.array([c.id for c in kids], dtype=np.int64),
        places=[c.place for c in kids],
        episodes=_episodes(held),
        gap_child=_owners(gaps),
        gap_start=np.array([g[0] for g in chain.from_iterable(gaps)], dtype=float),
        gap_end=np.array([g[1] for g in chain.from_iterable(gaps)], dtype=float),
        spells=_spells(spells))


def _owners(lists: list[Sequence[Any]]) -> np.ndarray:
    """The child of each row when per-child lists are laid end to end."""
    counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    return np.repeat(np.arange(len(lists)), counts)


def _episodes(held: list[Sequence[Any]]) -> Episodes:
    rows = list(chain.from_iterable(held))
    worker, start, end, cause, known = (zip(*rows, strict=True) if rows
                                        else ((),) * 5)
    return Episodes(child=_owners(held), worker=np.array(worker, dtype=np.int64),
                    start=np.array(start, dtype=float),
                    end=np.array(end, dtype=float),  # None (still held) reads as NaN
                    cause=np.array([_CAUSE_CODE[c] for c in cause], dtype=np.int64),
                    known=np.array(known, dtype=bool))


def _spells(spells: list[Sequence[Any]]) -> Spells:
    child = _owners(spells)
    rows = list(chain.from_iterable(spells))
    place, day = zip(*rows, strict=True) if rows else ((), ())
    day = np.array(day, dtype=float)
    count = np.bincount(child, minlength=len(spells))
    offset = np.cumsum(count) - count
    first = np.zeros(len(day), dtype=bool)
    first[offset[count > 0]] = True
    next_day = np.full(len(day), np.nan)
    if len(day):
        follows = ~first[1:]  # row i + 1 is the same child's next spell
        next_day[:-1][follows] = day[1:][follows]
    return Spells(child=child, place=np.array(place, dtype=str), day=day, first=first,
                  next_day=next_day, offset=offset, count=count)
