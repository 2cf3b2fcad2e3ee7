"""The architecture as a test: no import cycles, and layers that point one way.

Every import counts, at module level or inside a function, under ``TYPE_CHECKING`` too:
a cycle that only runs late still ties the two modules together.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The folders, top to bottom: a module imports only from its own room or from rooms
# below it. The top is the public surface (extract/*.py); schemas/ and backends/ sit at
# the repository's top level and install as extract.schemas and extract.backends.
ROOMS = (
    "extract",
    "extract.apps",
    "extract.api",
    "extract.features",
    "extract.core",
    "extract.backends",
    "extract.schemas",
)
FOLDERS = {"extract": ROOT / "extract", "extract.schemas": ROOT / "schemas",
           "extract.backends": ROOT / "backends"}  # fmt: skip


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in FOLDERS.items():
        for path in folder.rglob("*.py"):
            if package == "extract" and path.relative_to(folder).parts[0] in (
                "schemas",
                "backends",
            ):
                continue  # the links: read from the folders they point to
            parts = path.relative_to(folder).with_suffix("").parts
            name = ".".join([package, *(parts[:-1] if parts[-1] == "__init__" else parts)])
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


def _room(module: str) -> int:
    """The room's depth: the longest prefix names it (extract.apps.cli is in apps)."""
    best = max((r for r in ROOMS if module == r or module.startswith(r + ".")), key=len)
    return ROOMS.index(best)


def test_every_room_has_modules() -> None:
    assert {_room(name) for name in GRAPH} == set(range(len(ROOMS)))


def test_rooms_import_downwards() -> None:
    upward = {
        (name, target)
        for name, targets in GRAPH.items()
        for target in targets
        if _room(target) < _room(name)
    }
    assert upward == set()


def test_nothing_imports_schemas_or_backends_as_top_level_names() -> None:
    """``schemas`` and ``backends`` are only ``extract.schemas`` and ``extract.backends``:
    a top-level import would load a second copy, or a user's own module of that name."""
    found = []
    for folder in ("extract", "schemas", "backends", "tests", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.ImportFrom) and not node.level and node.module:
                    names = [node.module]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                found += [
                    f"{path.relative_to(ROOT)}:{node.lineno}"
                    for name in names
                    if name.split(".")[0] in ("schemas", "backends")
                ]
    assert found == []


def test_no_module_is_much_over_600_lines() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, path in _modules().items()}
    assert {name: n for name, n in sizes.items() if n > 650} == {}
