"""Writing the council's scenario: a small YAML that ``extends`` the national baseline,
every estimated value with its provenance as a comment, written atomically.

Each estimate goes to the field ``fields.FIELDS`` names if the schema has it; otherwise,
with its provenance, into ``pending_fields`` of the local-figures file beside the scenario.
"""

from __future__ import annotations

import os
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from simulation.returns.estimate import Estimates
from simulation.returns.fields import FIELDS, in_schema
from simulation.scenario import ScenarioError, load_scenario

BASELINE = Path(__file__).resolve().parents[2] / "configs" / "baseline.yaml"

CASES_NOTE = (
    "the children open at the last 31 March as groups alike in stage, age band (0, 1, 5, "
    "10, 16, 18 years), time in the stage (0, 91, 183, 365, 730, 1826, 6574 days; a period "
    "of care begun before the extract runs to the top band) and past (shares with a CP plan "
    "before, for cp one before the current plan, and with an ended period of care). Groups "
    "of fewer than 5 children are merged into coarser ones (past as shares, then the "
    "elapsed bands spanned, then one row per stage, aged 0-18 if under 5): no row is a "
    "child. The run draws each child's age and elapsed time in its bands and its remaining "
    "time from the stage's duration given the time elapsed.")


def plain(value: Any) -> Any:
    """Python scalars for YAML (numpy ones are not representable)."""
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value


def _flow(value: Any) -> str:
    text = yaml.safe_dump(plain(value), default_flow_style=True, width=10**6, sort_keys=False)
    return text.strip().removesuffix("...").strip()


def _leafy(value: dict) -> bool:
    return "dist" in value or all(not isinstance(v, dict) for v in value.values())


def emit(tree: dict[str, Any], comments: dict[str, list[str]], indent: int = 0,
         prefix: str = "") -> list[str]:
    """YAML lines with each key's comments above it (small mappings in flow style)."""
    lines = []
    pad = "  " * indent
    for key, value in tree.items():
        path = f"{prefix}{key}"
        leafy = not isinstance(value, dict) or _leafy(value)
        notes = list(comments.get(path, []))
        if leafy:  # a mapping written on one line carries its keys' notes above it
            notes += [n for k, ns in comments.items() if k.startswith(f"{path}.") for n in ns]
        for note in notes:
            lines += textwrap.wrap(note, 96, initial_indent=f"{pad}# ",
                                   subsequent_indent=f"{pad}#   ")
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            lines.append(f"{pad}{key}:")  # a list of records: one flow mapping a line
            lines += [f"{pad}- {_flow(v)}" for v in value]
        elif not leafy:
            lines.append(f"{pad}{key}:")
            lines += emit(value, comments, indent + 1, f"{path}.")
        else:
            lines.append(f"{pad}{key}: {_flow(value)}")
    return lines


