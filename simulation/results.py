"""Running one replication and writing its results.

``simulate`` is the single entry point every face of csflow uses (CLI, batches,
notebooks). ``write_run`` writes a run folder atomically: everything goes into a
temporary sibling folder that is renamed into place only when complete, so a failed
or interrupted run never leaves a half-written or half-overwritten folder.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.engine import Simulation
from simulation.kpis import compute_kpis
from simulation.scenario import Scenario
from simulation.schema.workforce import PARENTAL_FACTORS


class OutputError(RuntimeError):
    """The output folder cannot be used (e.g. it exists and is not empty)."""


@dataclass
class RunResult:
    """Everything one replication produced."""

    scenario: Scenario
    seed: int
    years: float
    kpis: dict[str, float]
    stocks: pd.DataFrame
    events_processed: int
    simulation: Simulation = field(repr=False)

    def children(self) -> pd.DataFrame:
        """One row per child: the referred ones from the run, plus front-door-only contacts."""
        return children_table(self.simulation)

    def spells(self) -> pd.DataFrame:
        return spells_table(self.simulation)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a run.

    SimPy allocates an event object per step; the collector's generational scans
    then cost ~40% of a run while finding almost nothing. Memory is bounded by the
    run, and one collection afterwards reclaims any cycles.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def simulate(scenario: Scenario, seed: int, years: float | None = None) -> RunResult:
    """Run one replication of ``scenario`` with ``seed``; ``years`` overrides the scenario."""
    sim = Simulation(scenario, seed, years)
    with gc_paused():
        rec = sim.run()
    counts = rec.stocks_table()
    final = counts[counts["day"] == counts["day"].max()].set_index("stage")["open"].to_dict()
    kpis = compute_kpis(
        rec, years=sim.years, population=scenario.population,
        contacts=int(np.sum(sim.contacts.arrival >= 0)), pending_waits=sim.alloc.pending_waits(sim.horizon), final_counts=final)
    return RunResult(scenario, seed, sim.years, kpis, counts, sim.events_processed, sim)


def children_table(sim: Simulation) -> pd.DataFrame:
    """Referred children (simulated one by one) and the other contacts (in bulk)."""
    referred = sim.rec.children_table()
    c = sim.contacts
    door_only = _not_simulated(sim)
    sources = np.asarray(sim.sources, dtype=object)
    bulk = pd.DataFrame({
        "child_id": sim.first_contact_id + door_only,
        "arrival_day": c.arrival[door_only],
        "age_at_arrival": c.age_years[door_only],
        "referral_source": sources[c.source[door_only]],
        "locality": c.locality[door_only],
        "factors": c.factors[door_only],
        "initial_caseload": False,
        "referrals": 0,
        "stages": "",
        "final_place": np.where(c.decision[door_only] < sim.horizon, "closed", "front_door"),
        "final_place_since": np.minimum(c.decision[door_only], sim.horizon),
        "workers": 0,
        "sw_changes": 0,
        "days_looked_after": 0.0,
    })
    bulk.loc[bulk["final_place"] == "front_door", "final_place_since"] = \
        c.arrival[door_only][bulk["final_place"] == "front_door"]
    table = pd.concat([referred, bulk], ignore_index=True)
    for bit, name in zip((1, 2, 4), PARENTAL_FACTORS, strict=True):
        table[name] = (table["factors"].astype(int) & bit) > 0
    table = table.drop(columns="factors")
    return table.sort_values("child_id", ignore_index=True)


def _not_simulated(sim: Simulation) -> np.ndarray:
    """Contacts never simulated one by one: ended at the front door, or still there at the end."""
    c = sim.contacts
    return np.flatnonzero(~c.referred | (c.decision >= sim.horizon))


def spells_table(sim: Simulation) -> pd.DataFrame:
    """Every stay in a place as [start, end): simulated children plus the bulk contacts."""
    spells = sim.rec.spells_table()
    c = sim.contacts
    idx = _not_simulated(sim)
    ids = sim.first_contact_id + idx
    door = pd.DataFrame({"child_id": ids, "place": "front_door", "start": c.arrival[idx],
                         "end": np.minimum(c.decision[idx], sim.horizon)})
    decided = c.decision[idx] < sim.horizon
    closed = pd.DataFrame({"child_id": ids[decided], "place": "closed",
                           "start": c.decision[idx][decided], "end": sim.horizon})
    return pd.concat([spells, door, closed], ignore_index=True)


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
    from simulation.scenario import file_sha256

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
