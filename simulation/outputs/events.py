"""The event log of one run: every child's moves and changes of worker, one row per event.

Built after the run from what the recorder keeps anyway (each child's spells in places and
worker histories, the bulk front-door contacts), so asking for it costs nothing during the
run and nothing at all when it is off. The columns follow the case / activity / timestamp /
resource layout process-mining and animation tools read; docs/event-log.md gives the mapping
(pm4py: ``case:concept:name`` = case_id, ``concept:name`` = activity, ``time:timestamp`` =
timestamp, ``org:resource`` = resource) and shows how to rebuild the weekly stocks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulation.engine.journey import Simulation
from simulation.outputs.run import spells_table

# Day 0 of every run, for tools that want calendar timestamps (the start of a financial year).
EPOCH = pd.Timestamp("2025-04-01")
COLUMNS = ["case_id", "activity", "timestamp", "day", "stage", "resource", "team", "cause"]
# A place entered is the activity; "front_door" is the contact arriving.
ACTIVITY = {"front_door": "contact"}


def event_log(sim: Simulation) -> pd.DataFrame:
    """One row per event, in time order (ties keep each child's own order).

    Activities: ``contact`` and each place entered (``assessment``, ``s47``, ``cin``,
    ``cp``, ``cla``, ``closed``), ``allocated`` (first worker of a spell of allocation),
    ``worker_changed`` (a new worker, ``cause`` says why) and ``released`` (the worker stops
    holding the case). ``stage`` is where the child is at the event.
    """
    spells = spells_table(sim).reset_index(drop=True)
    moves = pd.DataFrame({
        "case_id": spells["child_id"].to_numpy(), "activity": spells["place"].map(
            lambda p: ACTIVITY.get(p, p)).to_numpy(), "day": spells["start"].to_numpy(),
        "stage": spells["place"].to_numpy(), "resource": pd.NA, "team": None, "cause": None,
        "_order": np.arange(len(spells))})
    teams = {wid: team for _, _, wid, team, _ in sim.rec.allocations}
    rows = []
    for child in sim.rec.children:
        for wid, start, end, cause, _known in child.held:
            team = teams.get(wid)
            rows.append((child.id, "allocated" if cause is None else "worker_changed", start,
                         wid, team, cause))
            if end is not None:
                rows.append((child.id, "released", end, wid, team, None))
    workers = pd.DataFrame(rows, columns=["case_id", "activity", "day", "resource", "team",
                                          "cause"])
    workers["_order"] = len(moves) + np.arange(len(workers))
    workers = _with_stage(workers, moves)
    log = pd.concat([moves, workers], ignore_index=True)
    log = log.sort_values(["day", "case_id", "_order"], kind="stable", ignore_index=True)
    log["resource"] = log["resource"].astype("Int64")
    log["timestamp"] = EPOCH + pd.to_timedelta(log["day"], unit="D")
    return log[COLUMNS]


def _with_stage(workers: pd.DataFrame, moves: pd.DataFrame) -> pd.DataFrame:
    """Each worker event gets the place its child was in then (the last move at or before)."""
    if workers.empty:
        return workers.assign(stage=pd.Series(dtype=object))
    left = workers.sort_values("day", kind="stable")
    right = moves[["case_id", "day", "stage"]].sort_values("day", kind="stable")
    merged = pd.merge_asof(left, right, on="day", by="case_id", direction="backward")
    return merged


def stocks_from_events(log: pd.DataFrame, days: np.ndarray,
                       stages: list[str]) -> pd.DataFrame:
    """Open and unallocated cases by stage at each day, rebuilt from the log alone.

    A child is open at a stage from the event that moves it there until the next move;
    it is unallocated while open at a stage from assessment on with no worker holding it.
    """
    moves = log[log["activity"].isin([*ACTIVITY.values(), *stages, "closed"])]
    held = log[log["activity"].isin(["allocated", "worker_changed", "released"])]
    out = []
    for day in days:
        now = moves[moves["day"] <= day].groupby("case_id", sort=False)["stage"].last()
        worker = held[held["day"] <= day].groupby("case_id", sort=False)["activity"].last()
        has_worker = worker[worker != "released"].index
        for stage in ["front_door", *stages, "closed"]:
            at = now[now == stage]
            waiting = 0 if stage in ("front_door", "closed") else int(
                (~at.index.isin(has_worker)).sum())
            out.append((float(day), stage, int(len(at)), waiting))
    return pd.DataFrame(out, columns=["day", "stage", "open", "unallocated"])
