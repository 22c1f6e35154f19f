"""csflow: a discrete-event simulation of children's social care in England.

The public API for notebooks and scripts, importable from here::

    from simulation import load_scenario, simulate, run_batch, compare

Layers, each importing only those listed before it (``tests/test_architecture.py``
enforces it; ``docs/architecture.md`` describes each):

- ``simulation.randomness``: distributions declared as data, named random streams
- ``simulation.scenario``: the schema, reading files, assumed effects
- ``models``: the operating-model layer (teams and allocation, workforce, accounts)
- ``simulation.engine``: the child's journey, contacts, the recorder
- ``simulation.outputs``: one run's KPIs, tables and files
- ``simulation.analysis``: statistics (CIs, paired differences, PRCC)
- ``simulation.report``: the HTML report built from saved results
- ``simulation.experiments``: batches, comparisons, sweeps, calibration, steady state
- ``simulation.cli``: the ``csflow`` command line

Names are loaded on first use, so ``import simulation`` (and ``csflow --help``) does
not pay for pandas, SimPy and the rest until they are needed.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# public name -> module that defines it
_API = {
    "Scenario": "simulation.scenario",
    "ScenarioError": "simulation.scenario",
    "load_scenario": "simulation.scenario",
    "without_effects": "simulation.scenario",
    "apply_effects": "simulation.scenario",
    "simulate": "simulation.outputs.run",
    "RunResult": "simulation.outputs.run",
    "write_run": "simulation.outputs.files",
    "run_batch": "simulation.experiments.batch",
    "BatchResult": "simulation.experiments.batch",
    "compare": "simulation.experiments.compare",
    "Comparison": "simulation.experiments.compare",
    "sweep_scenarios": "simulation.experiments.sweep",
    "calibration_table": "simulation.experiments.calibration",
    "steady_state_caseload": "simulation.experiments.steady_state",
    "summarise": "simulation.analysis.stats",
    "paired_differences": "simulation.analysis.stats",
    "build_report": "simulation.report.html",
}

__all__ = [  # the same names as _API, spelled out for readers and linters
    "BatchResult", "Comparison", "RunResult", "Scenario", "ScenarioError", "apply_effects",
    "build_report", "calibration_table", "compare", "load_scenario", "paired_differences",
    "run_batch", "simulate", "steady_state_caseload", "summarise", "sweep_scenarios",
    "without_effects", "write_run",
]

if TYPE_CHECKING:  # for editors and type checkers; at run time names load lazily
    from simulation.analysis.stats import paired_differences, summarise
    from simulation.experiments.batch import BatchResult, run_batch
    from simulation.experiments.calibration import calibration_table
    from simulation.experiments.compare import Comparison, compare
    from simulation.experiments.steady_state import steady_state_caseload
    from simulation.experiments.sweep import sweep_scenarios
    from simulation.outputs.files import write_run
    from simulation.outputs.run import RunResult, simulate
    from simulation.report.html import build_report
    from simulation.scenario import (
        Scenario,
        ScenarioError,
        apply_effects,
        load_scenario,
        without_effects,
    )


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use (PEP 562)."""
    if name not in _API:
        raise AttributeError(f"module 'simulation' has no attribute {name!r}")
    value = getattr(import_module(_API[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
