"""Writing results: run folders written atomically, manifests, package versions.

``write_run`` writes a run folder atomically: everything goes into a temporary sibling
folder that is renamed into place only when complete, so a failed or interrupted run
never leaves a half-written or half-overwritten folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from simulation.outputs.run import RunResult
from simulation.scenario import Scenario, file_sha256


class OutputError(RuntimeError):
    """The output folder cannot be used (e.g. it exists and is not empty)."""


def package_versions() -> dict[str, str]:
    names = ["csflow", "simpy", "numpy", "scipy", "pandas", "pyarrow", "pydantic"]
    out = {"python": sys.version.split()[0]}
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


def manifest(scenario_file: str | Path | None, scenario: Scenario, seed: int, years: float,
             command: str, started: datetime, **extra: Any) -> dict[str, Any]:
    """What is needed to reproduce a run: the scenario (file hash and resolved), seed, versions."""
    return {
        "scenario_file": str(scenario_file) if scenario_file else None,
        "scenario_sha256": file_sha256(scenario_file) if scenario_file else None,
        "scenario": scenario.model_dump(mode="json"),
        "seed": seed,
        "years": years,
        "command": command,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "package_versions": package_versions(),
        **extra,
    }


def prepare_output(out: Path, force: bool) -> None:
    """Refuse a non-empty folder unless ``force``; a file in the way is always an error."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise OutputError(f"--out {out}: folder is not empty (use --force to replace it)")


@contextlib.contextmanager
def atomic_folder(out: Path, force: bool) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``out``, on failure it vanishes."""
    prepare_output(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private; give it a normal folder's mode
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def kpi_row(result: RunResult) -> dict[str, Any]:
    """The KPIs plus which assumed effects they rest on ('' = structure alone)."""
    effects = ";".join(f"{name}={e.value:g}" for name, e in result.scenario.assumed_effects())
    return {"scenario": result.scenario.name, "seed": result.seed, "years": result.years,
            **result.kpis, "assumed_effects": effects}


def write_run(result: RunResult, out: Path, run_manifest: dict[str, Any], force: bool) -> Path:
    """Write kpis.csv, children.parquet, stocks.parquet and manifest.json into ``out``."""
    with atomic_folder(out, force) as tmp:
        pd.DataFrame([kpi_row(result)]).to_csv(tmp / "kpis.csv", index=False)
        result.children().to_parquet(tmp / "children.parquet", index=False)
        result.stocks.to_parquet(tmp / "stocks.parquet", index=False)
        run_manifest = {**run_manifest, "events_processed": result.events_processed}
        (tmp / "manifest.json").write_text(json.dumps(run_manifest, indent=2, default=str))
    return out
