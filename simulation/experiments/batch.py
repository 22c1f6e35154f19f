"""Monte Carlo batches: many replications of several scenarios, on one machine or a cluster.

Design choices:
* Common random numbers: replication i of every scenario uses the same seed
  (``replication_seed(base, i)``), so the same children meet the same luck and
  differences between scenarios can be paired.
* One function, ``run_replication``, is what every backend runs (serial, local
  processes, Dask). It returns plain data, so it can be shipped between processes, and
  results are sorted by (scenario, replication) afterwards: every backend writes
  identical files.
* Checkpoints: each finished replication is written at once, atomically, to a working
  folder. An interrupted batch loses only what was in flight, and rerunning the same
  command runs only what is missing.
* A replication that raises is recorded with its seed and traceback; the rest go on.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from simulation.outputs.flows import year_one_columns
from simulation.outputs.histories import NO_CAUSE, Histories
from simulation.outputs.kpis import KPI_ORDER
from simulation.outputs.run import gc_paused, simulate
from simulation.scenario import Scenario

CARE_BIN_DAYS = 30


def replication_seed(base_seed: int, rep: int) -> int:
    """The seed of replication ``rep``: the same for every scenario (common random numbers)."""
    return int(np.random.SeedSequence([base_seed, rep]).generate_state(1)[0])


@dataclass(frozen=True)
class Task:
    scenario_index: int
    scenario: Scenario
    rep: int
    seed: int
    years: float
    extra: tuple[tuple[str, float], ...] = ()  # sweep parameters, recorded with the run


@dataclass
class ReplicationOutput:
    """Plain data from one replication (a live simulation cannot cross processes)."""

    scenario_index: int
    rep: int
    seed: int
    row: dict | None = None
    stocks: pd.DataFrame | None = None
    distributions: pd.DataFrame | None = None
    error: str | None = None
    costs: pd.DataFrame | None = None  # weekly staff and placement spend


def run_replication(task: Task) -> ReplicationOutput:
    """Run one replication; any exception is caught and returned with its traceback."""
    with gc_paused():  # the finished run is disposed of below, so nothing is left to collect
        return _replicate(task)


def _replicate(task: Task) -> ReplicationOutput:
    try:
        result = simulate(task.scenario, task.seed, task.years)
        values, counts = changes_per_child(result.history)
        episodes = np.array([end - start for _, start, end, _, _
                             in result.simulation.rec.cla_episodes])
        care = pd.Series(np.floor(episodes / CARE_BIN_DAYS) * CARE_BIN_DAYS).value_counts()
        distributions = pd.concat([
            pd.DataFrame({"measure": "sw_changes", "value": values.astype(float),
                          "count": counts}),
            pd.DataFrame({"measure": "days_in_care", "value": care.index.astype(float),
                          "count": care.to_numpy()}).sort_values("value"),
            # year-1 starts and ends of each stage, for the drift check (analysis.drift)
            pd.DataFrame([{"measure": k, "value": v, "count": 1} for k, v in
                          year_one_columns(result.history).items()]),
        ], ignore_index=True)
        row = {"scenario": task.scenario.name, "rep": task.rep, "seed": task.seed,
               **dict(task.extra), **result.kpis}
        stocks = result.stocks
        costs = weekly_costs(result.simulation.rec.accounts)
        result.simulation.dispose()
        return ReplicationOutput(task.scenario_index, task.rep, task.seed, row, stocks,
                                 distributions, costs=costs)
    except Exception:  # noqa: BLE001 - reported with its seed, the batch goes on
        return ReplicationOutput(task.scenario_index, task.rep, task.seed,
                                 error=traceback.format_exc())


def changes_per_child(history: Histories) -> tuple[np.ndarray, np.ndarray]:
    """How many children had each number of changes of worker over the run (every worker
    after their first), among children who had a worker: (numbers ascending, children)."""
    e = history.episodes
    changed = np.bincount(e.child, weights=e.cause != NO_CAUSE, minlength=history.size)
    had_worker = history.episodes_per_child() > 0
    return np.unique(changed[had_worker].astype(np.int64), return_counts=True)


COST_COLUMNS = ["day", "staff_gbp_week", "agency_gbp_week", "placement_gbp_week"]


def weekly_costs(accounts: list[tuple]) -> pd.DataFrame:
    """Spend in the week from each snapshot: staff (agency included), agency alone, placements."""
    # the first four fields of each weekly row: day, permanent, agency, placements
    a = np.array([row[:4] for row in accounts], dtype=float).reshape(-1, 4)
    return pd.DataFrame({"day": a[:, 0], "staff_gbp_week": a[:, 1] + a[:, 2],
                         "agency_gbp_week": a[:, 2], "placement_gbp_week": a[:, 3]})


@dataclass
class BatchResult:
    """The tidy tables of a batch: one row per run, weekly stocks, distributions, failures,
    and weekly costs."""

    runs: pd.DataFrame
    stocks: pd.DataFrame
    distributions: pd.DataFrame
    failures: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["scenario", "rep", "seed", "error"]))
    costs: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["scenario", "rep", *COST_COLUMNS]))


# ------------------------------------------------------------------ checkpoints
class Checkpoint:
    """A working folder holding one file per finished replication."""

    def __init__(self, folder: Path, identity: dict) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        stamp = folder / "batch.json"
        if stamp.exists():
            saved = json.loads(stamp.read_text())
            if saved != identity:
                raise CheckpointMismatch(
                    f"{folder} holds a different batch (other scenarios, seed or years); "
                    f"remove it or use another --out")
        else:
            _atomic_write(stamp, json.dumps(identity, indent=1).encode())

    def _path(self, scenario_index: int, rep: int) -> Path:
        return self.folder / f"s{scenario_index:03d}_r{rep:06d}.pkl"

    def load(self, scenario_index: int, rep: int) -> ReplicationOutput | None:
        path = self._path(scenario_index, rep)
        if not path.exists():
            return None
        with path.open("rb") as fh:
            return pickle.load(fh)

    def save(self, out: ReplicationOutput) -> None:
        _atomic_write(self._path(out.scenario_index, out.rep), pickle.dumps(out))


class CheckpointMismatch(ValueError):
    """The working folder belongs to another batch."""


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def identity(scenarios: list[Scenario], seed: int, years: float) -> dict:
    """What makes two batches the same batch (for resuming)."""
    digests = [hashlib.sha256(s.model_dump_json().encode()).hexdigest() for s in scenarios]
    return {"scenarios": digests, "seed": seed, "years": years}


# ------------------------------------------------------------------ backends
def _serial(tasks: list[Task]) -> Iterator[ReplicationOutput]:
    for task in tasks:
        yield run_replication(task)


def _end_with_parent(parent: int) -> None:
    """Pool worker start-up: exit as soon as the parent is gone (killed, even by SIGKILL).

    A worker whose parent died is adopted by another process, so its parent id changes;
    a daemon thread notices within half a second, and the worker stops computing for no one.
    """
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def _processes(tasks: list[Task], jobs: int,
               started: Callable[[], None] = lambda: None) -> Iterator[ReplicationOutput]:
    """Replications in a pool of processes; ``started`` is called once the workers exist
    (forked at the first submission, so they inherit the parent's imports and nothing
    the parent does next)."""
    with ProcessPoolExecutor(max_workers=jobs, initializer=_end_with_parent,
                             initargs=(os.getpid(),)) as pool:
        futures = [pool.submit(run_replication, t) for t in tasks]
        started()
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def _dask(tasks: list[Task], jobs: int, scheduler: str | None) -> Iterator[ReplicationOutput]:
    from dask.distributed import Client, LocalCluster
    from dask.distributed import as_completed as dask_completed

    cluster = None
    if scheduler:
        check_scheduler(scheduler)
        client = Client(scheduler, timeout=f"{SCHEDULER_TIMEOUT_S}s")
    else:
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        futures = client.map(run_replication, tasks, pure=False)
        for future in dask_completed(futures):
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


SCHEDULER_TIMEOUT_S = 3.0


class SchedulerUnreachable(ValueError):
    """``--scheduler`` names an address nothing answers at."""


def check_scheduler(address: str, timeout: float = SCHEDULER_TIMEOUT_S) -> None:
    """Fail in seconds, with one line, if nothing listens at a Dask scheduler address."""
    where = address.split("://", 1)[-1].rstrip("/")
    host, sep, port_text = where.rpartition(":")
    if not sep or not port_text.isdigit() or not host:
        raise SchedulerUnreachable(f"--scheduler {address}: expected an address like "
                                   f"tcp://10.0.0.5:8786")
    try:
        with socket.create_connection((host.strip("[]"), int(port_text)), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or ("timed out" if isinstance(exc, TimeoutError) else str(exc))
        raise SchedulerUnreachable(f"--scheduler {address}: cannot connect within "
                                   f"{timeout:g} s ({reason})") from None


class Meanwhile:
    """Work for the parent while the pool's workers replicate (a thread: the parent only
    waits for results then), e.g. importing what writing the results will need. Its
    exception, if any, is raised by ``join``."""

    def __init__(self, work: Callable[[], None]) -> None:
        self.work, self.error = work, None
        self.thread = threading.Thread(target=self._run, name="meanwhile", daemon=True)

    def _run(self) -> None:
        try:
            self.work()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            self.error = exc

    def start(self) -> None:
        self.thread.start()

    def join(self) -> None:
        """Wait for the work (running it here if it never started), then raise its error."""
        if self.thread.ident is None:
            self.work()
            return
        self.thread.join()
        if self.error is not None:
            raise self.error


def usable_workers(jobs: int, tasks: int) -> int:
    """Workers worth starting: no more than the tasks to run or the cores to run them on."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(jobs, tasks, cores))


