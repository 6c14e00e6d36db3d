"""The store (SQLite in WAL mode, write-ahead records that survive a reopen), the settings
(TOML file, KEEPER_* env vars over it) and the logs (JSON lines, secrets redacted)."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from keeper.cli import main as keeper_cli
from keeper.errors import ConfigError
from keeper.logs import setup_logging
from keeper.policy import SignalState
from keeper.settings import load_settings
from keeper.store import NewTx, Store
from tests.keeper.conftest import keeper_key

VAULT = "0x" + "12" * 20


def test_store_is_wal_and_keeps_signals_and_transactions_across_a_reopen(tmp_path: Path) -> None:
    store = Store(tmp_path / "k.db")
    assert store.journal_mode() == "wal"
    signal_id = store.insert_signal(payload="{}", source="http", state=SignalState.VERIFIED, received_at=1.0,
                                    digest="0xd1", vault=VAULT, nonce=7, deadline=10)
    tx = store.insert_tx(NewTx(kind="signal", sender="0xme", nonce=3, tx_hash="0xh1", raw="0x02", to_address=VAULT,
                               data="0x", gas_limit=21_000, max_fee=2, priority_fee=1, signal_id=signal_id),
                         signal_state=SignalState.SIMULATED)
    store.close()

    reopened = Store(tmp_path / "k.db")
    assert reopened.get(signal_id).state == "simulated"  # type: ignore[union-attr]
    assert [t.tx_hash for t in reopened.open_txs("0xme")] == ["0xh1"]  # in flight: reconciled at start
    reopened.mark_broadcast(tx.id, sent_at=2.0, sent_block=5)
    assert reopened.get(signal_id).state == "submitted"  # type: ignore[union-attr]
    reopened.record_mined(tx.id, block=6, status=1, gas_used=100, effective_gas_price=3)
    assert reopened.open_txs("0xme") == []
    assert reopened.find_accepted("0xd1").id == signal_id  # type: ignore[union-attr]
    reopened.close()


def test_rejected_submissions_are_recorded_but_never_count_as_accepted(tmp_path: Path) -> None:
    store = Store(tmp_path / "k.db")
    store.insert_signal(payload="x", source="http", state=SignalState.REJECTED, received_at=1.0, digest="0xd2",
                        reason="bad_signature", detail="no")
    assert store.find_accepted("0xd2") is None
    assert store.counts_by_state() == {"rejected": 1}
    store.close()


def test_env_vars_override_the_toml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "keeper.toml"
    config.write_text(f'[keeper]\nrpc_url = "http://file:1"\nport = 9000\nvaults = ["{VAULT}"]\n')
    monkeypatch.setenv("KEEPER_PORT", "9100")
    monkeypatch.setenv("KEEPER_PRIVATE_KEY", keeper_key())
    settings = load_settings(config)
    assert settings.rpc_url == "http://file:1" and settings.port == 9100
    assert settings.vault_addresses() == [VAULT]
    assert settings.load_account().address == "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def test_vault_list_from_env_may_be_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    other = "0x" + "34" * 20
    monkeypatch.setenv("KEEPER_VAULTS", f"{VAULT}, {other}")
    assert len(load_settings().vault_addresses()) == 2


def test_bad_settings_are_refused_with_a_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEEPER_PRIVATE_KEY", raising=False)
    with pytest.raises(ConfigError, match="fee_bump_bps"):
        load_settings(None, fee_bump_bps=500)
    with pytest.raises(ConfigError, match="exactly one"):
        load_settings(None).load_account()
    with pytest.raises(ConfigError, match="no vaults"):
        load_settings(None).vault_addresses()
    bad = tmp_path / "bad.toml"
    bad.write_text("port = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad)


def test_private_key_never_shows_in_repr_dump_or_logs(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    key = keeper_key()
    monkeypatch.setenv("KEEPER_PRIVATE_KEY", key)
    settings = load_settings(None, admin_token="admin-secret-1")
    assert key not in repr(settings) and key not in str(settings.model_dump())
    assert "admin-secret-1" not in repr(settings)
    stream = io.StringIO()
    logger = logging.getLogger("keeper")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    try:
        setup_logging(level="INFO", secrets=settings.secrets(), stream=stream)
        logging.getLogger("keeper.test").info("oops %s", key, extra={"token": "admin-secret-1", "raw": key[2:]})
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["msg"] == "oops ***" and line["token"] == "***" and line["raw"] == "***"
    assert line["level"] == "info" and line["logger"] == "keeper.test" and "ts" in line
    assert keeper_cli(["config"]) == 0
    out = capsys.readouterr().out
    assert key not in out and '"private_key": "**********"' in out
