"""`cohort-keeper submit | list | status` against a running keeper and its store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from keeper.cli import main as keeper_cli
from tests.helpers import SignalBook


def test_cli_submits_lists_and_shows_signals(tmp_path: Path, book: SignalBook, start_keeper,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cli-keeper.db"
    k = start_keeper([book.vault.address], db_path=db)
    monkeypatch.setenv("KEEPER_DB_PATH", str(db))
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(book.signed("USDC", "WETH", size_bps=200).to_json())
    bad.write_text(json.dumps({"vault": book.vault.address}))

    assert keeper_cli(["submit", str(good), "--url", k.client.url, "--wait", "30"]) == 0
    executed = json.loads(capsys.readouterr().out)
    assert executed["state"] == "executed" and executed["transactions"]
    assert keeper_cli(["submit", str(bad), "--url", k.client.url]) == 1
    refused = json.loads(capsys.readouterr().out)
    assert refused["error"] == "invalid_signal"

    assert keeper_cli(["list"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:2] == ["id", "state"]
    assert any(" executed " in row for row in table) and any("invalid_signal:" in row for row in table)
    assert keeper_cli(["list", "--state", "rejected", "--json"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == [refused["id"]]
    assert keeper_cli(["status", str(executed["id"])]) == 0
    assert json.loads(capsys.readouterr().out)["tx_hash"] == executed["tx_hash"]
    assert keeper_cli(["status", "999"]) == 1


def test_cli_says_when_the_keeper_cannot_be_reached(tmp_path: Path, book: SignalBook,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    signal_file = tmp_path / "s.json"
    signal_file.write_text(book.signed().to_json())
    assert keeper_cli(["submit", str(signal_file), "--url", "http://127.0.0.1:9"]) == 2
    assert "--direct" in capsys.readouterr().err