def run_batch(scenarios: list[Scenario], reps: int | Iterable[int], seed: int, years: float,
              jobs: int = 1, backend: str = "processes", scheduler: str | None = None,
              checkpoint: Path | None = None, progress: bool = True,
              extra: list[tuple[tuple[str, float], ...]] | None = None,
              on_failure: Callable[[ReplicationOutput], None] | None = None,
              meanwhile: Callable[[], None] | None = None) -> BatchResult:
    """Run replications ``reps`` (a count, or the replication indices) of every scenario.

    ``extra[i]`` are (name, value) pairs recorded with scenario i's runs (sweeps).
    Results are identical, bit for bit, whatever the backend and ``jobs``.
    ``meanwhile`` is the caller's own work, done by the time this returns: in a thread
    while a pool of processes replicates, otherwise after the replications.
    """
    parallel = Meanwhile(meanwhile or (lambda: None))
    rep_ids = list(range(reps)) if isinstance(reps, int) else list(reps)
    store = Checkpoint(checkpoint, identity(scenarios, seed, years)) if checkpoint else None
    done: list[ReplicationOutput] = []
    tasks = []
    for si, scenario in enumerate(scenarios):
        for rep in rep_ids:
            saved = store.load(si, rep) if store else None
            if saved is not None and saved.error is None:
                done.append(saved)
                continue
            tasks.append(Task(si, scenario, rep, replication_seed(seed, rep), years,
                              extra[si] if extra else ()))
    if backend != "serial" and not (backend == "dask" and scheduler):
        workers = usable_workers(jobs, len(tasks))
        if workers < jobs and tasks:  # said even with --quiet: it changes what runs where
            print(f"note: --jobs {jobs} capped at {workers} ({len(tasks)} replication(s) to "
                  f"run, {usable_workers(jobs, jobs)} core(s))", file=sys.stderr)
        jobs = workers
    if backend == "serial" or (backend == "processes" and jobs <= 1) or not tasks:
        stream = _serial(tasks)
    elif backend == "processes":
        stream = _processes(tasks, jobs, started=parallel.start)
    elif backend == "dask":
        stream = _dask(tasks, jobs, scheduler)
    else:
        raise ValueError(f"backend must be serial, processes or dask, got {backend!r}")
    bar = tqdm(total=len(tasks), disable=not progress or not tasks, unit="rep",
               desc="replications", file=sys.stderr, dynamic_ncols=True)
    with bar:
        for out in stream:
            if store:
                store.save(out)
            if out.error is not None and on_failure:
                on_failure(out)
            done.append(out)
            bar.update(1)
    parallel.join()
    return assemble(done, scenarios)


