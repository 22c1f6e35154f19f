"""How fast the workshop app answers: seconds from asking a what-if to its first answer.

    python benchmarks/bench_app.py [--trials 5] [--years 3] [--workers 2]

Starts ``csflow app`` (warm pool) on a free loopback port, then asks what-ifs on the
full baseline council (100,000 children) one after another, through the same HTTP
and server-sent events the page uses, and prints for each: seconds to the first answer
(replication 0 of the base and the what-if both in), to the first confidence interval
(2 replications), to the full answer, and a repeat of the same what-if (the cache).
The first trial has nothing cached; later ones find the base already run, as a room
does after its first question.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.app_helpers import ask_and_follow, running_app  # noqa: E402


def ask(url: str, whatif: dict, years: float) -> dict[str, float]:
    """Seconds to the first answer, the first with a CI (two replications), and the full one."""
    times: dict[str, float] = {}
    for seconds, snap in ask_and_follow(url, whatif, years):
        if snap["n"] >= 1:
            times.setdefault("first", seconds)
        if snap["n"] >= 2:
            times.setdefault("first_ci", seconds)
        if snap["finished"]:
            times["full"] = seconds
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--years", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reps", type=int, default=10)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")
    with running_app("--workers", str(args.workers), "--reps", str(args.reps)) as url:
        firsts = []
        for trial in range(args.trials):
            whatif = {"staff_pct": 5 * (trial + 1)}
            t = ask(url, whatif, args.years)
            again = ask(url, whatif, args.years)
            firsts.append(t["first"])
            print(f"trial {trial + 1} (staff +{whatif['staff_pct']}%, {args.years:g} years): "
                  f"first answer {t['first']:.2f} s, first CI {t['first_ci']:.2f} s, "
                  f"{args.reps} replications {t['full']:.2f} s; repeated: "
                  f"{again['full'] * 1000:.0f} ms")
    print(f"first answer: median {statistics.median(firsts):.2f} s, worst {max(firsts):.2f} s; "
          f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
