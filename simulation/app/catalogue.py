"""The scenarios a facilitator can pick: the shipped configs and files uploaded in the room.

An upload is read by the same ``load_scenario`` as ``csflow validate``, so a bad file
gets the CLI's message (one line per problem, naming the field) and nothing else
changes: the app keeps serving the scenarios it had.
"""

from __future__ import annotations

import re
import tempfile
import threading
from pathlib import Path

from simulation.council.structures import apply_structure
from simulation.scenario import Scenario, ScenarioError, load_raw, load_scenario, validate

MAX_UPLOAD_BYTES = 1_000_000


def shipped_configs() -> Path:
    """The repository's configs/ folder (beside the simulation package)."""
    return Path(__file__).resolve().parents[2] / "configs"


def shipped_scenarios(folder: Path) -> list[Path]:
    """The structures (configs/*.yaml), then the councils and worked examples in their
    subfolders; not the practice overlays (fragments) nor council profiles (inputs to
    ``csflow profile``, not scenarios)."""
    paths = sorted(folder.glob("*.yaml"))
    for sub in ("councils", "examples"):
        paths += sorted(p for p in (folder / sub).glob("*.yaml")
                        if not p.stem.endswith("_profile"))
    return paths


class Catalogue:
    """Scenarios by key (their name; an upload whose name is taken gets a suffix)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or shipped_configs()
        self._lock = threading.Lock()
        self._uploads = Path(tempfile.mkdtemp(prefix="csflow-app-uploads-"))
        self.scenarios: dict[str, Scenario] = {}
        self.sources: dict[str, str] = {}
        self.paths: dict[str, Path] = {}
        # the shipped structures (configs/*.yaml): what "structures to try" applies to a
        # council (simulation.council.structures), sized to its demand
        self.structures = {p.resolve() for p in self.folder.glob("*.yaml")}
        self._applied: dict[tuple[str, str], Scenario] = {}
        for path in shipped_scenarios(self.folder):
            try:
                scenario = load_scenario(path)
            except ScenarioError as exc:  # a broken shipped file must not stop the room
                print(f"warning: skipped {path.name}: {exc}")
                continue
            self._add(scenario, path.name, path)

    def is_structure(self, key: str) -> bool:
        """A shipped structure file (a typical council under one structure)."""
        path = self.paths.get(key)
        return path is not None and path.resolve() in self.structures

    def under(self, council: str, structure: str) -> Scenario:
        """``structure`` as the room means it for ``council``: the council itself when they
        are the same; the structure as shipped when the council is one of the shipped
        structures (all are the same typical council); otherwise the council's own
        demand, caseload and staffing under that structure's teams (as ``csflow compare
        --structures`` does), cached."""
        if structure == council or self.is_structure(council) or not self.is_structure(
                structure):
            return self.get(structure)
        key = (council, structure)
        with self._lock:
            if key not in self._applied:
                raw = apply_structure(load_raw(self.paths[council]), self.paths[structure])
                self._applied[key] = validate(raw, f"{council} under {structure}")
            return self._applied[key]

    def _add(self, scenario: Scenario, source: str, path: Path) -> str:
        key, n = scenario.name, 2
        while key in self.scenarios:
            key, n = f"{scenario.name} ({n})", n + 1
        if key != scenario.name:  # results are labelled by name: keep names apart
            scenario = scenario.model_copy(update={"name": key})
        self.scenarios[key] = scenario
        self.sources[key] = source
        self.paths[key] = path
        return key

    def upload(self, filename: str, data: bytes) -> str:
        """Validate an uploaded scenario file and add it; ScenarioError if it is bad."""
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(filename or "upload.yaml").name)
        if not name.endswith((".yaml", ".yml")):
            raise ScenarioError(f"{name}: a scenario file must be YAML (.yaml or .yml)")
        if len(data) > MAX_UPLOAD_BYTES:
            raise ScenarioError(f"{name}: file is larger than {MAX_UPLOAD_BYTES:,} bytes")
        with self._lock:
            folder = Path(tempfile.mkdtemp(dir=self._uploads))
            path = folder / name
            path.write_bytes(data)
            try:
                scenario = load_scenario(path)  # the CLI's reader and messages
            except ScenarioError as exc:  # name the file as the facilitator knows it
                raise ScenarioError(str(exc).replace(str(path.resolve()), name)
                                    .replace(str(path), name)) from None
            return self._add(scenario, f"uploaded {name}", path)

    def get(self, key: str) -> Scenario:
        try:
            return self.scenarios[key]
        except KeyError:
            raise ScenarioError(f"scenario {key!r}: not in this app (choose one listed, or "
                                f"upload the file)") from None
