"""``csflow import`` as a function: read, clean, estimate, write (atomically).

Identifiers live only in the in-memory frames of ``read``; what leaves this module is
the scenario, the local-figures file (aggregates) and a SHA-256 of the input files.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from simulation.returns.errors import Report, ReturnsError
from simulation.returns.estimate import Estimates, estimate
from simulation.returns.fields import in_schema
from simulation.returns.journeys import Journeys, build_journeys
from simulation.returns.read import CinCensus, Ssda903, read_cin, read_ssda903
from simulation.returns.write import (
    BASELINE,
    extends_path,
    local_figures_text,
    scenario_text,
    write_atomically,
)
from simulation.scenario import load_scenario


@dataclass
class Returns:
    """The parsed returns (in memory) and the fingerprint of the files they came from."""

    ssda903: Ssda903
    cin: CinCensus | None
    report: Report
    sha256: str

    @property
    def years(self) -> list[int]:
        return sorted(set(self.ssda903.years) | set(self.cin.years if self.cin else []))


def inputs_sha256(files: list[Path]) -> str:
    """One SHA-256 over the input files' contents (in name order): which extract this was,
    without any of its contents."""
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def read_returns(ssda903: Path, cin: Path | None, strict: bool = False) -> Returns:
    report = Report(strict=strict)
    s903 = read_ssda903(Path(ssda903), report)
    census = read_cin(Path(cin), report) if cin is not None else None
    files = [*s903.files, *(census.files if census else [])]
    return Returns(s903, census, report, inputs_sha256(files))


def fit(returns: Returns, population: int, last_year: int | None = None) -> tuple[Journeys,
                                                                                   Estimates]:
    """Journeys and estimates from the returns up to ``last_year`` (all by default)."""
    journeys = build_journeys(returns.ssda903, returns.cin, returns.report, last_year)
    referral_rate = load_scenario(BASELINE).demand.front_door.referral_rate
    return journeys, estimate(journeys, population, referral_rate)


def header_lines(returns: Returns, j: Journeys, est: Estimates, name: str) -> list[str]:
    t = est.trend
    lines = [
        f"{name}: a council scenario built by `csflow import` from its statutory returns.",
        f"SSDA903 {_span(returns.ssda903.years)}"
        + (f"; CIN census {_span(returns.cin.years)}" if returns.cin else "; no CIN census")
        + f"; fitted on collection years {_span(j.years)}, cut at 31 March {j.years[-1]}.",
        f"Input files: SHA-256 {returns.sha256} (no identifier is written anywhere).",
        "It extends the national baseline: every value not written here (the front door, "
        "workforce, structure, costs, and anything the returns are too thin to show) is the "
        "national default of configs/baseline.yaml.",
    ]
    if t:
        per_year = ", ".join(f"{y}: {n:,}" for y, n in t["per_year"].items())
        se = f" (standard error {t['se']:.1%})" if t["se"] == t["se"] else ""
        where = ("demand.growth.annual_rate" if in_schema("demand.growth.annual_rate")
                 else "the local figures file (pending_fields) until the scenario has a "
                      "demand-growth field")
        lines.append(f"Referrals a year {per_year}; trend {t['growth']:+.1%} a year{se}, "
                     "log-linear with Poisson weights. The level below is the fitted last "
                     f"year; the trend is in {where}.")
    lines += [f"Cleaning: {w}" for w in returns.report.warnings()]
    return lines


def _span(years: list[int]) -> str:
    return f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0])


def local_figures_path(out: Path) -> Path:
    return out.with_name(out.stem + ".targets.yaml")


def import_returns(returns: Returns, population: int, out: Path, name: str | None = None,
                   last_year: int | None = None, baseline: Path = BASELINE,
                   extra: dict[Path, str] | None = None) -> Estimates:
    """Fit and write ``out`` (the scenario) and ``<out>.targets.yaml`` (local figures), with
    any ``extra`` files (the back-test tables), all or nothing."""
    out = Path(out)
    if returns.ssda903.years and returns.cin is None:
        returns.report.notes.append("no CIN census: referral, assessment, s47, CIN and CP "
                                    "values stay at the national defaults")
    j, est = fit(returns, population, last_year)
    name = name or out.stem
    head = header_lines(returns, j, est, name)
    text, pending = scenario_text(est, name, population, extends_path(out, baseline), head)
    local = local_figures_text(est, pending, head[:3])
    write_atomically({out: text, local_figures_path(out): local, **(extra or {})})
    return est


__all__ = ["Returns", "ReturnsError", "fit", "import_returns", "read_returns"]
