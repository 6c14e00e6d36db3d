"""The `cohort` package's parts import one way: the CLI uses the devnet tooling and the SDK, the
devnet tooling uses the SDK, and the SDK uses neither; no module imports itself in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

from cohort.artifacts import REPO_ROOT

PACKAGE = REPO_ROOT / "cohort"


def _module(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Each module of `cohort` and the `cohort` modules it imports (at any depth of the file)."""
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cohort"):
                for alias in node.names:  # `from cohort import devnet` imports the module cohort.devnet
                    sub = f"{node.module}.{alias.name}"
                    found.add(sub if sub in modules else node.module)
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("cohort")}
        graph[name] = found - {name}
    return graph


def _part(module: str) -> str:
    for part in ("cohort.cli", "cohort.dev"):
        if module == part or module.startswith(part + "."):
            return part
    return "sdk"


ALLOWED = {"sdk": {"sdk"}, "cohort.dev": {"sdk", "cohort.dev"}, "cohort.cli": {"sdk", "cohort.dev", "cohort.cli"}}


def test_the_sdk_imports_neither_devnet_tooling_nor_the_cli() -> None:
    wrong = sorted(f"{m} imports {d}" for m, deps in _imports().items() for d in deps
                   if _part(d) not in ALLOWED[_part(m)])
    assert wrong == []


def test_no_module_of_cohort_imports_itself_through_others() -> None:
    graph = _imports()
    edges = {m: {d for d in deps if d in graph} for m, deps in graph.items()}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(edges[node]):
            if nxt in path:
                cycles.append([*path[path.index(nxt):], nxt])
            elif nxt not in done:
                visit(nxt, [*path, nxt])
        done.add(node)

    done: set[str] = set()
    for start in sorted(edges):
        if start not in done:
            visit(start, [start])
    assert cycles == []
