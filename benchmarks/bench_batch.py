"""Speed of Monte Carlo comparisons: replications per second, serial against --jobs 2,
and the wall time of a workshop-sized comparison.

    python benchmarks/bench_batch.py [--reps 6] [--years 3]

Three structures (hub, pods, fsp) through the same Python API as ``csflow compare``.
The workshop case is 3 scenarios x 10 replications x 3 years with 2 processes, end to
end: loading, running, statistics, files and the HTML report.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from simulation.experiments.batch import run_batch
from simulation.experiments.compare import compare, load_all

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
STRUCTURES = [CONFIGS / f"{name}.yaml" for name in ("hub", "pods", "fsp")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=6)
    parser.add_argument("--years", type=float, default=3.0)
    args = parser.parse_args()
    scenarios = load_all(STRUCTURES)
    n = len(scenarios) * args.reps
    timings = {}
    for label, jobs in (("serial", 1), ("--jobs 2", 2)):
        start = time.perf_counter()
        run_batch(scenarios, args.reps, seed=1, years=args.years, jobs=jobs, progress=False)
        timings[label] = time.perf_counter() - start
        print(f"{label:<9} {n} replications x {args.years:g} years: "
              f"{timings[label]:6.1f} s  {n / timings[label]:5.2f} replications/s")
    print(f"speed-up with 2 processes: {timings['serial'] / timings['--jobs 2']:.2f}x")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        compare(STRUCTURES, reps=10, seed=1, years=3, out=Path(tmp) / "workshop", jobs=2,
                progress=False)
        print(f"workshop comparison (3 scenarios x 10 reps x 3 years, --jobs 2, with report): "
              f"{time.perf_counter() - start:.1f} s wall")


if __name__ == "__main__":
    main()
