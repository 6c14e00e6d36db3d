"""`cohort-api`: index once, reconcile, rebuild the projections, print the OpenAPI document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli import main
from cohort.dev.stack import Anvil
from tests.api.scenario import Scenario


def test_the_command_line_indexes_reconciles_and_rebuilds(scenario: Scenario, anvil: Anvil, manifest_path: Path,
                                                          sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--rpc-url", anvil.rpc_url, "--database-url", sqlite_url, "--manifest", str(manifest_path)]
    assert main([*base, "migrate"]) == 0
    assert main([*base, "index", "--once"]) == 0
    assert "indexed blocks" in capsys.readouterr().err
    assert main([*base, "reconcile", scenario.vault.address]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["differences"] == [] and report["accounts_checked"] >= 6
    assert main([*base, "rebuild"]) == 0
    assert main([*base, "reconcile", scenario.vault.address.lower()]) == 0
    assert json.loads(capsys.readouterr().out)["ok"]


def test_the_command_line_prints_the_openapi_document(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--database-url", sqlite_url, "--rpc-url", "http://127.0.0.1:9", "openapi"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["info"]["title"] == "Cohort API"
    assert {"/vaults/{vault}/investors/{investor}", "/vaults/{vault}/accounts", "/vaults/{vault}/events.csv",
            "/vaults/{vault}/reconciliation", "/investors/{investor}", "/health"} <= set(document["paths"])
