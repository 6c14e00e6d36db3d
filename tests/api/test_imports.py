"""Imports in `api` run one way: no module imports itself back, and the read side (services
and routes) never loads the indexer's writer."""

from __future__ import annotations

import subprocess
import sys

from tests import import_graph

WRITER = ("api.indexer.runner", "api.indexer.store")


def test_the_graph_sees_the_api_imports() -> None:  # the cycle check itself is in tests/test_layers.py
    assert "api.rows" in import_graph.graph("api")["api.services.context"]


def test_the_services_and_routes_load_without_the_indexer_writer() -> None:
    read_side = sorted(m for m in import_graph.modules("api") if m.startswith(("api.services.", "api.routes.")))
    script = "; ".join([f"import {m}" for m in read_side] + [
        "import sys", f"print(sorted(m for m in {WRITER!r} if m in sys.modules))"])
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
