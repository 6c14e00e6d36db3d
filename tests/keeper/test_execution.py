"""A signed signal posted over HTTP is verified, stored, simulated, sent and executed on
Uniswap, and everything about it is visible: on-chain, in GET /signals, in /metrics."""

from __future__ import annotations

from web3 import Web3

from cohort.accounts import dev_account
from cohort.vault import Vault
from tests.conftest import Roles, make_vault
from tests.helpers import SignalBook, deposit
from tests.keeper.conftest import anvil_rpc, trade_events


def test_posted_signal_is_executed_on_uniswap_and_visible_on_chain(w3: Web3, deployment, funded_vault: Vault,
                                                                   book: SignalBook, roles: Roles,
                                                                   start_keeper) -> None:
    weth = deployment.token("WETH").address
    assert funded_vault.holdings(weth) == 0
    k = start_keeper([funded_vault.address])
    signed = book.signed("USDC", "WETH", size_bps=1000)

    answer = k.client.post(signed)
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["digest"] == "0x" + signed.digest.hex()
    assert body["state"] == "verified"

    record = k.client.signal(body["id"], wait=30)
    assert record["state"] == "executed", record
    assert record["executed_by"] == roles.keeper
    # on-chain: exactly one TradeExecuted for this digest, by this keeper, in the recorded tx
    events = trade_events(w3, funded_vault, body["digest"])
    assert len(events) == 1
    assert events[0]["args"]["keeper"] == roles.keeper
    assert events[0]["transactionHash"].to_0x_hex() == record["tx_hash"]
    assert funded_vault.holdings(weth) > 0  # USDC was swapped for WETH on Uniswap V3
    assert funded_vault.nonce_used(signed.signal.nonce)
    receipt = w3.eth.get_transaction_receipt(record["tx_hash"])
    assert receipt["status"] == 1 and receipt["from"] == roles.keeper
    assert record["gas_used"] == receipt["gasUsed"]
    assert [t["status"] for t in record["transactions"]] == ["mined"]
    assert record["broadcast_at"] >= record["received_at"]


def test_resubmitting_an_accepted_signal_returns_the_same_record(funded_vault: Vault, book: SignalBook,
                                                                 start_keeper) -> None:
    k = start_keeper([funded_vault.address])
    signed = book.signed("USDC", "WETH", size_bps=500)
    first = k.client.post(signed).json()
    k.client.signal(first["id"], wait=30)
    again = k.client.post(signed)
    assert again.status_code == 200
    assert again.json()["id"] == first["id"] and again.json()["duplicate"] is True


def test_signals_for_several_vaults_are_executed_in_parallel(w3: Web3, deployment, funded_vault: Vault,
                                                            roles: Roles, start_keeper) -> None:
    other = make_vault(w3, deployment, roles, "keeper-parallel")
    deposit(w3, deployment, other, roles.investors[1], 50_000 * 10**6)
    k = start_keeper([funded_vault.address, other.address])
    books = [SignalBook(v, deployment, roles.manager) for v in (funded_vault, other)]
    ids = [k.client.post(b.signed("USDC", "WETH", size_bps=300)).json()["id"] for b in books for _ in range(3)]
    records = [k.client.signal(i, wait=30) for i in ids]
    assert {r["state"] for r in records} == {"executed"}
    assert {r["vault"] for r in records} == {funded_vault.address, other.address}
    # one account, one nonce sequence: six consecutive nonces, none reused
    nonces = sorted(t["nonce"] for r in records for t in r["transactions"])
    assert nonces == list(range(nonces[0], nonces[0] + 6))


def test_metrics_and_health_report_the_keeper(funded_vault: Vault, book: SignalBook, start_keeper) -> None:
    k = start_keeper([funded_vault.address])
    signal_id = k.client.post(book.signed("USDC", "WETH", size_bps=200)).json()["id"]
    assert k.client.signal(signal_id, wait=30)["state"] == "executed"
    k.client.post(b"{not json")
    text = k.client.metrics()
    assert 'keeper_signals{state="executed"} 1.0' in text
    assert 'keeper_signals{state="rejected"} 1.0' in text
    assert "keeper_receipt_to_broadcast_seconds_count 1.0" in text
    assert "keeper_receipt_to_mined_seconds_count 1.0" in text
    assert 'keeper_signals_rejected_total{reason="malformed_json"} 1.0' in text
    last_block = next(line for line in text.splitlines() if line.startswith("keeper_last_block "))
    assert float(last_block.split()[1]) > 0
    gas = next(line for line in text.splitlines() if line.startswith("keeper_gas_spent_wei_total "))
    assert float(gas.split()[1]) > 0
    status, health = k.client.health()
    assert status == 200 and health["status"] == "ok" and health["breaker"]["open"] is False
    assert health["rpc"]["up"] is True and health["signals"]["executed"] == 1


# A contract manager (ERC-1271) in 16 bytes of runtime code: isValidSignature answers the magic
# value 0x1626ba7e for anything, or (the second) 32 zero bytes for anything.
ACCEPTING_WALLET = "0x631626ba7e60e01b60005260206000f3"
REFUSING_WALLET = "0x60206000f3"


def test_contract_manager_signatures_are_checked_on_chain_with_erc1271(w3: Web3, deployment, roles: Roles,
                                                                       start_keeper) -> None:
    accepting, refusing = "0x" + "c1" * 20, "0x" + "c2" * 20
    anvil_rpc(w3, "anvil_setCode", accepting, ACCEPTING_WALLET)
    anvil_rpc(w3, "anvil_setCode", refusing, REFUSING_WALLET)
    good = make_vault(w3, deployment, roles, "keeper-1271-ok", manager=Web3.to_checksum_address(accepting))
    bad = make_vault(w3, deployment, roles, "keeper-1271-no", manager=Web3.to_checksum_address(refusing))
    for v in (good, bad):
        deposit(w3, deployment, v, roles.investors[5], 20_000 * 10**6)
    k = start_keeper([good.address, bad.address])
    signer = dev_account(6)  # whatever key: the wallet decides

    accepted = k.client.post(SignalBook(good, deployment, signer).signed("USDC", "WETH", size_bps=500))
    assert accepted.status_code == 202, accepted.text
    assert k.client.signal(accepted.json()["id"], wait=30)["state"] == "executed"
    refused = k.client.post(SignalBook(bad, deployment, signer).signed("USDC", "WETH", size_bps=500))
    assert refused.status_code == 422 and refused.json()["error"] == "bad_signature"
