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

from simulation.scenario import Scenario, ScenarioError, load_scenario

MAX_UPLOAD_BYTES = 1_000_000


def shipped_configs() -> Path:
    """The repository's configs/ folder (beside the simulation package)."""
    return Path(__file__).resolve().parents[2] / "configs"


class Catalogue:
    """Scenarios by key (their name; an upload whose name is taken gets a suffix)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or shipped_configs()
        self._lock = threading.Lock()
        self._uploads = Path(tempfile.mkdtemp(prefix="csflow-app-uploads-"))
        self.scenarios: dict[str, Scenario] = {}
        self.sources: dict[str, str] = {}
        for path in sorted(self.folder.glob("*.yaml")):
            try:
                scenario = load_scenario(path)
            except ScenarioError as exc:  # a broken shipped file must not stop the room
                print(f"warning: skipped {path.name}: {exc}")
                continue
            self._add(scenario, path.name)

    def _add(self, scenario: Scenario, source: str) -> str:
        key, n = scenario.name, 2
        while key in self.scenarios:
            key, n = f"{scenario.name} ({n})", n + 1
        if key != scenario.name:  # results are labelled by name: keep names apart
            scenario = scenario.model_copy(update={"name": key})
        self.scenarios[key] = scenario
        self.sources[key] = source
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
            return self._add(scenario, f"uploaded {name}")

    def get(self, key: str) -> Scenario:
        try:
            return self.scenarios[key]
        except KeyError:
            raise ScenarioError(f"scenario {key!r}: not in this app (choose one listed, or "
                                f"upload the file)") from None
