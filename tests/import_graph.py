"""The import graph of one of the project's packages, read from the source (no imports run),
and a cycle finder: the one home of the tests that imports run one way."""

from __future__ import annotations

import ast
from pathlib import Path

from cohort.artifacts import REPO_ROOT


def modules(package: str) -> dict[str, Path]:
    """Every module of `package` (a top-level folder of the repo) by dotted name."""
    found = {}
    for path in (REPO_ROOT / package).rglob("*.py"):
        parts = path.relative_to(REPO_ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def graph(package: str) -> dict[str, set[str]]:
    """Each module of `package` and the modules of `package` it imports, anywhere in the file
    (TYPE_CHECKING blocks and function bodies too). `from pkg import x` counts as pkg.x when x
    is a module, as pkg otherwise."""
    mods = modules(package)
    edges: dict[str, set[str]] = {}
    for name, path in mods.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here.split(".")[:len(here.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in node.names:
                    targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in mods else base)
        edges[name] = {t for t in targets if t in mods and t != name}
    return edges


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the list of modules around it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start)):
            return found
    return None
