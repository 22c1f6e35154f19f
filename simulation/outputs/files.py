"""Writing results: run folders written atomically, manifests, package versions.

``write_run`` writes a run folder atomically: everything goes into a temporary sibling
folder that is renamed into place only when complete, so a failed or interrupted run
never leaves a half-written or half-overwritten folder.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: stale folders are then left alone
    fcntl = None  # type: ignore[assignment]

from simulation.outputs.run import RunResult
from simulation.scenario import Scenario, file_sha256
from simulation.scenario.effects import scenario_dates


class OutputError(RuntimeError):
    """The output folder cannot be used (e.g. it exists and is not empty)."""


@functools.lru_cache(maxsize=1)
def code_version() -> dict[str, Any]:
    """Which code made a result: the package version, and the git commit with a dirty flag
    when the source is a git checkout (both None outside one, never an error)."""
    source = Path(__file__).resolve().parents[2]
    out: dict[str, Any] = {"package": None, "commit": None, "dirty": None}
    with contextlib.suppress(metadata.PackageNotFoundError):
        out["package"] = metadata.version("csflow")
    try:
        def git(*args: str) -> str:
            return subprocess.run(["git", "-C", str(source), *args], capture_output=True,
                                  text=True, timeout=10, check=True).stdout.strip()
        out["commit"] = git("rev-parse", "HEAD") or None
        out["dirty"] = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def package_versions() -> dict[str, str]:
    names = ["csflow", "simpy", "numpy", "scipy", "pandas", "pyarrow", "pydantic", "matplotlib",
             "openpyxl"]
    out = {"python": sys.version.split()[0]}
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


def manifest(scenario_file: str | Path | None, scenario: Scenario, seed: int, years: float,
             command: str, started: datetime, **extra: Any) -> dict[str, Any]:
    """What is needed to reproduce a run: the scenario (file hash and resolved), seed, versions."""
    return {
        "kind": "run",
        "scenario_file": str(scenario_file) if scenario_file else None,
        "scenario_sha256": file_sha256(scenario_file) if scenario_file else None,
        "scenario": scenario.model_dump(mode="json"),
        # what the run rests on, and from when (a dated effect starts part-way)
        "assumed_effects": [{"name": name, "value": e.value, "target": e.target,
                             "starts_at_years": e.starts_at_years}
                            for name, e in scenario.assumed_effects()],
        "dates": scenario_dates(scenario),
        "seed": seed,
        "years": years,
        "command": command,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "package_versions": package_versions(),
        **extra,
    }


def prepare_output(out: Path, force: bool) -> None:
    """Refuse a non-empty folder unless ``force``; a file in the way is always an error.

    Also proves the folder can be written, by creating (and removing) the temporary
    sibling that ``atomic_folder`` will use, so an unwritable ``--out`` fails before the
    simulation rather than after it.
    """
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise OutputError(f"--out {out}: folder is not empty (use --force to replace it)")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(_temporary_sibling(out))
    except OSError as exc:
        raise OutputError(f"--out {out}: cannot write there "
                          f"({exc.strerror or exc.__class__.__name__})") from None


def _temporary_sibling(out: Path) -> Path:
    return Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", suffix=".partial", dir=out.parent))


def clean_stale_partials(out: Path) -> list[Path]:
    """Remove temporary siblings of ``out`` left by killed writes; returns what was removed.

    A live write holds a lock on its folder (released by the system when the writer dies,
    however it dies), so only abandoned ones are removed. The resume checkpoint of a batch
    (``.<out>.partial``, no ``tmp-``) is never touched: rerunning the command resumes it.
    """
    removed: list[Path] = []
    if fcntl is None or not out.parent.is_dir():
        return removed
    for folder in out.parent.glob(f".{glob.escape(out.name)}.tmp-*.partial"):
        try:
            fd = _lock(folder)
        except OSError:  # held by a live writer (or vanished meanwhile)
            continue
        try:
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            os.close(fd)
        removed.append(folder)
    return removed


def _lock(folder: Path) -> int:
    """An exclusive lock on a folder, held while the returned descriptor is open."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise
    return fd


@contextlib.contextmanager
def atomic_folder(out: Path, force: bool) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``out``, on failure it vanishes."""
    prepare_output(out, force)
    clean_stale_partials(out)
    tmp = _temporary_sibling(out)
    fd = _lock(tmp) if fcntl is not None else None
    try:
        try:
            yield tmp
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private; give it a normal mode
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        if fd is not None:
            os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def kpi_row(result: RunResult) -> dict[str, Any]:
    """The KPIs plus which assumed effects they rest on ('' = structure alone), and from
    when for an effect that starts at a date ('name=-0.15 from year 2')."""
    effects = ";".join(f"{name}={e.value:g}" + (f" from year {e.starts_at_years:g}"
                                                 if e.starts_at_years else "")
                       for name, e in result.scenario.assumed_effects())
    return {"scenario": result.scenario.name, "seed": result.seed, "years": result.years,
            **result.kpis, "assumed_effects": effects}


def write_run(result: RunResult, out: Path, run_manifest: dict[str, Any], force: bool,
              events: bool = False) -> Path:
    """Write kpis.csv, the long KPI table (CSV and .xlsx), children.parquet, stocks.parquet,
    manifest.json and, with ``events``, the event log events.parquet into ``out``."""
    from simulation.outputs.events import event_log
    from simulation.outputs.kpis import local_comparators
    from simulation.outputs.tables import run_kpi_table, write_workbook

    with atomic_folder(out, force) as tmp:
        pd.DataFrame([kpi_row(result)]).to_csv(tmp / "kpis.csv", index=False)
        long = run_kpi_table(result.kpis, result.scenario.name, result.scenario.population,
                             local_comparators(result.scenario))
        long.to_csv(tmp / "kpis_long.csv", index=False)
        write_workbook(tmp / "kpis.xlsx", {"KPIs": long})
        result.children().to_parquet(tmp / "children.parquet", index=False)
        result.stocks.to_parquet(tmp / "stocks.parquet", index=False)
        if events:
            event_log(result.simulation).to_parquet(tmp / "events.parquet", index=False)
        run_manifest = {**run_manifest, "events_processed": result.events_processed}
        (tmp / "manifest.json").write_text(json.dumps(run_manifest, indent=2, default=str))
    return out
