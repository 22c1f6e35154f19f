"""Documentation keeps up with the code: every KPI is defined in docs/kpis.md."""

from __future__ import annotations

from pathlib import Path

from simulation.kpis import KPI_INFO, KPI_ORDER

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_kpi_is_documented_and_labelled():
    text = (DOCS / "kpis.md").read_text()
    missing = [k for k in KPI_ORDER if f"`{k}`" not in text]
    assert not missing, f"KPIs not defined in docs/kpis.md: {missing}"
    assert set(KPI_ORDER) <= set(KPI_INFO)


def test_readme_links_only_existing_docs():
    readme = (DOCS.parent / "README.md").read_text()
    for name in ("scenarios", "kpis", "operating-models", "calibration", "batch", "speed"):
        assert f"docs/{name}.md" in readme
        assert (DOCS / f"{name}.md").exists(), name
