"""Reading scenario files: YAML, ``extends`` and overlays merged, then validated once.

``extends: other.yaml`` lets a scenario be a small diff of another (mappings merge key
by key, lists and values replace); overlays are fragments, typically a practice model's
``effects``, applied on top. Problems come back as one line each, naming the field.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from simulation.scenario.schema.scenario import Scenario


class ScenarioError(ValueError):
    """A scenario that cannot be used; ``str()`` is one line per problem, naming the field."""


def _deep_merge(base: dict[str, Any], diff: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in diff.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read ({exc.__class__.__name__}: {exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ScenarioError(f"{path}: not valid YAML{where}: "
                            f"{getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: top level must be a mapping of sections")
    return data


def load_raw(path: str | Path, overlays: list[str | Path] | tuple = (),
             _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The merged mapping of a scenario file, everything it extends, and its overlays.

    Order: the ``extends`` parent, then the file itself, then each file in its
    ``overlays:`` list (paths relative to the file), then ``overlays`` given here
    (e.g. ``--overlay`` on the command line). An overlay is a fragment, typically a
    practice model's ``effects``, that applies on top of any structure.
    """
    path = Path(path).resolve()
    if path in _chain:
        raise ScenarioError(f"{path}: extends loop: {' -> '.join(p.name for p in (*_chain, path))}")
    data = _read_yaml(path)
    parent = data.pop("extends", None)
    own_overlays = data.pop("overlays", [])
    if parent is not None:
        if not isinstance(parent, str):
            raise ScenarioError(f"{path}: extends: must be a file name, got {parent!r}")
        data = _deep_merge(load_raw(path.parent / parent, (), (*_chain, path)), data)
    if not isinstance(own_overlays, list) or not all(isinstance(o, str) for o in own_overlays):
        raise ScenarioError(f"{path}: overlays: must be a list of file names")
    for overlay in [path.parent / o for o in own_overlays] + [Path(o) for o in overlays]:
        fragment = _read_yaml(Path(overlay).resolve())
        if "extends" in fragment or "overlays" in fragment:
            raise ScenarioError(f"{overlay}: an overlay cannot use extends or overlays")
        data = _deep_merge(data, fragment)
    return data


def format_validation_error(exc: ValidationError, source: str = "") -> str:
    """One line per problem: ``file: field.path: message``."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (check spelling; see configs/baseline.yaml)"
        # Cross-section checks run on the whole scenario and name their own field.
        where = f"{loc}: " if loc else ""
        lines.append(f"{source + ': ' if source else ''}{where}{msg}")
    return "\n".join(lines)


def validate(data: Mapping[str, Any], source: str = "") -> Scenario:
    """A Scenario from a mapping, or ScenarioError with one line per problem."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(exc, source)) from None


def without_effects(scenario: Scenario) -> Scenario:
    """The same scenario with every assumed effect set to 0 (the structure alone): the
    practice effects and the workload feedback (``workforce.pressure``)."""
    zeroed = {g: {n: e.model_copy(update={"value": 0.0}) for n, e in es.items()}
              for g, es in scenario.effects.items()}
    pressure = scenario.workforce.pressure
    calm = pressure.model_copy(update={
        n: e.model_copy(update={"value": 0.0}) for n, e in pressure.effects()})
    workforce = scenario.workforce.model_copy(update={"pressure": calm})
    return scenario.model_copy(update={"effects": zeroed, "workforce": workforce})


def load_scenario(path: str | Path, overlays: list[str | Path] | tuple = ()) -> Scenario:
    """Read, merge (``extends``, overlays) and validate a scenario file."""
    return validate(load_raw(path, overlays), str(path))


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
