"""The pinned what-ifs as a compare results folder and its HTML report.

The folder has the layout ``csflow compare`` writes (``write_comparison``), so the
report is the one the CLI builds and ``csflow report`` can rebuild it later. The runs
come from the live pool's cache: nothing is simulated again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from simulation.app.question import Question
from simulation.experiments.batch import assemble
from simulation.experiments.compare import Comparison, scenario_record, write_comparison
from simulation.experiments.live import LivePool
from simulation.outputs.files import package_versions


class ExportError(ValueError):
    """Pinned what-ifs that cannot go in one report; the message says why."""


def export_pinned(pool: LivePool, pinned: list[Question], out: Path) -> Path:
    """Write the compare folder of the pinned what-ifs (base first) and its report.html."""
    if not pinned:
        raise ExportError("pin at least one what-if to export")
    first = pinned[0]
    for q in pinned[1:]:
        if (q.base, q.years) != (first.base, first.years):
            raise ExportError("pinned what-ifs must share the base and the horizon to go in "
                              f"one report ({q.base}, {q.years:g} years vs {first.base}, "
                              f"{first.years:g} years)")
    scenarios = [first.scenarios[0]]
    for q in pinned:
        scenarios += [s for s in q.scenarios[1:] if all(s != t for t in scenarios)]
    found = pool.cached(scenarios, first.seed, first.years)
    reps = sorted(set.intersection(*(set(by_rep) for by_rep in found)))
    if len(reps) < 2:
        raise ExportError("the pinned what-ifs need at least 2 finished replications each; "
                          "wait for them to refine, then export")
    outputs = [replace(by_rep[r], scenario_index=si)
               for si, by_rep in enumerate(found) for r in reps]
    comparison = Comparison(assemble(outputs, scenarios), scenarios, len(reps))
    now = datetime.now(UTC).isoformat(timespec="seconds")
    manifest = {
        "kind": "compare", "command": "csflow app (pinned what-ifs)", "created": now,
        "finished": now, "seed": first.seed, "years": first.years, "reps": len(reps),
        "requested_reps": len(reps), "precision": None, "backend": "app", "jobs": pool.workers,
        "overlays": [], "no_effects": not all(q.effects_on for q in pinned),
        "package_versions": package_versions(),
        "scenarios": [scenario_record(s, None) for s in scenarios],
        "what_ifs": [q.spec() | {"label": q.label} for q in pinned],
        "warnings": [], "failures": 0,
    }
    write_comparison(out, comparison, manifest, force=True)
    return out / "report.html"
