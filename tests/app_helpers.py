"""Start ``csflow app`` in a subprocess on a free loopback port, for the app's tests."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def processes_marked(marker: str) -> list[int]:
    """Processes whose environment carries ``marker`` (the app and its pool workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
    return found


def wait_gone(marker: str, seconds: float = 10.0) -> list[int]:
    """Wait until no marked process is left; those still there after ``seconds``."""
    deadline = time.monotonic() + seconds
    while (left := processes_marked(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


@contextlib.contextmanager
def running_app(*args: str, timeout: float = 90.0, kill: bool = False) -> Iterator[str]:
    """The base URL of a running app; afterwards the server is stopped (by its pid;
    ``kill``: SIGKILL, as a crash would) and no process of it may be left behind."""
    port = free_port()
    marker = f"CSFLOW_APP_TEST={uuid.uuid4().hex}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), marker.split("=")[0]: marker.split("=")[1]}
    proc = subprocess.Popen([sys.executable, "-m", "simulation", "app", "--port", str(port),
                             *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"app exited: {proc.stdout.read()}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(url + "/api/health", timeout=2) as res:
                    if json.load(res)["ok"]:
                        break
            if time.monotonic() > deadline:
                raise TimeoutError("app did not start")
            time.sleep(0.3)
        yield url
    finally:
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        proc.stdout.close()
    left = wait_gone(marker)
    assert not left, f"processes left running after the app stopped: {left}"


def ask_and_follow(url: str, whatif: dict, years: float,
                   deadline: float | None = None) -> Iterator[tuple[float, dict]]:
    """Ask the app one what-if (base and compare both "baseline") and yield (seconds since
    asking, snapshot) for each update of its answer, the finished one last; TimeoutError
    if it is unfinished at ``deadline`` (a ``time.monotonic()`` value)."""
    started = time.monotonic()
    body = json.dumps({"base": "baseline", "compare": ["baseline"], "whatif": whatif,
                       "years": years}).encode()
    request = urllib.request.Request(url + "/api/ask", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as res:
        job = json.load(res)["job"]
    timeout = 600.0 if deadline is None else max(deadline - time.monotonic(), 1.0)
    with urllib.request.urlopen(f"{url}/api/jobs/{job}/events", timeout=timeout) as stream:
        for raw in stream:
            line = raw.decode().strip()
            if not line.startswith("data:"):
                continue
            snap = json.loads(line[5:])
            yield time.monotonic() - started, snap
            if snap["finished"]:
                return
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job} unfinished at the deadline")
