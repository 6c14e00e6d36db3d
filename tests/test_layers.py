"""Imports run one way. In `cohort`, the CLI uses the devnet tooling and the SDK, the devnet
tooling uses the SDK, and the SDK uses neither; in `cohort`, `keeper` and `api`, no module
imports itself back through others (TYPE_CHECKING imports included)."""

from __future__ import annotations

import pytest

from tests import import_graph


def _part(module: str) -> str:
    for part in ("cohort.cli", "cohort.dev"):
        if module == part or module.startswith(part + "."):
            return part
    return "sdk"


ALLOWED = {"sdk": {"sdk"}, "cohort.dev": {"sdk", "cohort.dev"}, "cohort.cli": {"sdk", "cohort.dev", "cohort.cli"}}


def test_the_sdk_imports_neither_devnet_tooling_nor_the_cli() -> None:
    edges = import_graph.graph("cohort")
    assert "cohort.dev.devnet" in edges["cohort.cli.dev"]  # the graph sees the imports
    wrong = sorted(f"{m} imports {d}" for m, deps in edges.items() for d in deps
                   if _part(d) not in ALLOWED[_part(m)])
    assert wrong == []


@pytest.mark.parametrize("package", ["cohort", "keeper", "api"])
def test_no_module_imports_itself_back(package: str) -> None:
    assert import_graph.cycle(import_graph.graph(package)) is None


def test_the_cycle_finder_finds_one() -> None:
    assert import_graph.cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
