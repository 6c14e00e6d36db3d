"""Imports in `api` run one way: no module imports itself back, and the read side (services
and routes) never loads the indexer's writer."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import api

ROOT = Path(api.__file__).parent
WRITER = ("api.indexer.runner", "api.indexer.store")


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = ("api", *path.relative_to(ROOT).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The api modules `name` imports, anywhere in it: `from pkg import x` counts as pkg.x when
    x is a module, as pkg otherwise."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {t for t in targets if t in modules and t != name}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the list of modules around it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_no_module_in_api_imports_itself_back() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert "api.rows" in graph["api.services.context"]  # the graph sees the imports
    assert _cycle(graph) is None


def test_the_services_and_routes_load_without_the_indexer_writer() -> None:
    read_side = sorted(m for m in _modules() if m.startswith(("api.services.", "api.routes.")))
    script = "; ".join([f"import {m}" for m in read_side] + [
        "import sys", f"print(sorted(m for m in {WRITER!r} if m in sys.modules))"])
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
