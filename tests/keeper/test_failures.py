"""Failures (docs/SECURITY.md 26): repeated failures open the circuit breaker, which stops sending and
says why; a signal that cannot be sent before its deadline expires unsent; a simulation revert
is reported by the vault's error name; two keepers racing one signal are harmless."""

from __future__ import annotations

import time

from web3 import Web3

from cohort import protocol
from cohort.accounts import dev_account
from cohort.chain import DevChain
from cohort.tx import transact
from cohort.vault import Vault
from tests.conftest import Roles
from tests.helpers import SignalBook, deposit
from tests.keeper.conftest import SECOND_KEEPER_INDEX, keeper_key, trade_events, txs_of

UNFUNDED = 25  # anvil funds dev accounts 0-19 only


def _vault_with_keepers(w3: Web3, deployment, roles: Roles, label: str, keepers: list[str]) -> Vault:
    vault = protocol.create_vault(w3, deployment, protocol.VaultConfig(), label=label, owner=roles.owner,
                                  manager=roles.manager.address, guardian=roles.guardian,
                                  fee_recipient=roles.fee_recipient, keepers=keepers, sender=roles.owner)
    deposit(w3, deployment, vault, roles.investors[2], 50_000 * 10**6)
    return vault


def test_repeated_failures_open_the_breaker_which_stops_sending_and_says_why(
        w3: Web3, chain: DevChain, deployment, roles: Roles, start_keeper) -> None:
    poor = dev_account(UNFUNDED)
    assert w3.eth.get_balance(poor.address) == 0
    vault = _vault_with_keepers(w3, deployment, roles, "keeper-breaker", [poor.address])
    book = SignalBook(vault, deployment, roles.manager)
    k = start_keeper([vault.address], private_key=keeper_key(UNFUNDED), breaker_threshold=3,
                     breaker_cooldown_s=0, retry_delay_s=0.05)

    first = k.client.post(book.signed("USDC", "WETH", size_bps=300)).json()["id"]
    deadline = time.monotonic() + 20
    while (status_health := k.client.health())[1]["status"] != "breaker_open":
        assert time.monotonic() < deadline, status_health
        time.sleep(0.05)
    status, health = status_health
    assert status == 503
    assert health["breaker"]["open"] is True and health["breaker"]["failures"] >= 3
    assert "insufficient funds" in health["breaker"]["reason"].lower()
    assert "keeper_breaker_open 1.0" in k.client.metrics()

    waiting = k.client.wait_for(first, lambda r: r["reason"] == "breaker_open", what="parked by the breaker")
    assert waiting["state"] == "verified" and "insufficient funds" in waiting["detail"].lower()
    second = k.client.post(book.signed("USDC", "WETH", size_bps=300)).json()["id"]
    time.sleep(0.5)
    assert k.client.signal(second)["state"] == "verified"  # accepted, queued, not sent while open
    assert k.client.signal(second)["transactions"] == []
    assert all(t["status"] == "refused" for t in k.client.signal(first)["transactions"])
    assert w3.eth.get_transaction_count(poor.address, "pending") == 0

    chain.set_balance(poor.address, 10**20)  # the operator fixes the cause, then resets
    reset = k.client.http.post("/breaker/reset")
    assert reset.status_code == 200 and reset.json()["breaker"]["open"] is False
    for signal_id in (first, second):
        assert k.client.signal(signal_id, wait=30)["state"] == "executed"
    assert k.client.health()[0] == 200


