"""The zoocards modules import each other without a cycle, and the page builders in one direction."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "zoocards"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The zoocards modules `path` imports anywhere in it (a late import inside a function counts too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module in modules:
                found.add(node.module)
            # `from zoocards import render`: the names may be modules themselves
            found.update(f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in modules)
    return found


def import_graph() -> dict[str, set[str]]:
    """Each zoocards module and the zoocards modules it imports (the package itself left out)."""
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    return {name: _imports(path, modules) - {name, "zoocards"} for name, path in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected group of modules that import each other (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": set()}, []),  # one direction: no cycle
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),  # two modules importing each other
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),  # a longer loop; d only uses it
    ],
)
def test_cycles_finds_modules_that_import_each_other(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert cycles(graph) == expected


def test_no_module_of_zoocards_is_in_an_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_page_builders_import_in_one_direction() -> None:
    graph = import_graph()
    # pages.py is what every page is made with: it knows none of the page builders.
    assert graph["zoocards.pages"] & {"zoocards.render", "zoocards.views", "zoocards.zoo"} == set()
    assert graph["zoocards.zoo"] & {"zoocards.render", "zoocards.views"} == set()
    assert "zoocards.render" not in graph["zoocards.views"]
    assert {"zoocards.pages", "zoocards.zoo"} <= graph["zoocards.views"]
    assert {"zoocards.pages", "zoocards.views", "zoocards.zoo"} <= graph["zoocards.render"]
