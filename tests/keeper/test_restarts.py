"""Restarts (docs/SECURITY.md 26): a keeper killed mid-flight, an RPC node stopped and restarted, a
graceful stop, a signal stored while no keeper ran. Nothing accepted is lost and nothing is
executed twice."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from web3 import Web3

from cohort import protocol
from cohort.accounts import dev_account
from cohort.dev import devnet
from cohort.dev.anvil import DevChain
from cohort.dev.stack import Anvil
from cohort.vault import Vault
from keeper.cli import main as keeper_cli
from keeper.store import Store
from tests.conftest import Roles
from tests.helpers import SignalBook, deposit
from tests.keeper.conftest import KeeperClient, keeper_key, trade_events, txs_of


def _wait_health(client: KeeperClient, status: str, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            body = client.health()[1]
            if body["status"] == status:
                return body
        except httpx.HTTPError:
            body = {}
        assert time.monotonic() < deadline, f"keeper health never became {status}: {body}"
        time.sleep(0.05)


def test_keeper_killed_after_broadcast_finishes_without_a_second_execution(
        w3: Web3, chain: DevChain, funded_vault: Vault, book: SignalBook, roles: Roles, process_keeper) -> None:
    pk = process_keeper([funded_vault.address])
    client = pk.start()
    sent_before = txs_of(w3, roles.keeper)
    chain.set_automine(False)
    try:
        signal_id = client.post(book.signed("USDC", "WETH", size_bps=500)).json()["id"]
        broadcast = client.wait_for(signal_id, lambda r: r["state"] == "submitted", what="broadcast")
        pk.kill()  # SIGKILL after the broadcast, before any receipt is recorded
        chain.mine()  # the transaction is mined while no keeper runs
    finally:
        chain.set_automine(True)

    client = pk.start()
    record = client.signal(signal_id, wait=30)

    assert record["state"] == "executed", record
    assert record["tx_hash"] == broadcast["transactions"][0]["tx_hash"]
    assert len(record["transactions"]) == 1  # the restarted keeper sent nothing new
    assert txs_of(w3, roles.keeper) == sent_before + 1
    assert len(trade_events(w3, funded_vault, record["digest"])) == 1


def test_keeper_killed_with_its_transaction_pending_watches_it_after_restart(
        w3: Web3, chain: DevChain, funded_vault: Vault, book: SignalBook, roles: Roles, process_keeper) -> None:
    pk = process_keeper([funded_vault.address], replace_after_s=600)
    client = pk.start()
    sent_before = txs_of(w3, roles.keeper)
    chain.set_automine(False)
    try:
        signal_id = client.post(book.signed("USDC", "WETH", size_bps=500)).json()["id"]
        client.wait_for(signal_id, lambda r: r["state"] == "submitted", what="broadcast")
        pk.kill()
        client = pk.start()  # still pending: the keeper must settle it, not send it again
        time.sleep(0.5)
        assert w3.eth.get_transaction_count(roles.keeper, "pending") == sent_before + 1
        chain.mine()
    finally:
        chain.set_automine(True)
    record = client.signal(signal_id, wait=30)

    assert record["state"] == "executed", record
    assert len(record["transactions"]) == 1
    assert txs_of(w3, roles.keeper) == sent_before + 1
    assert len(trade_events(w3, funded_vault, record["digest"])) == 1


def test_sigterm_stops_the_keeper_gracefully_with_json_logs_and_no_secret(
        funded_vault: Vault, book: SignalBook, process_keeper) -> None:
    pk = process_keeper([funded_vault.address])
    client = pk.start()
    signal_id = client.post(book.signed("USDC", "WETH", size_bps=200)).json()["id"]
    assert client.signal(signal_id, wait=30)["state"] == "executed"
    started = time.monotonic()
    assert pk.terminate() == 0
    assert time.monotonic() - started < 10
    lines = [json.loads(line) for line in pk.log_path.read_text().splitlines() if line.startswith("{")]
    messages = [line["msg"] for line in lines]
    assert "keeper running" in messages and messages[-1] == "keeper stopped"
    assert any(line.get("signal_id") == signal_id and line["msg"].startswith("signal executed") for line in lines)
    key = keeper_key()
    text = pk.log_path.read_text()
    assert key not in text and key[2:] not in text


def test_signal_stored_by_the_cli_while_no_keeper_runs_is_executed_at_start(
        tmp_path: Path, w3: Web3, funded_vault: Vault, book: SignalBook, start_keeper, anvil: Anvil,
        monkeypatch, capsys) -> None:
    db = tmp_path / "cli.db"
    signal_file = tmp_path / "signal.json"
    signal_file.write_text(book.signed("USDC", "WETH", size_bps=200).to_json())
    for key in ("KEEPER_PRIVATE_KEY", "KEEPER_VAULTS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("KEEPER_DB_PATH", str(db))
    monkeypatch.setenv("KEEPER_VAULTS", funded_vault.address)

    assert keeper_cli(["submit", str(signal_file), "--direct"]) == 0
    stored = json.loads(capsys.readouterr().out)
    assert stored["state"] == "received"

    k = start_keeper([funded_vault.address], db_path=db)
    record = k.client.signal(stored["id"], wait=30)
    assert record["state"] == "executed" and record["source"] == "cli"
    assert len(trade_events(w3, funded_vault, record["digest"])) == 1


def test_anvil_stopped_and_restarted_while_signals_are_queued(tmp_path: Path, start_keeper) -> None:
    node = Anvil(state_path=tmp_path / "state.json", log_path=tmp_path / "anvil.log")
    w3 = node.start()
    try:
        path = tmp_path / "local.json"
        m = protocol.ensure_protocol(w3, devnet.bootstrap(w3, path, rpc_url=node.rpc_url), path)
        accounts = DevChain(w3).dev_accounts()
        keeper, manager = accounts[2], dev_account(5)
        vault = protocol.create_vault(w3, m, protocol.VaultConfig(), label="restart", owner=accounts[1],
                                      manager=manager.address, guardian=accounts[3], fee_recipient=accounts[4],
                                      keepers=[keeper], sender=accounts[1])
        deposit(w3, m, vault, accounts[7], 100_000 * 10**6)
        book = SignalBook(vault, m, manager)
        k = start_keeper([vault.address], rpc_url=node.rpc_url, retry_limit=100, retry_delay_s=0.1)
        warmup = k.client.post(book.signed("USDC", "WETH", size_bps=200)).json()["id"]
        assert k.client.signal(warmup, wait=30)["state"] == "executed"

        DevChain(w3).set_automine(False)
        in_flight = k.client.post(book.signed("USDC", "WETH", size_bps=200)).json()["id"]
        k.client.wait_for(in_flight, lambda r: r["state"] == "submitted", what="broadcast")
        node.stop()  # the node goes away with a transaction in its mempool
        down = _wait_health(k.client, "rpc_down")
        assert down["rpc"]["up"] is False and down["rpc"]["last_error"]

        queued = [k.client.post(book.signed("USDC", "WETH", size_bps=200)) for _ in range(3)]
        assert [q.status_code for q in queued] == [202, 202, 202]
        assert all(q.json()["state"] == "received" and q.json()["verified"] is False for q in queued)

        # Same port, same --state: the chain is back (its mempool is not). anvil's --state keeps
        # the blocks but not the clock offset the devnet's oracle history added, so the node
        # comes back without mining until its clock is put back past the last block.
        node.extra_args = ("--no-mining",)
        w3 = node.start()
        restarted = DevChain(w3)
        restarted.increase_time(max(0, restarted.timestamp() - int(time.time())) + 1, mine=False)
        restarted.set_automine(True)
        ids = [in_flight] + [q.json()["id"] for q in queued]
        records = [k.client.signal(i, wait=60) for i in ids]
        assert [r["state"] for r in records] == ["executed"] * 4, records
        vault = Vault(w3, vault.address)
        for record in records:
            assert len(trade_events(w3, vault, record["digest"])) == 1
        _wait_health(k.client, "ok")
        k.stop()
        store = Store(tmp_path / "keeper0.db")
        try:
            executed = [r for r in store.list_signals(state="executed")]
        finally:
            store.close()
        assert len(executed) == 5
    finally:
        node.stop()
