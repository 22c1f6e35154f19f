"""Replications for a live audience: one warm pool, a result cache, answers as runs land.

A workshop room asks many small questions at once and wants the first answer in
seconds, refined while people talk. ``run_batch`` answers one question at the end;
this module answers many, replication by replication:

* One pool of worker processes, started and warmed once, is shared by every question.
* A task is keyed by (scenario digest, seed, replication, years). A finished task is
  served from the cache; a task already queued or running is shared by everyone who
  asks for it, so thirty people asking the same what-if cost one set of runs.
* Tasks wait in one queue ordered by replication index, then by arrival: every
  question gets its first replications before anyone's refinements, so a newcomer's
  first answer is not stuck behind someone else's twentieth replication.
* Only as many tasks as workers are handed to the pool, so a question withdrawn (a
  slider moved again) frees its queued tasks at once.

Replication i of every scenario uses ``replication_seed(seed, i)`` and runs through
``run_replication``: the same common random numbers and the same code as ``csflow
compare``, so answers here are the CLI's answers.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import multiprocessing
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace

from simulation.experiments.batch import (
    ReplicationOutput,
    Task,
    _end_with_parent,
    replication_seed,
    run_replication,
)
from simulation.scenario import Scenario

TaskKey = tuple[str, int, int, float]  # scenario digest, base seed, replication, years


def digest(scenario: Scenario) -> str:
    """What makes two scenarios the same scenario for the cache (every field, name too)."""
    return hashlib.sha256(scenario.model_dump_json().encode()).hexdigest()


def _warm_worker(parent: int) -> None:
    """Import the simulation once per worker, so the first question does not pay for it.

    Workers ignore Ctrl-C (the parent shuts the pool down in order) and exit when the
    parent is gone, however it ended: an app killed mid-workshop leaves nothing running.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _end_with_parent(parent)
    import simulation.experiments.batch  # noqa: F401
    import simulation.outputs.run  # noqa: F401


def _ping(seconds: float) -> int:
    time.sleep(seconds)
    return 0


@dataclass
class _Pending:
    """A task queued or running, and the questions waiting for it."""

    task: Task
    jobs: set[int]
    dispatched: bool = False


@dataclass
class Job:
    """One question: replications 0..reps-1 of each scenario, filled in as they land.

    ``outputs[(scenario_index, rep)]`` holds each finished replication; ``version`` grows
    with every arrival, so a reader can wait for "anything newer than what I have".
    """

    id: int
    scenarios: list[Scenario]
    reps: int
    seed: int
    years: float
    outputs: dict[tuple[int, int], ReplicationOutput] = field(default_factory=dict)
    cancelled: bool = False
    version: int = 0
    _cond: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _listeners: list[Callable[[], None]] = field(default_factory=list, repr=False)

    @property
    def total(self) -> int:
        return len(self.scenarios) * self.reps

    @property
    def done(self) -> bool:
        return self.cancelled or len(self.outputs) >= self.total

    def listen(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from a pool thread) after each arrival and at cancellation."""
        with self._cond:
            self._listeners.append(callback)

    def wait(self, version: int, timeout: float | None = None) -> int:
        """Block until ``self.version > version`` or the job is done; the new version."""
        with self._cond:
            self._cond.wait_for(lambda: self.version > version or self.done, timeout)
            return self.version

    def _add(self, si: int, out: ReplicationOutput) -> None:
        with self._cond:
            self.outputs[(si, out.rep)] = replace(out, scenario_index=si)
            self.version += 1
            self._cond.notify_all()
            listeners = list(self._listeners)
        for callback in listeners:
            callback()

    def view(self) -> JobView:
        """The job at one moment: arrivals land from pool threads while a reader works, so
        a reader that counts complete replications, then arrivals, then asks ``done``
        would mix moments (say "finished" over a count taken before the last run)."""
        with self._cond:
            return JobView(dict(self.outputs), self.cancelled, self.done, self.reps,
                           len(self.scenarios))


@dataclass(frozen=True)
class JobView:
    """A consistent copy of a job's state, from ``Job.view``."""

    outputs: dict[tuple[int, int], ReplicationOutput]
    cancelled: bool
    done: bool
    reps: int
    n_scenarios: int

    @property
    def total(self) -> int:
        return self.n_scenarios * self.reps

    def complete_reps(self) -> list[int]:
        """Replications finished for every scenario (the ones that can be paired)."""
        return [r for r in range(self.reps)
                if all((si, r) in self.outputs for si in range(self.n_scenarios))]


