"""The workshop app's web server: a page, a JSON API, and answers streamed as events.

Starlette (a small ASGI toolkit) serves one static page and its script; plotly.js comes
from the installed ``plotly`` package, so nothing is fetched from the internet. A
question is POSTed once and its answer streams back as server-sent events, one after
each replication lands, until every replication is in or the page asks something else.
All simulation happens in the shared ``LivePool``; this module only translates.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from simulation.app.answers import Answer, card_kpis, rests_on
from simulation.app.catalogue import MAX_UPLOAD_BYTES, Catalogue
from simulation.app.export import ExportError, export_pinned
from simulation.app.question import MAX_COMPARED, Question, parse_question
from simulation.app.whatif import CONTROLS, YEARS, WhatIfError, effects_of, scenario_defaults
from simulation.experiments.live import LivePool
from simulation.outputs.sources import cite
from simulation.scenario import ScenarioError

STATIC = Path(__file__).with_name("static")
KEEP_JOBS = 200  # questions kept for their event streams, pins and export


def plotly_js() -> Path:
    """plotly.min.js as shipped inside the plotly wheel (no CDN)."""
    import plotly

    return Path(plotly.__file__).with_name("package_data") / "plotly.min.js"


@dataclass
class _Asked:
    question: Question
    answer: Answer
    pinned: bool = False


class LiveApp:
    """The app's state: scenarios, the shared pool, and the questions being answered."""

    def __init__(self, pool: LivePool, catalogue: Catalogue, reps: int = 20) -> None:
        self.pool = pool
        self.catalogue = catalogue
        self.reps = reps
        self._asked: OrderedDict[int, _Asked] = OrderedDict()
        self._lock = threading.Lock()

    # ------------------------------------------------------------ handlers
    async def page(self, request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    async def plotly(self, request: Request) -> Response:
        return FileResponse(plotly_js(), media_type="application/javascript",
                            headers={"Cache-Control": "max-age=86400"})

    async def options(self, request: Request) -> Response:
        scenarios = []
        for key, s in self.catalogue.scenarios.items():
            scenarios.append({
                "key": key, "name": s.name, "source": self.catalogue.sources[key],
                "description": " ".join(s.description.split()),
                "defaults": scenario_defaults(s),
                "effects": [{"key": k, "value": e.value, "low": e.low, "high": e.high,
                             "kind": e.kind,
                             "evidence": cite(" ".join(e.evidence.split()))}
                            for k, e in effects_of([s]).items()]})
        return JSONResponse({
            "scenarios": scenarios, "reps": self.reps, "max_compared": MAX_COMPARED,
            "controls": [vars(c) for c in CONTROLS], "years": vars(YEARS),
            "cards": card_kpis(set())})

    async def upload(self, request: Request) -> Response:
        name = request.query_params.get("name", "upload.yaml")
        if int(request.headers.get("content-length") or 0) > MAX_UPLOAD_BYTES:
            return _bad(f"{name}: file is larger than {MAX_UPLOAD_BYTES:,} bytes")
        data = await request.body()
        try:
            key = await asyncio.to_thread(self.catalogue.upload, name, data)
        except ScenarioError as exc:
            return _bad(str(exc))
        return JSONResponse({"key": key})

    async def ask(self, request: Request) -> Response:
        try:
            data = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _bad("the question must be JSON")
        try:
            question = await asyncio.to_thread(parse_question, data, self.catalogue)
        except (WhatIfError, ScenarioError) as exc:
            return _bad(str(exc))
        job = self.pool.submit(list(question.scenarios), self.reps, question.seed,
                               question.years)
        labels = ["base (as it stands)"] + [question.label or "as it stands"] * (
            len(question.scenarios) - 1)
        answer = Answer(job, labels, rests_on(list(question.scenarios), question.effects_on))
        with self._lock:
            self._asked[job.id] = _Asked(question, answer)
            while len(self._asked) > KEEP_JOBS:
                _, old = self._asked.popitem(last=False)
                self.pool.cancel(old.answer.job)
        return JSONResponse({"job": job.id, "label": question.label,
                             "spec": question.spec()})

    async def events(self, request: Request) -> Response:
        asked = self._asked.get(int(request.path_params["job"]))
        if asked is None:
            return _bad("no such question (it may have expired): ask again", 404)
        return StreamingResponse(self._stream(request, asked), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache",
                                          "X-Accel-Buffering": "no"})

    async def _stream(self, request: Request, asked: _Asked):
        job = asked.answer.job
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()

        def arrived() -> None:
            with contextlib.suppress(RuntimeError):  # the loop may be gone at shutdown
                loop.call_soon_threadsafe(wake.set)

        job.listen(arrived)
        sent, last = (-1, -1), ""
        try:
            while True:
                # Read "done" before the snapshot: a replication landing between the two
                # would otherwise end the stream on a snapshot that lacks it.
                done = job.done
                queue = self.pool.queue_position(job)
                if (job.version, queue) != sent:
                    sent = (job.version, queue)
                    snap = await asyncio.to_thread(asked.answer.snapshot, queue)
                    text = json.dumps(snap)
                    # A replication landing while the snapshot was built is already in it;
                    # the version seen next time would otherwise resend the same answer.
                    if text != last:
                        last = text
                        yield f"data: {text}\n\n"
                if done:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), 1.0)
                wake.clear()
                if await request.is_disconnected():
                    break
        finally:
            if not asked.pinned and not job.done:
                self.pool.cancel(job)

    async def pin(self, request: Request) -> Response:
        asked = self._asked.get(int(request.path_params["job"]))
        if asked is None:
            return _bad("no such question (it may have expired): ask again", 404)
        asked.pinned = True  # its replications keep running when the page moves on
        return JSONResponse({"job": asked.answer.job.id, "label": asked.question.label})

    async def export(self, request: Request) -> Response:
        try:
            data = await request.json()
            jobs = [int(j) for j in data["jobs"]]
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            return _bad('export needs {"jobs": [pinned question ids]}')
        missing = [j for j in jobs if j not in self._asked]
        if missing:
            return _bad(f"pinned question {missing[0]} has expired: pin it again")
        pinned = [self._asked[j].question for j in jobs]
        folder = Path(tempfile.mkdtemp(prefix="csflow-app-export-")) / "pinned"
        try:
            report = await asyncio.to_thread(export_pinned, self.pool, pinned, folder)
        except ExportError as exc:
            return _bad(str(exc))
        return FileResponse(report, media_type="text/html",
                            filename="csflow-what-ifs.html")

    async def health(self, request: Request) -> Response:
        running, queued = self.pool.busy()
        return JSONResponse({"ok": True, "running": running, "queued": queued,
                             "cache_hits": self.pool.cache_hits,
                             "runs_started": self.pool.runs_started})

    def routes(self) -> list:
        return [
            Route("/", self.page), Route("/vendor/plotly.min.js", self.plotly),
            Route("/api/options", self.options), Route("/api/health", self.health),
            Route("/api/upload", self.upload, methods=["POST"]),
            Route("/api/ask", self.ask, methods=["POST"]),
            Route("/api/jobs/{job:int}/events", self.events),
            Route("/api/jobs/{job:int}/pin", self.pin, methods=["POST"]),
            Route("/api/export", self.export, methods=["POST"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]


def _bad(message: str, status: int = 400) -> Response:
    return JSONResponse({"error": message}, status_code=status)


def create_app(workers: int = 2, reps: int = 20, configs: Path | None = None,
               pool: LivePool | None = None, ready_message: str = "") -> Starlette:
    """The ASGI app; the pool is warmed before the first request and closed at shutdown."""
    live = LiveApp(pool or LivePool(workers), Catalogue(configs), reps)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        await asyncio.to_thread(live.pool.warm)
        if ready_message:
            print(ready_message, flush=True)
        yield
        live.pool.close()

    app = Starlette(routes=live.routes(), lifespan=lifespan)
    app.state.live = live
    return app


def serve(host: str = "127.0.0.1", port: int = 8501, workers: int = 2, reps: int = 20,
          configs: Path | None = None) -> None:
    """Run the app until Ctrl-C (what ``csflow app`` calls)."""
    import uvicorn

    shown = "127.0.0.1" if host == "0.0.0.0" else host
    print(f"csflow app: starting {workers} worker processes...", flush=True)
    app = create_app(workers, reps, configs, ready_message=(
        f"csflow app: open http://{shown}:{port}/ in a browser (Ctrl-C to stop)"))
    # open event streams must not hold up Ctrl-C for long
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=3)
