"""The scenario layer: the schema, reading files (``extends``, overlays) and assumed effects.

The names most callers need are importable from here; modules inside this package
import from its submodules, so the package never imports itself.
"""

from simulation.scenario.effects import apply_effects
from simulation.scenario.loading import (
    ScenarioError,
    apply_overlay,
    file_sha256,
    load_raw,
    load_scenario,
    validate,
    without_effects,
)
from simulation.scenario.schema.base import PLACES, STAGES, Branches, DistSpec, Stage
from simulation.scenario.schema.effect import Effect
from simulation.scenario.schema.scenario import RunSettings, Scenario

__all__ = [
    "PLACES", "STAGES", "Branches", "DistSpec", "Effect", "RunSettings", "Scenario",
    "ScenarioError", "Stage", "apply_effects", "apply_overlay", "file_sha256", "load_raw", "load_scenario",
    "validate", "without_effects",
]
