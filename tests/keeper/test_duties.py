"""The keeper's duties, driven by the vault's views: fee accrual, redemption settlement with the
unwind it needs, and de-risking once the drawdown breaker trips. Each acts only when the chain
says there is work, so running it again (or from two keepers) sends nothing."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest
from web3 import Web3

from cohort import protocol
from cohort.dev.anvil import DevChain
from cohort.vault import Vault
from tests.conftest import Roles, make_vault
from tests.helpers import Market, SignalBook, deposit
from tests.keeper.conftest import txs_of


def _eventually(check: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} not reached in {timeout}s"
        time.sleep(0.1)


def _keeper_events(w3: Web3, vault: Vault, name: str, keeper: str, **filters: object) -> list:
    event = getattr(vault.contract.events, name)
    logs = event.get_logs(from_block=0, argument_filters=filters or None)
    return [log for log in logs if w3.eth.get_transaction(log["transactionHash"])["from"] == keeper]


def test_fees_are_accrued_on_schedule(w3: Web3, chain: DevChain, funded_vault: Vault, roles: Roles,
                                      start_keeper) -> None:
    chain.increase_time(30 * 86_400)
    management, _performance = funded_vault.pending_fee_shares()
    assert management > 0
    k = start_keeper([funded_vault.address], fees_interval_s=0.3)
    _eventually(lambda: bool(_keeper_events(w3, funded_vault, "FeesAccrued", roles.keeper)), what="FeesAccrued")
    assert funded_vault.balance_of(roles.fee_recipient) >= management
    runs = k.client.health()[1]["duties"]["accrue_fees"]["vaults"][funded_vault.address]
    assert runs["outcome"] in ("acted", "idle")


def test_due_redemption_is_unwound_then_settled(w3: Web3, chain: DevChain, deployment, roles: Roles,
                                                start_keeper) -> None:
    cfg = protocol.VaultConfig(gate_bps=10_000, epoch_length=3600, notice_period=3600)
    vault = make_vault(w3, deployment, roles, "keeper-redemptions", cfg)
    investor = roles.investors[3]
    shares = deposit(w3, deployment, vault, investor, 100_000 * 10**6)
    SignalBook(vault, deployment, roles.manager).execute(roles.keeper, "USDC", "WETH", size_bps=4900)
    vault.request_redeem(shares * 8 // 10, investor)
    chain.increase_time(3 * 3600)
    status = vault.redemption_status()
    assert status.due and status.assets_needed > status.base_available  # short of base: unwind first

    k = start_keeper([vault.address], redemptions_interval_s=0.3)
    _eventually(lambda: vault.redeem_request_of(investor).claimable_assets > 0, what="settlement")

    weth = deployment.token("WETH").address
    unwinds = _keeper_events(w3, vault, "LiquiditySold", roles.keeper, reason=0, asset=weth)
    settlements = _keeper_events(w3, vault, "RedemptionsSettled", roles.keeper)
    assert len(unwinds) == 1 and len(settlements) >= 1
    assert w3.eth.get_transaction_receipt(unwinds[0]["transactionHash"])["blockNumber"] <= \
        w3.eth.get_transaction_receipt(settlements[0]["transactionHash"])["blockNumber"]
    assert not vault.redemption_status().due
    assert vault.redeem_request_of(investor).claimable_assets > 70_000 * 10**6

    sent = txs_of(w3, roles.keeper)
    time.sleep(1.0)  # three more rounds: nothing left to do, nothing sent
    assert txs_of(w3, roles.keeper) == sent
    assert k.client.health()[1]["duties"]["settle_redemptions"]["vaults"][vault.address]["outcome"] == "idle"


def test_tripped_breaker_leads_to_derisking(w3: Web3, chain: DevChain, deployment, roles: Roles, v3,
                                           start_keeper) -> None:
    vault = make_vault(w3, deployment, roles, "keeper-derisk")
    deposit(w3, deployment, vault, roles.investors[4], 100_000 * 10**6)
    book = SignalBook(vault, deployment, roles.manager)
    for _ in range(2):
        book.execute(roles.keeper, "USDC", "WETH", size_bps=4900)
    weth = deployment.token("WETH").address
    market = Market(w3, deployment, v3)
    market.move("WETH", -40)
    market.settle_twap()
    _limits, _paused, risk_off = vault.contract.functions.riskState().call()
    assert not risk_off and vault.holdings(weth) > 0

    start_keeper([vault.address], risk_interval_s=0.3)
    _eventually(lambda: vault.holdings(weth) == 0, what="WETH sold")

    assert vault.contract.functions.riskState().call()[2] is True
    assert len(_keeper_events(w3, vault, "RiskOffEntered", roles.keeper)) == 1
    assert _keeper_events(w3, vault, "LiquiditySold", roles.keeper, reason=1, asset=weth)
    sent = txs_of(w3, roles.keeper)
    time.sleep(1.0)
    assert txs_of(w3, roles.keeper) == sent  # risk-off, nothing left to sell: idle


def test_duties_send_nothing_when_the_chain_says_there_is_nothing_to_do(
        w3: Web3, funded_vault: Vault, roles: Roles, start_keeper) -> None:
    sent = txs_of(w3, roles.keeper)
    k = start_keeper([funded_vault.address], redemptions_interval_s=0.2, risk_interval_s=0.2)
    time.sleep(1.0)
    assert txs_of(w3, roles.keeper) == sent
    duties = k.client.health()[1]["duties"]
    assert duties["settle_redemptions"]["vaults"][funded_vault.address]["outcome"] == "idle"
    assert duties["derisk"]["vaults"][funded_vault.address]["outcome"] == "idle"
    assert "accrue_fees" not in duties  # interval 0: disabled


def test_a_partial_settlement_at_the_gate_is_normal_and_logged_as_info(
        w3: Web3, chain: DevChain, deployment, roles: Roles, start_keeper, caplog: pytest.LogCaptureFixture) -> None:
    cfg = protocol.VaultConfig(gate_bps=1000, epoch_length=3600, notice_period=3600)
    vault = make_vault(w3, deployment, roles, "keeper-gate", cfg)
    investor = roles.investors[3]
    shares = deposit(w3, deployment, vault, investor, 100_000 * 10**6)
    vault.request_redeem(shares // 2, investor)  # half the vault: five gate windows of 10%
    chain.increase_time(3 * 3600)
    caplog.set_level(logging.INFO, logger="keeper")

    k = start_keeper([vault.address], redemptions_interval_s=0.3)
    _eventually(lambda: "gate reached" in str(k.client.health()[1]["duties"]["settle_redemptions"]["vaults"]
                                              .get(vault.address, {}).get("detail")), what="a gated round")
    runs = k.client.health()[1]["duties"]["settle_redemptions"]["vaults"][vault.address]

    assert runs["outcome"] == "acted"
    assert 0 < vault.redeem_request_of(investor).claimable_assets < 50_000 * 10**6  # paid in part
    assert vault.redemption_status().due  # the rest waits for the next window
    gated = [r for r in caplog.records if "gate of this window is spent" in r.getMessage()]
    assert gated and all(r.levelno == logging.INFO for r in gated)
    assert not [r for r in caplog.records if r.name.startswith("keeper") and r.levelno >= logging.WARNING]