class LivePool:
    """A shared pool of warm worker processes with a cache and a fair queue.

    ``executor`` may be given (tests use a thread pool); by default ``workers`` spawned
    processes (spawn, not fork: the app's threads must not be copied mid-lock).
    """

    def __init__(self, workers: int = 2, cache_size: int = 4000,
                 executor: ProcessPoolExecutor | None = None) -> None:
        self.workers = workers
        self.cache_size = cache_size
        self._own_executor = executor is None
        self._executor = executor or self._new_executor()
        self._lock = threading.RLock()
        self._cache: OrderedDict[TaskKey, ReplicationOutput] = OrderedDict()
        self._pending: dict[TaskKey, _Pending] = {}
        self._heap: list[tuple[tuple[int, int, int], TaskKey]] = []
        self._jobs: dict[int, Job] = {}
        self._job_keys: dict[int, list[tuple[int, TaskKey]]] = {}
        self._in_flight = 0
        self._ids = itertools.count(1)
        self.cache_hits = 0
        self.runs_started = 0

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_warm_worker, initargs=(os.getpid(),))

    def warm(self) -> None:
        """Start every worker now (and import the simulation in it), not at the first ask."""
        futures = [self._executor.submit(_ping, 0.3) for _ in range(self.workers)]
        for f in futures:
            f.result()

    def close(self) -> None:
        with self._lock:
            for job in self._jobs.values():
                job.cancelled = True
            self._heap.clear()
        if self._own_executor:  # workers finish their current run, then exit
            self._executor.shutdown(wait=True, cancel_futures=True)

    # ---------------------------------------------------------------- asking
    def submit(self, scenarios: list[Scenario], reps: int, seed: int, years: float) -> Job:
        """Queue replications 0..reps-1 of every scenario; cached ones arrive at once."""
        job = Job(next(self._ids), list(scenarios), reps, seed, years)
        digests = [digest(s) for s in scenarios]
        hits: list[tuple[int, ReplicationOutput]] = []
        with self._lock:
            self._jobs[job.id] = job
            keys = self._job_keys.setdefault(job.id, [])
            for rep in range(reps):
                for si, (scenario, d) in enumerate(zip(scenarios, digests, strict=True)):
                    key = (d, seed, rep, float(years))
                    if key in self._cache:
                        self._cache.move_to_end(key)
                        hits.append((si, self._cache[key]))
                        continue
                    keys.append((si, key))
                    pending = self._pending.get(key)
                    if pending is None:
                        task = Task(si, scenario, rep, replication_seed(seed, rep), years)
                        pending = self._pending[key] = _Pending(task, set())
                    pending.jobs.add(job.id)
                    if not pending.dispatched:  # the newest asker's place may be earlier
                        heapq.heappush(self._heap, ((rep, job.id, si), key))
            self.cache_hits += len(hits)
        for si, out in hits:
            job._add(si, out)
        self._fill()
        return job

    def cancel(self, job: Job) -> None:
        """Withdraw a question: its queued tasks go unless someone else still wants them."""
        with self._lock:
            job.cancelled = True
            for _, key in self._job_keys.pop(job.id, []):
                pending = self._pending.get(key)
                if pending is not None:
                    pending.jobs.discard(job.id)
                    if not pending.jobs and not pending.dispatched:
                        del self._pending[key]
            self._jobs.pop(job.id, None)
        with job._cond:
            job._cond.notify_all()
            listeners = list(job._listeners)
        for callback in listeners:
            callback()

    def queue_position(self, job: Job) -> int:
        """Runs that will start before this question's next one (0: it is running now)."""
        with self._lock:
            mine = [p for p, key in self._heap
                    if key in self._pending and job.id in self._pending[key].jobs
                    and not self._pending[key].dispatched]
            if not mine:
                return 0
            first = min(mine)
            ahead = {key for p, key in self._heap if p < first and key in self._pending
                     and not self._pending[key].dispatched and self._pending[key].jobs}
            return len(ahead)

    def cached(self, scenarios: list[Scenario], seed: int,
               years: float) -> list[dict[int, ReplicationOutput]]:
        """For each scenario, its finished replications in the cache, by replication."""
        digests = [digest(s) for s in scenarios]
        with self._lock:
            return [{key[2]: out for key, out in self._cache.items()
                     if key[0] == d and key[1] == seed and key[3] == float(years)}
                    for d in digests]

    def busy(self) -> tuple[int, int]:
        """(runs in flight, runs queued)."""
        with self._lock:
            queued = sum(1 for p in self._pending.values() if not p.dispatched)
            return self._in_flight, queued

    # ---------------------------------------------------------------- the pool
    def _fill(self) -> None:
        with self._lock:
            while self._in_flight < self.workers and self._heap:
                _, key = heapq.heappop(self._heap)
                pending = self._pending.get(key)
                if pending is None or pending.dispatched:
                    continue
                if not pending.jobs:
                    del self._pending[key]
                    continue
                pending.dispatched = True
                self._in_flight += 1
                self.runs_started += 1
                try:
                    future = self._executor.submit(run_replication, pending.task)
                except (BrokenProcessPool, RuntimeError) as exc:
                    self._in_flight -= 1
                    self._fail(key, f"worker pool unavailable: {exc}")
                    self._executor = self._new_executor() if self._own_executor \
                        else self._executor
                    continue
                future.add_done_callback(lambda f, k=key: self._finished(k, f))

    def _fail(self, key: TaskKey, message: str) -> None:
        pending = self._pending.pop(key)
        out = ReplicationOutput(pending.task.scenario_index, pending.task.rep,
                                pending.task.seed, error=message)
        self._deliver(pending, key, out)

    def _finished(self, key: TaskKey, future: Future) -> None:
        try:
            out = future.result()
        except Exception as exc:  # noqa: BLE001 - a dead worker: report, replace the pool
            with self._lock:
                self._in_flight -= 1
                self._fail(key, f"{exc.__class__.__name__}: {exc}")
                if isinstance(exc, BrokenProcessPool) and self._own_executor:
                    self._executor = self._new_executor()
            self._fill()
            return
        with self._lock:
            self._in_flight -= 1
            pending = self._pending.pop(key)
            if out.error is None:
                self._cache[key] = out
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        self._deliver(pending, key, out)
        self._fill()

    def _deliver(self, pending: _Pending, key: TaskKey, out: ReplicationOutput) -> None:
        with self._lock:
            targets = [(self._jobs[j], si) for j in pending.jobs if j in self._jobs
                       for si, k in self._job_keys.get(j, []) if k == key]
        for job, si in targets:
            job._add(si, out)


def replications(pool: LivePool, scenarios: list[Scenario], reps: int, seed: int,
                 years: float, timeout: float = 600.0) -> Iterator[ReplicationOutput]:
    """Each replication of every scenario as it lands (cached ones first).

    The iterator a script or notebook uses to watch a question refine; the app does the
    same through ``Job.listen``.
    """
    job = pool.submit(scenarios, reps, seed, years)
    seen: set[tuple[int, int]] = set()
    version = -1
    deadline = time.monotonic() + timeout
    try:
        while True:
            with job._cond:
                arrived = sorted(job.outputs.items())
            for key, out in arrived:
                if key not in seen:
                    seen.add(key)
                    yield out
            if len(seen) >= job.total:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{job.total - len(seen)} replications still missing "
                                   f"after {timeout:g} s")
            version = job.wait(version, min(left, 1.0))
    finally:
        if len(seen) < job.total:
            pool.cancel(job)
