"""Any structure on any council: a structure file's teams (and the roles and assumed
effects that come with them) applied to a council's scenario, sized to its demand.

The structure's own ``sized_for_population`` (100,000 for the shipped files, which
extend the baseline) makes its teams follow the council's population; a council that
declares ``structure.case_holding_fte`` keeps that capacity under every structure, so
structures are compared at the council's own staffing.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from simulation.scenario.loading import ScenarioError, load_raw


def apply_structure(council: dict[str, Any], structure_file: str | Path) -> dict[str, Any]:
    """The council's raw scenario under the structure of ``structure_file``.

    Kept from the council: name-independent demand, pathway, initial state, costs,
    local figures, its declared case-holding FTE, its own assumed effects. Taken from the
    structure file: its ``structure`` section whole (teams, localities, rules), roles
    the council lacks, and its assumed ``effects`` (added; same names: the structure's);
    the scenario is named ``<council>-<structure>``.
    """
    raw = load_raw(structure_file)
    if not isinstance(raw.get("structure"), dict):
        raise ScenarioError(f"{structure_file}: structure: missing (not a structure file)")
    out = copy.deepcopy(council)
    declared = council.get("structure", {}).get("case_holding_fte")
    structure = copy.deepcopy(raw["structure"])
    if declared is not None:
        structure["case_holding_fte"] = declared
    out["structure"] = structure
    roles = dict(raw.get("workforce", {}).get("roles", {}))
    roles.update(out.get("workforce", {}).get("roles", {}))
    out.setdefault("workforce", {})["roles"] = roles
    out["effects"] = {**copy.deepcopy(council.get("effects", {})),
                      **copy.deepcopy(raw.get("effects", {}))}
    label = raw.get("name", Path(structure_file).stem)
    out["name"] = f"{council.get('name', 'council')}-{label}"
    out["description"] = (f"{council.get('name', 'council')} under the {label} structure, "
                          f"sized to its {council.get('population', 0):,} children. "
                          f"{' '.join(str(raw.get('description', '')).split())}").strip()
    return out
