"""The architecture as a test: no import cycles, and layers that point one way.

Every import counts, at module level or inside a function, under ``TYPE_CHECKING`` too:
a cycle that only runs late still ties the two modules together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("extract", "schemas", "backends")
# What each package may import from the others (extract -> backends -> schemas).
ALLOWED = {"schemas": set(), "backends": {"schemas"}, "extract": {"schemas", "backends"}}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                full = f"{target}.{alias.name}"
                out.add(full if full in modules else target)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return {m for m in out if m in modules and m != name}


GRAPH = {name: _imports(name, path, _modules()) for name, path in _modules().items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    assert _cycles(GRAPH) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_layers_point_one_way(package: str) -> None:
    wrong = {
        (name, target)
        for name, targets in GRAPH.items()
        if name.split(".")[0] == package
        for target in targets
        if target.split(".")[0] not in ALLOWED[package] | {package}
    }
    assert wrong == set()


# The rooms inside extract/, top to bottom: a module imports only from its own room or
# from rooms below it (cli -> ray/targets -> api -> batch/ingest -> the core).
ROOMS = (
    ("extract", "extract.pytest_plugin"),  # the public surface re-exports everything
    ("extract.cli",),
    ("extract.review", "extract.distill"),
    ("extract.ray", "extract._targets", "extract.evaluation"),
    ("extract.ensemble",),
    ("extract._api", "extract._parse", "extract.testing"),
    ("extract.batch", "extract._ingest"),
    ("extract._options", "extract._long"),
    ("extract._loop", "extract._prompt", "extract._repair", "extract.streaming"),
    (
        "extract._result",
        "extract._errors",
        "extract._model",
        "extract.grounding",
        "extract._fields",
    ),
)


def _room(module: str) -> int:
    """The room's depth: its longest matching prefix decides (extract.batch._engine is in
    extract.batch, not in extract)."""
    best = max(
        (prefix for room in ROOMS for prefix in room
         if module == prefix or module.startswith(prefix + ".")),
        key=len,
    )  # fmt: skip
    return next(depth for depth, room in enumerate(ROOMS) if best in room)


def test_every_extract_module_has_a_room() -> None:
    names = [name for name in GRAPH if name.split(".")[0] == "extract"]
    assert {_room(name) for name in names} == set(range(len(ROOMS)))


def test_rooms_import_downwards() -> None:
    upward = {
        (name, target)
        for name, targets in GRAPH.items()
        if name.split(".")[0] == "extract"
        for target in targets
        if target.split(".")[0] == "extract" and _room(target) < _room(name)
    }
    assert upward == set()


def test_no_module_is_much_over_600_lines() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, path in _modules().items()}
    assert {name: n for name, n in sizes.items() if n > 650} == {}
