"""Reading scenario files: YAML, ``extends`` and overlays merged, then validated once.

``extends: other.yaml`` lets a scenario be a small diff of another (mappings merge key
by key, lists and values replace); overlays are fragments, typically a practice model's
``effects``, applied on top. Problems come back as one line each, naming the field.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from simulation.scenario.effects import ALL_FACTORS, apply_effects
from simulation.scenario.errors import ScenarioError, format_validation_error, parse
from simulation.scenario.limits import ensure_fits
from simulation.scenario.schema.scenario import Scenario

__all__ = ["ScenarioError", "format_validation_error", "load_raw", "load_scenario", "validate",
           "without_effects", "file_sha256"]


class _Loader(yaml.SafeLoader):
    """Safe YAML that refuses duplicate keys (a silent "last one wins" hides typos) and reads
    ``1e-6`` as a number (YAML 1.1 would read it as text without a decimal point)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        self.flatten_mapping(node)
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, f"a key must be text or a number, got {key!r}",
                    key_node.start_mark) from None
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


_Loader.yaml_implicit_resolvers = {k: list(v) for k, v in
                                   yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789"))
_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_mapping)


def _deep_merge(base: dict[str, Any], diff: Mapping[str, Any]) -> dict[str, Any]:
    """Sections merge key by key; a distribution (a mapping with ``dist``) is one value and
    replaces the parent's whole, so a lognormal can become quantiles without leftovers."""
    out = dict(base)
    for key, value in diff.items():
        if (isinstance(value, Mapping) and isinstance(out.get(key), Mapping)
                and "dist" not in value):
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
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except RecursionError:
        raise ScenarioError(f"{path}: nested too deeply") from None
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


def validate(data: Mapping[str, Any], source: str = "") -> Scenario:
    """A Scenario from a mapping, or ScenarioError with one line per problem.

    Checks what a run will see, not only what was written: the scenario with its assumed
    effects folded in must be valid too (an effect may push a value out of bounds), and
    the run must fit in memory.
    """
    scenario = parse(data, source)
    # every effect, those that select families by parental factor included
    effective = apply_effects(scenario, factors=ALL_FACTORS,
                              source=f"{source} (after effects)" if source else "after effects")
    ensure_fits(effective, scenario.run.years, source)
    return scenario


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


def apply_overlay(scenario: Scenario, overlay: Mapping[str, Any], source: str = "") -> Scenario:
    """The scenario with an overlay mapping merged on top (as ``overlays:`` files are),
    validated again: how a what-if changes a scenario without touching the engine."""
    return validate(_deep_merge(scenario.model_dump(), overlay), source or scenario.name)


def load_scenario(path: str | Path, overlays: list[str | Path] | tuple = ()) -> Scenario:
    """Read, merge (``extends``, overlays) and validate a scenario file."""
    return validate(load_raw(path, overlays), str(path))


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
