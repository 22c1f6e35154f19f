"""The layers stay layers: no module imports one above it, and no import circles.

Every import counts, including those inside functions and under TYPE_CHECKING: a lazy
import is still a dependency a reader has to hold in mind. The package tops
(``simulation/__init__.py``, ``__main__``) are the entry floor and may import anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# bottom to top; a module may import its own layer and the layers before it
LAYERS = [
    "simulation.randomness",
    "simulation.scenario",
    "simulation.council",  # a council profile solved into a scenario (issue 10b)
    "simulation.returns",  # reads returns, writes a scenario it validates; no engine use
    "models",
    "simulation.engine",
    "simulation.outputs",
    "simulation.analysis",
    "simulation.report",
    "simulation.experiments",
    "simulation.app",  # the workshop app: a face; `csflow app` (in cli) starts it
    "simulation.cli",
    "simulation",  # the entry: the public API and ``python -m simulation``
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    files = [*ROOT.glob("simulation/**/*.py"), *ROOT.glob("models/**/*.py")]
    return {module_name(p): p for p in files}


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """The project modules a file imports (``from pkg import sub`` resolves to ``pkg.sub``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return {m for m in found if m in known and m != name}


def layer_of(module: str) -> int:
    best = max((layer for layer in LAYERS if module == layer or module.startswith(layer + ".")),
               key=len)
    if best == "simulation" and module not in ("simulation", "simulation.__main__"):
        raise AssertionError(f"{module} is in no layer: add its package to LAYERS")
    return LAYERS.index(best)


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = project_modules()
    known = set(modules)
    return {name: imports_of(path, name, known) for name, path in modules.items()}


def test_every_module_belongs_to_a_layer(graph):
    for module in graph:
        layer_of(module)


def test_no_module_imports_a_layer_above_its_own(graph):
    upward = [f"{m} ({LAYERS[layer_of(m)]}) imports {d} ({LAYERS[layer_of(d)]})"
              for m, deps in graph.items() for d in deps if layer_of(d) > layer_of(m)]
    assert not upward, "upward imports:\n" + "\n".join(sorted(upward))


def test_no_import_circles(graph):
    """Depth-first search for a back edge; the message names the whole circle."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for dep in sorted(graph[module]):
            if state.get(dep) == 1:
                circle = stack[stack.index(dep):] + [dep]
                raise AssertionError("import circle: " + " -> ".join(circle))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_the_checker_sees_an_upward_import_and_a_circle():
    """The rules above could fail: a made-up graph with both faults is caught."""
    assert layer_of("simulation.engine.journey") > layer_of("models.teams")
    assert layer_of("simulation.scenario.loading") < layer_of("models.teams")
    bad = {"models.teams": {"simulation.engine.journey"}, "simulation.engine.journey": set()}
    with pytest.raises(AssertionError, match="upward imports"):
        test_no_module_imports_a_layer_above_its_own(bad)
    circle = {"simulation.scenario.a": {"simulation.scenario.b"},
              "simulation.scenario.b": {"simulation.scenario.a"}}
    with pytest.raises(AssertionError, match="import circle"):
        test_no_import_circles(circle)


def test_public_api_is_importable_from_the_package_top():
    import simulation

    for name in simulation.__all__:
        obj = getattr(simulation, name)
        assert obj.__doc__, f"simulation.{name} has no docstring"
    with pytest.raises(AttributeError):
        simulation.not_a_name  # noqa: B018