def test_breaker_reset_needs_the_admin_token_when_one_is_set(book: SignalBook, start_keeper) -> None:
    k = start_keeper([book.vault.address], admin_token="s3cret-token")
    assert k.client.http.post("/breaker/reset").status_code == 401
    ok = k.client.http.post("/breaker/reset", headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200


def test_signal_that_cannot_be_sent_before_its_deadline_expires_unsent(
        w3: Web3, chain: DevChain, book: SignalBook, roles: Roles, start_keeper) -> None:
    transact(book.vault.fn.setPaused(True), roles.guardian)  # simulation: CohortPaused, retried
    k = start_keeper([book.vault.address], retry_limit=1000, retry_delay_s=0.1, deadline_margin_s=1)
    sent_before = txs_of(w3, roles.keeper)
    chain.mine()
    signed = book.signed("USDC", "WETH", size_bps=300, deadline=chain.timestamp() + 4)
    signal_id = k.client.post(signed).json()["id"]

    retrying = k.client.wait_for(signal_id, lambda r: r["retries"] > 0, what="a retry")
    assert "CohortPaused" in retrying["detail"]
    record = k.client.signal(signal_id, wait=30)

    assert record["state"] == "expired", record
    assert "never sent" in record["detail"]
    assert record["transactions"] == []
    assert txs_of(w3, roles.keeper) == sent_before
    assert not book.vault.nonce_used(signed.signal.nonce)


def test_signal_the_vault_can_never_execute_fails_with_the_error_name(book: SignalBook, deployment,
                                                                      start_keeper) -> None:
    k = start_keeper([book.vault.address])
    too_loose = book.signed("USDC", "WETH", size_bps=300, slippage_bps=5000)  # vault allows 100 bps
    record = k.client.signal(k.client.post(too_loose).json()["id"], wait=30)
    assert record["state"] == "failed"
    assert record["reason"] == "simulation_reverted" and "CohortSlippageOutOfRange" in record["detail"]
    assert record["transactions"] == []


def test_two_keepers_racing_one_signal_execute_it_once(
        w3: Web3, chain: DevChain, deployment, roles: Roles, start_keeper) -> None:
    second = dev_account(SECOND_KEEPER_INDEX)
    vault = _vault_with_keepers(w3, deployment, roles, "keeper-race", [roles.keeper, second.address])
    book = SignalBook(vault, deployment, roles.manager)
    a = start_keeper([vault.address])
    b = start_keeper([vault.address], private_key=keeper_key(SECOND_KEEPER_INDEX))
    signed = book.signed("USDC", "WETH", size_bps=500)

    chain.set_automine(False)
    try:
        ids = [a.client.post(signed).json()["id"], b.client.post(signed).json()["id"]]
        for client, signal_id in zip((a.client, b.client), ids, strict=True):
            client.wait_for(signal_id, lambda r: r["state"] == "submitted", what="broadcast")
        chain.mine()  # both transactions in one block: one executes, the other reverts
    finally:
        chain.set_automine(True)
    records = [a.client.signal(ids[0], wait=30), b.client.signal(ids[1], wait=30)]

    assert sorted(r["state"] for r in records) == ["executed", "executed_by_other"]
    winner = next(r for r in records if r["state"] == "executed")
    loser = next(r for r in records if r["state"] == "executed_by_other")
    assert loser["tx_hash"] == winner["tx_hash"] and loser["executed_by"] == winner["executed_by"]
    assert winner["executed_by"] in (roles.keeper, second.address)
    events = trade_events(w3, vault, winner["digest"])
    assert len(events) == 1 and events[0]["args"]["keeper"] == winner["executed_by"]
    # losing a race is not a failure: neither breaker counted it
    for client in (a.client, b.client):
        assert client.health()[1]["breaker"]["failures"] == 0


def test_second_keeper_that_gets_an_executed_signal_refuses_it(w3: Web3, deployment, roles: Roles,
                                                                start_keeper) -> None:
    second = dev_account(SECOND_KEEPER_INDEX)
    vault = _vault_with_keepers(w3, deployment, roles, "keeper-late", [roles.keeper, second.address])
    book = SignalBook(vault, deployment, roles.manager)
    a = start_keeper([vault.address])
    b = start_keeper([vault.address], private_key=keeper_key(SECOND_KEEPER_INDEX))
    signed = book.signed("USDC", "WETH", size_bps=500)
    assert a.client.signal(a.client.post(signed).json()["id"], wait=30)["state"] == "executed"
    late = b.client.post(signed)
    assert late.status_code == 409 and late.json()["error"] == "nonce_used"
