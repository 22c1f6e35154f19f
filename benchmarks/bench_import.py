"""Speed of ``csflow import``: six years of a 150,000-children council's returns.

    python benchmarks/bench_import.py [--population 150000] [--years 6] [--layout folders]

The extract is made by the tests' synthetic-returns generator (tests/returns_synth.py:
SSDA903 CSV tables and the CIN census as XML, or flat CSV with ``--cin-format csv``);
the time measured is the import alone (reading, cleaning, estimating, writing), as
``csflow import`` does it, best of ``--repeat`` runs, as wall and CPU time (on a shared
machine the CPU time is the fairer figure).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulation.returns.importer import import_returns, read_returns  # noqa: E402
from tests.returns_synth import Council, Params  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=150_000)
    parser.add_argument("--years", type=int, default=6)
    parser.add_argument("--layout", choices=("folders", "combined"), default="folders")
    parser.add_argument("--cin-format", choices=("xml", "csv"), default="xml")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    years = tuple(range(2025 - args.years + 1, 2026))
    started = time.perf_counter()
    council = Council(Params(population=args.population, years=years), seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        s903, cin = council.write(Path(tmp), args.layout, args.cin_format)
        made = time.perf_counter() - started
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
        times, cpu = [], []
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            returns = read_returns(s903, cin)
            import_returns(returns, args.population, Path(tmp) / "out" / "council.yaml")
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    print(f"extract: {args.population:,} children, {args.years} years ({years[0]}-{years[-1]}), "
          f"{len(council.referrals):,} referrals, {len(council.periods):,} periods of care, "
          f"{size / 1e6:.1f} MB ({args.layout}, CIN as {args.cin_format}); made in {made:.1f} s")
    print(f"import: best {min(times):.2f} s wall ({min(cpu):.2f} s CPU); wall of each run "
          + ", ".join(f"{t:.2f}" for t in times))


if __name__ == "__main__":
    main()
