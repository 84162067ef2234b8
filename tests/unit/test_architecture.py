"""The shape the code must keep: imports run one way (no cycle, imports inside functions included), one
module chooses the warehouse, and Redshift builds on PostgreSQL, never the other way round."""

import ast
import re
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "sparkify_dwh"


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _exists(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports() -> dict[str, set[str]]:
    """module -> the project modules it imports, wherever in the file the import stands."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        name = _module(path)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("sparkify_dwh")}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    origin = f"{base}.{node.module}" if node.module else base
                elif (node.module or "").startswith("sparkify_dwh"):
                    origin = node.module
                else:
                    continue
                for alias in node.names:
                    target = f"{origin}.{alias.name}"
                    found.add(target if _exists(target) else origin)
        graph[name] = found - {name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle():
    graph = imports()
    assert graph["sparkify_dwh.warehouses.redshift"]  # the walk sees imports
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_a_planted_cycle_is_found():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_redshift_builds_on_postgresql_never_the_other_way():
    graph = imports()
    redshift = {m for m in graph if m.startswith("sparkify_dwh.warehouses.redshift")}
    assert "sparkify_dwh.warehouses.postgres" in graph["sparkify_dwh.warehouses.redshift"]
    for module in ("sparkify_dwh.warehouses.postgres", "sparkify_dwh.warehouses.base"):
        assert not graph[module] & redshift
    shared = [m for m in graph if not m.startswith("sparkify_dwh.warehouses") and m != "sparkify_dwh.bench"]
    for module in shared:  # the shared load knows warehouses only through their interface
        assert not graph[module] & (redshift | {"sparkify_dwh.warehouses.postgres"}), module


def test_one_module_chooses_the_warehouse():
    choosing = re.compile(r"\.warehouse\s*(==|!=|in\b)|warehouse\s*==")
    found = [str(p.relative_to(ROOT)) for p in list(PACKAGE.rglob("*.py")) + list((ROOT / "bin").iterdir())
             if p.is_file() and choosing.search(p.read_text(encoding="utf-8"))]
    assert found == ["sparkify_dwh/warehouses/__init__.py"]