def _put(tree: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for p in parents:
        tree = tree.setdefault(p, {})
    tree[leaf] = value


def scenario_text(est: Estimates, name: str, population: int, extends: str,
                  header: list[str]) -> tuple[str, dict[str, Any]]:
    """The scenario YAML, and the estimates no schema field holds yet (for the local file)."""
    tree: dict[str, Any] = {}
    comments: dict[str, list[str]] = {}
    pending: dict[str, Any] = {}
    fallbacks: list[str] = []
    for v in est.values:
        path = FIELDS[v.key]
        value = {k: x for k, x in v.value.items() if x is not None} \
            if isinstance(v.value, dict) else v.value
        if v.value is None:
            fallbacks.append(f"{path}: {v.note}")
        elif in_schema(path):
            _put(tree, path, value)
            comments[path] = [f"{v.note}."]
        else:
            pending[v.key] = {"field": path, "value": value, "provenance": v.note}
    if est.initial_state:
        tree["initial_state"] = dict(est.initial_state)
        comments["initial_state"] = [est.initial_note]
        grouped: set[str] = set()
        if est.initial_cases and in_schema("initial_state.cases"):
            tree["initial_state"]["cases"] = est.initial_cases
            grouped = {g["stage"] for g in est.initial_cases}
            comments["initial_state.cases"] = [CASES_NOTE]
        elif est.initial_cases:
            pending["initial_state_cases"] = {"field": "initial_state.cases",
                                              "value": est.initial_cases}
        # the past of grouped stages is in their groups; shares remain for the others
        history = {k: {s: x for s, x in v.items() if s not in grouped}
                   for k, v in est.initial_history.items()}
        history = {k: v for k, v in history.items() if v}
        if history and in_schema("initial_state.history"):
            tree["initial_state"]["history"] = history
            comments["initial_state.history"] = [
                "shares of these open cases with a past CP plan (for cp: a plan before this "
                "one) or an ended period of care, seen in the extract."]
        elif history:
            pending["initial_state_history"] = {"field": "initial_state.history",
                                                "value": history}
    figures = local_figures(est)
    if figures and in_schema("local_figures"):
        tree["local_figures"] = figures
        comments["local_figures"] = [
            "the council's own figures by year ending 31 March, counted from its returns "
            "(unaccompanied children left out of the care figures): targets for "
            "`calibrate --local` and the local comparators of run, compare and the report."]
    elif figures:
        pending["local_figures"] = {"field": "local_figures", "value": figures}
    body = {"name": name, "population": population, **tree}
    comments["name"] = header
    comments["population"] = ["children aged 0-17 (given on the command line: the returns do "
                               "not hold it)."]
    if fallbacks:
        comments.setdefault("demand", []).extend(
            ["Not estimated (too few records), national default kept:", *fallbacks])
    lines = [f"extends: {extends}", *emit(body, comments)]
    return "\n".join(lines) + "\n", pending


LOCAL_MEASURES = ("referrals", "referral_nfa_rate", "s47_enquiries", "icpcs",
                  "cp_plans_started", "cin_plans_started", "cp_repeat_rate", "cla_started",
                  "cla_ended", "cla_leavers_18plus_rate", "cin_open", "cp_open", "cla_open")


def local_figures(est: Estimates) -> dict[str, Any]:
    """``local_figures`` entries (issue 10b's schema): measure -> values by year, source."""
    out: dict[str, Any] = {}
    f = est.figures
    for measure in LOCAL_MEASURES:
        if measure not in f.columns:
            continue
        values = {int(y): round(float(v), 4) for y, v in zip(f["year"], f[measure],
                                                               strict=True) if v == v}
        if values:
            table = "CIN census" if measure[:3] in ("ref", "s47", "icp", "cp_", "cin") \
                else "SSDA903"
            out[measure] = {"values": values, "source": f"the council's {table} return"}
    return out


def local_figures_text(est: Estimates, pending: dict[str, Any], header: list[str]) -> str:
    """The council's own figures: flows and stocks a year, repeat CP share, changes of
    worker by reason, and estimates awaiting a schema field. Aggregates only."""
    figures = est.figures.astype(object).where(pd.notna(est.figures), None)
    data = {
        "local_figures": {
            "by_year": {int(r["year"]): {k: (round(float(v), 4) if isinstance(v, float) else v)
                                         for k, v in r.items() if k != "year"}
                        for r in figures.to_dict("records")},
            **est.local,
            "referral_trend": {k: (round(v, 5) if isinstance(v, float) else v)
                               for k, v in est.trend.items()},
        },
        "pending_fields": pending,
    }
    head = "\n".join(f"# {h}" for h in header)
    return head + "\n" + yaml.safe_dump(plain(data), sort_keys=False, width=100)


def write_atomically(files: dict[Path, str]) -> None:
    """Write every file to a temporary name, validate the scenario, then rename all."""
    temps: list[tuple[Path, Path]] = []
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".yaml", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            temps.append((Path(tmp), path))
        scenario_tmp = temps[0][0]
        load_scenario(scenario_tmp)  # the scenario must load before it replaces anything
        for tmp, path in temps:
            os.replace(tmp, path)
    except ScenarioError:
        raise
    finally:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)


def extends_path(out: Path, baseline: Path = BASELINE) -> str:
    return os.path.relpath(baseline.resolve(), out.resolve().parent)
