"""Documentation keeps up with the code: KPIs defined, links alive, code blocks that run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simulation.outputs.kpis import KPI_INFO, KPI_ORDER

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_kpi_is_documented_and_labelled():
    text = (DOCS / "kpis.md").read_text()
    missing = [k for k in KPI_ORDER if f"`{k}`" not in text]
    assert not missing, f"KPIs not defined in docs/kpis.md: {missing}"
    assert set(KPI_ORDER) <= set(KPI_INFO)


def test_readme_links_only_existing_docs():
    readme = (DOCS.parent / "README.md").read_text()
    for name in ("scenarios", "kpis", "operating-models", "calibration", "batch", "speed",
                 "app"):
        assert f"docs/{name}.md" in readme
        assert (DOCS / f"{name}.md").exists(), name


def python_blocks(doc: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)


@pytest.mark.parametrize("doc", sorted(p.name for p in DOCS.glob("*.md") if python_blocks(p)))
def test_python_blocks_in_docs_run_as_written(doc, tmp_path, monkeypatch):
    """Run each block from a folder laid out like a clone (configs/ beside results/)."""
    (tmp_path / "configs").symlink_to(DOCS.parent / "configs")
    monkeypatch.chdir(tmp_path)
    for block in python_blocks(DOCS / doc):
        exec(compile(block, f"{doc} code block", "exec"), {"__name__": "__doc_block__"})
    assert list((tmp_path / "results").glob("*/manifest.json")) or doc != "batch.md"


def test_architecture_doc_names_every_layer():
    from tests.test_architecture import LAYERS

    text = (DOCS / "architecture.md").read_text()
    missing = [layer for layer in LAYERS if f"`{layer}" not in text]
    assert not missing, f"docs/architecture.md does not describe: {missing}"
