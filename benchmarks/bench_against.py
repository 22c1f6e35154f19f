"""This checkout against another, side by side in one run: the core's speed, its memory
against the horizon, and the workshop-size comparison.

    python benchmarks/bench_against.py OTHER_CHECKOUT [--configs baseline hub fsp]
        [--years 5] [--rounds 5] [--memory-years 5 10 20] [--workshop-rounds 3]

Every measurement runs in a fresh Python process with one checkout on ``PYTHONPATH``
(and as its working directory), alternating between the two checkouts round by round,
so both meet the same load on a shared machine. Figures are medians over the rounds.

* core: CPU seconds (``time.process_time``) of one ``simulation.outputs.run.simulate``
  call (engine and KPIs), with the cyclic GC off as a batch runs a replication, per
  simulated council-year; the ratio other/this is the speed-up. Each round uses its
  own seed, the same for both checkouts, and the KPI rows are compared: "same KPIs"
  says whether the two checkouts gave identical KPIs, bit for bit, for every seed.
* memory: peak resident memory (``ru_maxrss``) of a process that ran one replication
  of the first config at each horizon (imports included: look at the growth).
* workshop: wall seconds of ``python -m simulation compare`` of the three configs,
  10 replications of 3 years, ``--jobs 2``, results and report written; and the CPU
  seconds of all its processes (parent and pool workers: less sensitive to the load).
* help: wall seconds of ``python -m simulation --help`` (the target is under 0.5 s).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

# Runs inside the measured checkout: only ``load_scenario`` and ``simulate(scenario,
# seed, years)``, which every version of csflow has had.
SNIPPET = """
import gc, hashlib, json, math, resource, sys, time
from simulation.outputs.run import simulate
from simulation.scenario import load_scenario
scenario = load_scenario(sys.argv[1])
years, seed = float(sys.argv[2]), int(sys.argv[3])
gc.collect()
gc.disable()
start = time.process_time()
result = simulate(scenario, seed, years)
cpu = time.process_time() - start
kpis = json.dumps({k: (None if isinstance(v, float) and math.isnan(v) else v)
                   for k, v in result.kpis.items()}, sort_keys=True)
print(json.dumps({"cpu": cpu, "kpis": hashlib.sha256(kpis.encode()).hexdigest(),
                  "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _env(checkout: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(checkout), "PYTHONHASHSEED": "0"}


def replicate(checkout: Path, config: str, years: float, seed: int) -> dict:
    """One replication in a fresh process of ``checkout``: cpu, KPI hash, peak memory."""
    out = subprocess.run([sys.executable, "-c", SNIPPET, f"configs/{config}.yaml",
                          str(years), str(seed)], cwd=checkout, env=_env(checkout),
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _children_cpu() -> float:
    """CPU seconds of the finished child processes (and theirs) so far."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def workshop(checkout: Path, configs: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of the workshop-size comparison, report included."""
    with tempfile.TemporaryDirectory() as tmp:
        cpu, start = _children_cpu(), time.perf_counter()
        subprocess.run([sys.executable, "-m", "simulation", "compare",
                        *[f"configs/{c}.yaml" for c in configs], "--reps", "10",
                        "--years", "3", "--jobs", "2", "--out", f"{tmp}/out", "--quiet"],
                       cwd=checkout, env=_env(checkout), capture_output=True, check=True)
        return time.perf_counter() - start, _children_cpu() - cpu


def help_wall(checkout: Path) -> float:
    """Wall seconds of ``python -m simulation --help``."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "simulation", "--help"], cwd=checkout,
                   env=_env(checkout), capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", type=Path, help="the checkout to compare with")
    parser.add_argument("--configs", nargs="+", default=["baseline", "hub", "fsp"])
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--memory-years", type=float, nargs="*", default=[5.0, 10.0, 20.0])
    parser.add_argument("--workshop-rounds", type=int, default=3)
    args = parser.parse_args()
    this, other = HERE, args.other.resolve()
    pair = {"this": this, "other": other}
    print(f"this: {this}\nother: {other}\n")

    print(f"core, {args.years:g} years, median of {args.rounds} rounds (CPU s per council-year)")
    print(f"{'config':<10}{'this':>8}{'other':>8}{'other/this':>12}  same KPIs")
    for config in args.configs:
        cpu: dict[str, list[float]] = {"this": [], "other": []}
        same = True
        for r in range(args.rounds):
            order = ("this", "other") if r % 2 == 0 else ("other", "this")
            got = {name: replicate(pair[name], config, args.years, r) for name in order}
            for name in order:
                cpu[name].append(got[name]["cpu"] / args.years)
            same &= got["this"]["kpis"] == got["other"]["kpis"]
        a, b = statistics.median(cpu["this"]), statistics.median(cpu["other"])
        print(f"{config:<10}{a:>8.3f}{b:>8.3f}{b / a:>12.2f}  {'yes' if same else 'no'}",
              flush=True)

    if args.memory_years:
        print(f"\npeak memory of one replication of {args.configs[0]} (MiB)")
        print(f"{'years':<10}{'this':>8}{'other':>8}")
        for years in args.memory_years:
            rss = {name: replicate(pair[name], args.configs[0], years, 0)["maxrss_mib"]
                   for name in ("this", "other")}
            print(f"{years:<10g}{rss['this']:>8.0f}{rss['other']:>8.0f}", flush=True)

    if args.workshop_rounds:
        print(f"\nworkshop compare ({' '.join(args.configs)}, 10 reps x 3 years, --jobs 2, "
              f"with report): wall s, median of {args.workshop_rounds}")
        wall: dict[str, list[float]] = {"this": [], "other": []}
        cpu = {"this": [], "other": []}
        for r in range(args.workshop_rounds):
            for name in (("this", "other") if r % 2 == 0 else ("other", "this")):
                took = workshop(pair[name], args.configs)
                wall[name].append(took[0])
                cpu[name].append(took[1])
        a, b = statistics.median(wall["this"]), statistics.median(wall["other"])
        print(f"wall: this {a:.1f}  other {b:.1f}  other/this {b / a:.2f}")
        a, b = statistics.median(cpu["this"]), statistics.median(cpu["other"])
        print(f"CPU:  this {a:.1f}  other {b:.1f}  other/this {b / a:.2f}")
        print("rounds, wall s: " + "  ".join(f"{name} " + " ".join(f"{w:.1f}" for w in walls)
                                             for name, walls in wall.items()))

    helps = {name: statistics.median([help_wall(pair[name]) for _ in range(5)])
             for name in ("this", "other")}
    print(f"\ncsflow --help, wall s, median of 5: this {helps['this']:.2f}  "
          f"other {helps['other']:.2f}")


if __name__ == "__main__":
    main()
