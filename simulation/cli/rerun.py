"""``csflow rerun MANIFEST --out DIR``: run again exactly what a manifest records.

Every manifest (run, compare, sweep, calibrate) holds the fully resolved scenarios, the
seed, years and replications, so a rerun needs neither the scenario files (which may have
changed or gone) nor the original command. With the same code version (also in the
manifest) the data files come out bit for bit the same; the new manifest records the rerun
command and the time, and points back at the manifest it came from.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import click
import pandas as pd

from simulation.cli.common import command_line, fail
from simulation.cli.run import calibrate_and_write, run_and_write
from simulation.outputs.files import OutputError, code_version, prepare_output
from simulation.scenario import Scenario, ScenarioError, validate

KINDS = ("run", "compare", "sweep", "calibrate")


def _load(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        fail(f"{path}: cannot read the manifest ({exc})")
    if not isinstance(manifest, dict):
        fail(f"{path}: not a csflow manifest (expected a JSON object)")
    kind = manifest.get("kind", "run")
    if kind not in KINDS:
        fail(f"{path}: kind {kind!r} cannot be rerun (one of {', '.join(KINDS)})")
    return manifest


def _scenario(data: Any, where: str) -> Scenario:
    if not isinstance(data, dict):
        fail(f"{where}: no resolved scenario in the manifest (made by an older csflow?)")
    try:
        return validate(data, where)
    except ScenarioError as exc:
        fail(str(exc))
        raise  # unreachable


def _field(manifest: dict[str, Any], name: str, path: Path) -> Any:
    if name not in manifest:
        fail(f"{path}: {name}: missing from the manifest")
    return manifest[name]


@click.command("rerun")
@click.argument("manifest", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--force", is_flag=True, help="replace a non-empty output folder")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="replications in parallel (results are the same whatever this is)")
def rerun(manifest: Path, out: Path, force: bool, jobs: int) -> None:
    """Rerun a run, comparison, sweep or calibration from its manifest.json."""
    m = _load(manifest)
    kind = m.get("kind", "run")
    then = m.get("code_version") or {}
    now = code_version()
    if then.get("commit") and then.get("commit") != now.get("commit"):
        click.echo(f"warning: the manifest was made by commit {then['commit'][:12]}, this is "
                   f"{(now.get('commit') or 'not a git checkout')[:12]}: results may differ",
                   err=True)
    seed, years = _field(m, "seed", manifest), _field(m, "years", manifest)
    command = command_line()
    if kind == "run":
        s = _scenario(m.get("scenario"), f"{manifest}: scenario")
        run_and_write(s, m.get("scenario_file"), seed, years, out, force, command,
                      event_log=bool(m.get("event_log")), overlays=m.get("overlays", []),
                      no_effects=m.get("no_effects", False), rerun_of=str(manifest))
    elif kind == "calibrate":
        s = _scenario(m.get("scenario"), f"{manifest}: scenario")
        calibrate_and_write(s, m.get("scenario_file"), _field(m, "reps", manifest), years,
                            seed, out, force, command)
    elif kind == "compare":
        _rerun_compare(m, manifest, out, force, jobs, command)
    else:
        _rerun_sweep(m, manifest, out, force, jobs, command)
    click.echo(f"reran {manifest} into {out}/")


def _rerun_compare(m: dict[str, Any], path: Path, out: Path, force: bool, jobs: int,
                   command: str) -> None:
    from simulation.experiments.compare import compare_scenarios, headline_table

    records = _field(m, "scenarios", path)
    scenarios = [_scenario(r.get("resolved"), f"{path}: scenario {r.get('name')}")
                 for r in records]
    try:
        prepare_output(out, force)
        comparison = compare_scenarios(
            scenarios, [r.get("file") for r in records], _field(m, "reps", path), m["seed"],
            m["years"], out=out, jobs=jobs, force=force, progress=False,
            overlays=m.get("overlays", []), no_effects=m.get("no_effects", False),
            command=command, comparators=m.get("comparators") or None)
    except (OutputError, ValueError) as exc:
        fail(str(exc))
    click.echo(headline_table(comparison))


def _rerun_sweep(m: dict[str, Any], path: Path, out: Path, force: bool, jobs: int,
                 command: str) -> None:
    from simulation.experiments.compare import partial_folder
    from simulation.experiments.sweep import Parameter, run_sweep, sensitivity_summary

    samples = _field(m, "resolved_samples", path)
    scenarios = [_scenario(s, f"{path}: sample {i}") for i, s in enumerate(samples)]
    params = [Parameter(p["path"], p["low"], p["high"]) for p in _field(m, "parameters", path)]
    points = pd.DataFrame(_field(m, "points", path), columns=[p.path for p in params])
    record = (m.get("scenarios") or [{}])[0]
    try:
        prepare_output(out, force)
    except OutputError as exc:
        fail(str(exc))
    checkpoint = partial_folder(out)
    batch, _ = run_sweep(scenarios, points, params, _field(m, "reps", path), m["seed"],
                         m["years"], out, base_name=record.get("name", "scenario"),
                         base_file=record.get("file"), design_method=m.get("design", "lhs"),
                         command=command, jobs=jobs, checkpoint=checkpoint, progress=False)
    shutil.rmtree(checkpoint, ignore_errors=True)
    click.echo(sensitivity_summary(out))
    if not batch.failures.empty:
        click.echo(f"error: {len(batch.failures)} replication(s) failed", err=True)
        sys.exit(1)