def assemble(outputs: list[ReplicationOutput], scenarios: list[Scenario]) -> BatchResult:
    """Tidy tables from replication outputs, in (scenario, replication) order."""
    outputs = sorted(outputs, key=lambda o: (o.scenario_index, o.rep))
    good = [o for o in outputs if o.error is None]
    failures = pd.DataFrame(
        [{"scenario": scenarios[o.scenario_index].name, "rep": o.rep, "seed": o.seed,
          "error": o.error} for o in outputs if o.error is not None],
        columns=["scenario", "rep", "seed", "error"])
    runs = pd.DataFrame([o.row for o in good])
    if not runs.empty:
        front = [c for c in runs.columns if c not in KPI_ORDER]
        runs = runs[front + [k for k in KPI_ORDER if k in runs.columns]]
    stocks = _stack(good, "stocks", ["scenario", "rep", "day", "stage", "open", "unallocated"],
                    scenarios)
    dists = _stack(good, "distributions", ["scenario", "rep", "measure", "value", "count"],
                   scenarios)
    costs = _stack([o for o in good if getattr(o, "costs", None) is not None], "costs",
                   ["scenario", "rep", *COST_COLUMNS], scenarios)
    return BatchResult(runs, stocks, dists, failures, costs)


def _stack(outputs: list[ReplicationOutput], attr: str, columns: list[str],
           scenarios: list[Scenario]) -> pd.DataFrame:
    frames = []
    for o in outputs:
        frame = getattr(o, attr).copy()
        frame.insert(0, "rep", o.rep)
        frame.insert(0, "scenario", scenarios[o.scenario_index].name)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]
