"""Thirty people at once, on the loopback address: bounded in count and in time.

Each simulated user asks two what-ifs (from a small set, so several people ask the same
one, as a room does) and reads each answer's event stream to the end. Every user must
be answered, with no error; the latencies measured are printed (first answer and full
answer, p50 and p95), and the server's own counters show the shared cache at work.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
import urllib.request

from tests.app_helpers import ask_and_follow, running_app

USERS = 30
REPS = 3
YEARS = 2
HARD_TIMEOUT = 300.0  # seconds for the whole room; each request also has its own timeout
WHAT_IFS = [{"staff_pct": 10}, {"staff_pct": -10}, {"caseload_change": 2},
            {"demand_pct": 10}, {"turnover_pct": 20}, {}]


def ask(url: str, whatif: dict, deadline: float) -> tuple[float, float, dict]:
    """(seconds to the first answer, seconds to the full answer, the last snapshot, with
    the longest queue this user was shown as ``max_queue``)."""
    first, seconds, snap, longest = None, 0.0, {}, 0
    for seconds, snap in ask_and_follow(url, whatif, YEARS, deadline):
        longest = max(longest, snap["queue"])
        if first is None and snap["n"] >= 1:
            first = seconds
    snap["max_queue"] = longest
    return first if first is not None else float("nan"), seconds, snap


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def test_thirty_users_all_answered_without_error():
    results: list[tuple[float, float, dict]] = []
    errors: list[str] = []
    lock = threading.Lock()

    with running_app("--reps", str(REPS)) as url:
        deadline = time.monotonic() + HARD_TIMEOUT

        def user(i: int) -> None:
            for k in range(2):
                try:
                    out = ask(url, WHAT_IFS[(i + k) % len(WHAT_IFS)], deadline)
                except Exception as exc:  # noqa: BLE001 - every failure is counted
                    with lock:
                        errors.append(f"user {i} request {k}: {exc!r}")
                    return
                with lock:
                    results.append(out)

        started = time.monotonic()
        threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(USERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(max(deadline - time.monotonic(), 0.1))
        wall = time.monotonic() - started
        with urllib.request.urlopen(url + "/api/health", timeout=10) as res:
            health = json.load(res)

    assert not errors, errors[:5]
    assert len(results) == 2 * USERS, f"{len(results)} of {2 * USERS} answers arrived"
    incomplete = [{k: s.get(k) for k in ("n", "reps", "arrived", "total", "finished", "failures")} for _, _, s in results
                  if not (s["n"] == REPS and not s["failures"] and s["cards"])]
    assert not incomplete, incomplete[:3]
    # a busy room is told so: someone was shown runs queued ahead of theirs
    assert max(s["max_queue"] for _, _, s in results) > 0
    first = [r[0] for r in results]
    full = [r[1] for r in results]
    print(f"\n{USERS} users x 2 what-ifs ({len(WHAT_IFS)} distinct, {REPS} reps, {YEARS} "
          f"years) in {wall:.1f} s: first answer p50 {p(first, 50):.1f} s, p95 "
          f"{p(first, 95):.1f} s; full answer p50 {p(full, 50):.1f} s, p95 {p(full, 95):.1f} s; "
          f"runs {health['runs_started']}, cache hits {health['cache_hits']}")
    # the room shares work: far fewer runs than the 2 x 30 x 2 x 3 asked for
    assert health["runs_started"] <= len(WHAT_IFS) * REPS  # base + 5 variants, once each


def test_an_app_killed_mid_answer_leaves_no_worker_running():
    """SIGKILL while replications run: the pool's workers notice and exit (checked by
    ``running_app`` on the way out)."""
    with running_app("--reps", "50", kill=True) as url:
        body = json.dumps({"base": "baseline", "whatif": {"staff_pct": 5}}).encode()
        request = urllib.request.Request(url + "/api/ask", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as res:
            assert json.load(res)["job"]
        with urllib.request.urlopen(url + "/api/health", timeout=10) as res:
            assert json.load(res)["running"] > 0
