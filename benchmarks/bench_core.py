"""Speed of the simulation core against a bare SimPy skeleton, measured in one run.

    python benchmarks/bench_core.py [SCENARIO ...] [--years 5] [--reps 5]

For each scenario: SimPy events processed, events per second, seconds per simulated
council-year (a council of the scenario's population; the baseline is 100,000
children), and the same for a bare SimPy skeleton that processes the same number of
events through the same number of processes, with nothing else to do. The ratio is
the cost of the model's own logic over SimPy's. Best of ``reps`` runs (the usual way
to time code on a shared machine); one core; set-up (reading the scenario, drawing
contacts) is inside the timing, writing files is not.
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from pathlib import Path

import simpy

from simulation.engine.journey import Simulation
from simulation.outputs.run import gc_paused
from simulation.scenario import load_scenario

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def time_model(path: Path, years: float, seed: int) -> tuple[float, int, int]:
    """(seconds, SimPy events, processes started) for one replication."""
    scenario = load_scenario(path)
    gc.collect()
    start = time.perf_counter()
    sim = Simulation(scenario, seed, years)
    with gc_paused():
        sim.run()
    elapsed = time.perf_counter() - start
    return elapsed, sim.events_processed, sim.processes_started


def time_skeleton(events: int, processes: int, horizon: float) -> float:
    """A bare SimPy run: an arrival process starting ``processes`` timeout loops."""
    env = simpy.Environment()
    rng = random.Random(0)
    # Each process costs an Initialize and its own end; the arrival loop one timeout each.
    per_process = max((events - 3 * processes) // processes, 1)
    gap = horizon / processes

    def journey(n: int):
        for _ in range(n):
            yield env.timeout(rng.random() * 30)

    def arrivals():
        for _ in range(processes):
            yield env.timeout(gap)
            env.process(journey(per_process))

    gc.collect()
    start = time.perf_counter()
    with gc_paused():
        env.process(arrivals())
        env.run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", type=Path, default=[CONFIGS / "baseline.yaml"])
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    header = (f"{'scenario':<14}{'events':>9}{'events/s':>11}{'s/council-yr':>14}"
              f"{'skeleton ev/s':>15}{'skel s/yr':>11}{'ratio':>7}")
    print(header)
    for path in args.scenarios:
        runs = [time_model(path, args.years, seed) for seed in range(args.reps)]
        seconds, events, processes = min(runs)
        skeleton = min(time_skeleton(events, processes, args.years * 365.25)
                       for _ in range(args.reps))
        print(f"{path.stem:<14}{events:>9,}{events / seconds:>11,.0f}"
              f"{seconds / args.years:>14.3f}{events / skeleton:>15,.0f}"
              f"{skeleton / args.years:>11.3f}{seconds / skeleton:>7.2f}")


if __name__ == "__main__":
    main()
