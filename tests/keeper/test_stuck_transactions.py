"""Stuck and lost transactions (docs/SECURITY.md 26): with automine off a transaction sits in the
mempool; the keeper replaces it (same nonce, both fee caps raised by at least 12.5%), and
exactly one execution ever happens. Near its deadline a stuck signal is cancelled instead, so
nothing is sent late."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from web3 import Web3

from cohort.dev.anvil import DevChain
from cohort.vault import Vault
from tests.conftest import Roles
from tests.helpers import SignalBook
from tests.keeper.conftest import anvil_rpc, trade_events, txs_of


@pytest.fixture
def no_automine(chain: DevChain) -> Iterator[DevChain]:
    chain.set_automine(False)
    try:
        yield chain
    finally:
        chain.set_automine(True)


def test_stuck_transaction_is_replaced_with_higher_fees_and_executes_once(
        w3: Web3, funded_vault: Vault, book: SignalBook, roles: Roles, start_keeper,
        no_automine: DevChain) -> None:
    k = start_keeper([funded_vault.address], replace_after_s=0.4, replace_after_blocks=3)
    sent_before = txs_of(w3, roles.keeper)
    signal_id = k.client.post(book.signed("USDC", "WETH", size_bps=500)).json()["id"]

    stuck = k.client.wait_for(signal_id, lambda r: len([t for t in r["transactions"] if t["sent_at"]]) >= 2,
                              what="a replacement broadcast")
    first, second = stuck["transactions"][:2]
    assert stuck["state"] == "submitted"
    assert second["nonce"] == first["nonce"] and second["kind"] == first["kind"] == "signal"
    assert int(second["max_fee"]) * 10_000 >= int(first["max_fee"]) * 11_250
    assert int(second["priority_fee"]) * 10_000 >= int(first["priority_fee"]) * 11_250
    assert w3.eth.get_transaction(second["tx_hash"])["maxFeePerGas"] == int(second["max_fee"])  # the node has it

    no_automine.mine()
    record = k.client.signal(signal_id, wait=30)

    assert record["state"] == "executed", record
    mined = [t for t in record["transactions"] if t["status"] == "mined"]
    assert len(mined) == 1 and mined[0]["tx_hash"] == record["tx_hash"]
    assert mined[0]["id"] != first["id"]  # a replacement, not the original, was mined
    assert all(t["status"] == "replaced" for t in record["transactions"] if t["id"] != mined[0]["id"])
    assert w3.eth.get_transaction_receipt(record["tx_hash"])["status"] == 1
    assert len(trade_events(w3, funded_vault, record["digest"])) == 1  # executed once
    assert txs_of(w3, roles.keeper) == sent_before + 1  # one nonce used, whatever the attempts
    assert 'keeper_transaction_replacements_total{action="replace"}' in k.client.metrics()


def test_transaction_the_node_lost_is_broadcast_again(
        w3: Web3, funded_vault: Vault, book: SignalBook, roles: Roles, start_keeper,
        no_automine: DevChain) -> None:
    k = start_keeper([funded_vault.address], replace_after_s=600, replace_after_blocks=100)
    signal_id = k.client.post(book.signed("USDC", "WETH", size_bps=500)).json()["id"]
    sent = k.client.wait_for(signal_id, lambda r: r["state"] == "submitted", what="broadcast")
    lost = sent["transactions"][0]["tx_hash"]
    anvil_rpc(w3, "anvil_dropTransaction", lost)  # the node forgets it (a restart, an eviction)

    deadline = time.monotonic() + 20
    while w3.eth.get_transaction_count(roles.keeper, "pending") == w3.eth.get_transaction_count(roles.keeper):
        assert time.monotonic() < deadline, "the lost transaction was not broadcast again"
        time.sleep(0.05)
    no_automine.mine()
    record = k.client.signal(signal_id, wait=30)

    assert record["state"] == "executed", record
    assert record["tx_hash"] == lost and len(record["transactions"]) == 1  # the same signed bytes, again
    assert len(trade_events(w3, funded_vault, record["digest"])) == 1


def test_transaction_not_mined_for_n_blocks_is_replaced_above_the_new_base_fee(
        w3: Web3, funded_vault: Vault, book: SignalBook, roles: Roles, start_keeper,
        no_automine: DevChain) -> None:
    k = start_keeper([funded_vault.address], replace_after_s=600, replace_after_blocks=2)
    signal_id = k.client.post(book.signed("USDC", "WETH", size_bps=500)).json()["id"]
    sent = k.client.wait_for(signal_id, lambda r: r["state"] == "submitted", what="broadcast")
    first = sent["transactions"][0]
    spike = 50 * 10**9  # the base fee jumps far above the transaction's max fee: blocks leave it out
    assert int(first["max_fee"]) < spike
    calm = int(w3.eth.get_block("latest")["baseFeePerGas"])
    anvil_rpc(w3, "anvil_setNextBlockBaseFeePerGas", hex(spike))
    try:
        no_automine.mine(2)
        replaced = k.client.wait_for(signal_id, lambda r: len([t for t in r["transactions"] if t["sent_at"]]) >= 2,
                                     what="a replacement after 2 blocks")
        second = replaced["transactions"][-1]
        assert int(second["max_fee"]) >= 2 * w3.eth.get_block("latest")["baseFeePerGas"]
        no_automine.mine()
        record = k.client.signal(signal_id, wait=30)
    finally:
        # the node's fee state outlives the snapshot revert: hand the next test the base fee it had
        anvil_rpc(w3, "anvil_setNextBlockBaseFeePerGas", hex(calm))

    assert record["state"] == "executed", record
    assert record["tx_hash"] == second["tx_hash"] != first["tx_hash"]
    assert len(trade_events(w3, funded_vault, record["digest"])) == 1


def test_signal_stuck_until_its_deadline_is_cancelled_not_sent_late(
        w3: Web3, funded_vault: Vault, book: SignalBook, roles: Roles, start_keeper, chain: DevChain) -> None:
    k = start_keeper([funded_vault.address], replace_after_s=0.4, replace_after_blocks=3, deadline_margin_s=2)
    chain.mine()
    deadline = chain.timestamp() + 5
    signed = book.signed("USDC", "WETH", size_bps=500, deadline=deadline)
    chain.set_automine(False)
    try:
        signal_id = k.client.post(signed).json()["id"]
        pending = k.client.wait_for(signal_id, lambda r: any(t["kind"] == "cancel" for t in r["transactions"]),
                                    timeout=20, what="a cancellation")
        chain.mine()
    finally:
        chain.set_automine(True)
    record = k.client.signal(signal_id, wait=30)

    assert record["state"] == "expired", record
    assert "cancel" in record["detail"]
    cancel = next(t for t in pending["transactions"] if t["kind"] == "cancel")
    calls = [t for t in record["transactions"] if t["kind"] == "signal"]
    assert calls and all(t["id"] < cancel["id"] for t in calls)  # no call is sent after the cancellation
    assert [t["kind"] for t in record["transactions"] if t["status"] == "mined"] == ["cancel"]
    assert not funded_vault.nonce_used(signed.signal.nonce)  # never executed
    assert trade_events(w3, funded_vault, record["digest"]) == []
