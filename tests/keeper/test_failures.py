"""Failures (docs/SECURITY.md 26): repeated failures open the circuit breaker, which stops sending and
says why; a signal that cannot be sent before its deadline expires unsent; a simulation revert
is reported by the vault's error name; two keepers racing one signal are harmless."""

from __future__ import annotations

import time

from web3 import Web3

from cohort import protocol
from cohort.accounts import dev_account
from cohort.dev.anvil import DevChain
from cohort.tx import transact
from cohort.vault import Vault
from keeper import policy
from tests.conftest import Roles
from tests.helpers import SignalBook, deposit
from tests.keeper.conftest import (
    KEEPER_INDEX,
    SECOND_KEEPER_INDEX,
    keeper_key,
    trade_events,
    txs_of,
)

UNFUNDED = 25  # anvil funds dev accounts 0-19 only
TOKEN = "s3cret-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


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
                     breaker_cooldown_s=0, retry_delay_s=0.05, admin_token=TOKEN)

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
    reset = k.client.http.post("/breaker/reset", headers=ADMIN)
    assert reset.status_code == 200 and reset.json()["breaker"]["open"] is False
    for signal_id in (first, second):
        assert k.client.signal(signal_id, wait=30)["state"] == "executed"
    assert k.client.health()[0] == 200


def test_breaker_reset_needs_the_admin_token_when_one_is_set(book: SignalBook, start_keeper) -> None:
    k = start_keeper([book.vault.address], admin_token=TOKEN)
    assert k.client.http.post("/breaker/reset").status_code == 401
    wrong = k.client.http.post("/breaker/reset", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "unauthorized"
    ok = k.client.http.post("/breaker/reset", headers=ADMIN)
    assert ok.status_code == 200


def test_breaker_reset_is_refused_when_no_admin_token_is_configured(book: SignalBook, start_keeper) -> None:
    k = start_keeper([book.vault.address])
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Bearer anything"}):
        refused = k.client.http.post("/breaker/reset", headers=headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "reset_disabled" and "admin_token" in refused.json()["detail"]


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


def test_two_keepers_given_one_signal_send_one_transaction_between_them(
        w3: Web3, chain: DevChain, deployment, roles: Roles, start_keeper) -> None:
    second = dev_account(SECOND_KEEPER_INDEX)
    vault = _vault_with_keepers(w3, deployment, roles, "keeper-race", [roles.keeper, second.address])
    book = SignalBook(vault, deployment, roles.manager)
    a = start_keeper([vault.address], claim_slot_s=0.3)
    b = start_keeper([vault.address], private_key=keeper_key(SECOND_KEEPER_INDEX), claim_slot_s=0.3)
    signed = book.signed("USDC", "WETH", size_bps=500)
    sent_before = txs_of(w3, roles.keeper) + txs_of(w3, second.address)

    chain.set_automine(False)  # blocks only when the test mines: the first transaction stays pending
    try:
        ids = [a.client.post(signed).json()["id"], b.client.post(signed).json()["id"]]
        clients = (a.client, b.client)
        deadline = time.monotonic() + 30
        while True:  # one keeper has sent; the other saw its transaction in the pending block
            records = [c.signal(i) for c, i in zip(clients, ids, strict=True)]
            if sorted((r["state"], r["reason"] or "") for r in records) == [("submitted", ""),
                                                                            ("verified", "pending_elsewhere")]:
                break
            assert time.monotonic() < deadline, records
            time.sleep(0.05)
        chain.mine()
    finally:
        chain.set_automine(True)
    records = [a.client.signal(ids[0], wait=30), b.client.signal(ids[1], wait=30)]

    assert sorted(r["state"] for r in records) == ["executed", "executed_by_other"]
    winner = next(r for r in records if r["state"] == "executed")
    loser = next(r for r in records if r["state"] == "executed_by_other")
    assert loser["tx_hash"] == winner["tx_hash"] and loser["executed_by"] == winner["executed_by"]
    assert len(winner["transactions"]) == 1 and loser["transactions"] == []
    assert txs_of(w3, roles.keeper) + txs_of(w3, second.address) == sent_before + 1  # no gas burnt on a revert
    events = trade_events(w3, vault, winner["digest"])
    assert len(events) == 1 and events[0]["args"]["keeper"] == winner["executed_by"]
    for client in (a.client, b.client):
        assert client.health()[1]["breaker"]["failures"] == 0


def test_the_second_in_line_sends_after_its_slot_when_the_first_never_does(
        w3: Web3, deployment, roles: Roles, start_keeper) -> None:
    second = dev_account(SECOND_KEEPER_INDEX)
    vault = _vault_with_keepers(w3, deployment, roles, "keeper-turns", [roles.keeper, second.address])
    book = SignalBook(vault, deployment, roles.manager)
    signed = book.signed("USDC", "WETH", size_bps=500)
    keepers = [roles.keeper, second.address]
    follower = next(k for k in keepers if policy.relay_rank(signed.digest, k, keepers) == 1)
    index = SECOND_KEEPER_INDEX if follower == second.address else KEEPER_INDEX
    k = start_keeper([vault.address], private_key=keeper_key(index), claim_slot_s=0.5)  # the first is down

    signal_id = k.client.post(signed).json()["id"]
    waiting = k.client.wait_for(signal_id, lambda r: r["reason"] is not None or r["state"] != "verified")
    record = k.client.signal(signal_id, wait=30)

    assert waiting["reason"] == "waiting_turn" and "1 other keeper" in waiting["detail"]
    assert record["state"] == "executed" and record["executed_by"] == follower
    assert record["broadcast_at"] - record["received_at"] >= 0.5


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
