"""Notice-period withdrawals (issue 4; SECURITY 14-17, 24): ERC-7540 requests, epochs, the
gate with pro-rata rounds, O(1) settlement, cancellation, operators, pause."""

from __future__ import annotations

import random

from eth_utils import function_signature_to_4byte_selector as selector
from web3 import Web3

from cohort import manifest as mf
from cohort.artifacts import project_artifact
from cohort.deploy import deploy
from cohort.dev import devnet
from cohort.dev.anvil import DevChain
from cohort.protocol import VaultConfig
from cohort.tx import call, transact
from cohort.vault import Vault
from tests.conftest import Roles, make_vault
from tests.helpers import Market, SignalBook, deposit, fund, reverts
from tests.vault.test_fees import exit_all

USDC = 10**6
DAY = 86_400
RAY = 10**27


def usdc_of(w3: Web3, m: mf.Manifest, who: str) -> int:
    return int(call(devnet.token(w3, m, "USDC").functions.balanceOf(who)))


def _interface_id(*signatures: str) -> bytes:
    out = 0
    for sig in signatures:
        out ^= int.from_bytes(selector(sig), "big")
    return out.to_bytes(4, "big")


def test_erc7540_interfaces_and_request_shape(w3: Web3, deployment: mf.Manifest, vault: Vault,
                                              roles: Roles) -> None:
    ids = {
        "ERC165": _interface_id("supportsInterface(bytes4)"),
        "ERC7540Redeem": _interface_id("requestRedeem(uint256,address,address)",
                                       "pendingRedeemRequest(uint256,address)",
                                       "claimableRedeemRequest(uint256,address)"),
        "ERC7540Operator": _interface_id("setOperator(address,bool)", "isOperator(address,address)"),
        "ERC7575": _interface_id(
            "share()", "asset()", "totalAssets()", "convertToShares(uint256)", "convertToAssets(uint256)",
            "maxDeposit(address)", "previewDeposit(uint256)", "deposit(uint256,address)", "maxMint(address)",
            "previewMint(uint256)", "mint(uint256,address)", "maxWithdraw(address)", "previewWithdraw(uint256)",
            "withdraw(uint256,address,address)", "maxRedeem(address)", "previewRedeem(uint256)",
            "redeem(uint256,address,address)"),
    }
    assert ids["ERC7540Redeem"].hex() == "620ee8e4" and ids["ERC7540Operator"].hex() == "e3bc4e65"
    assert ids["ERC7575"].hex() == "2f0a18c5" and ids["ERC165"].hex() == "01ffc9a7"
    for iid in ids.values():
        assert call(vault.fn.supportsInterface(iid)) is True
    assert call(vault.fn.supportsInterface(bytes.fromhex("ffffffff"))) is False
    assert call(vault.fn.share()) == vault.address
    investor = roles.investors[0]
    shares = deposit(w3, deployment, vault, investor, 10_000 * USDC)
    assert call(vault.fn.requestRedeem(shares, investor, investor), sender=investor) == 0  # requestId 0
    receipt = vault.request_redeem(shares, investor)
    (req,) = vault.events(receipt, "RedeemRequest")
    assert (req["controller"], req["owner"], req["requestId"], req["sender"], req["shares"]) == (
        investor, investor, 0, investor, shares)
    assert call(vault.fn.pendingRedeemRequest(0, investor)) == shares
    assert call(vault.fn.claimableRedeemRequest(0, investor)) == 0
    assert vault.balance_of(vault.address) == shares  # escrow: still in supply
    assert vault.total_supply() >= shares


def test_nobody_can_reset_another_investors_notice_clock(w3: Web3, chain: DevChain, deployment: mf.Manifest,
                                                         roles: Roles) -> None:
    vault = make_vault(w3, deployment, roles, "ungated", VaultConfig(gate_bps=10_000))
    victim, attacker = roles.investors[0], roles.investors[1]
    victim_shares = deposit(w3, deployment, vault, victim, 10_000 * USDC)
    deposit(w3, deployment, vault, attacker, 10_000 * USDC)
    vault.request_redeem(victim_shares, victim)
    epoch = vault.redeem_request_of(victim).epoch
    matures = call(vault.fn.epochMaturesAt(epoch))
    # nobody can attach a request to the victim's: not in the same epoch, not in a later one
    with reverts("CohortNotControllerOrOperator", attacker, victim):
        transact(vault.fn.requestRedeem(1_000, victim, attacker), attacker)
    chain.increase_time(DAY)
    with reverts("CohortNotControllerOrOperator", attacker, victim):
        transact(vault.fn.requestRedeem(1_000, victim, attacker), attacker)
    # an operator the victim chose acts for it, but cannot move its place in the queue either
    transact(vault.fn.setOperator(attacker, True), victim)
    with reverts("CohortRequestPending", victim, epoch):
        transact(vault.fn.requestRedeem(1_000, victim, attacker), attacker)
    # and the victim is settled at the original maturity
    chain.set_next_timestamp(matures)
    chain.mine()
    vault.settle_redemptions(roles.keeper)
    assert vault.redeem_request_of(victim).pending == 0
    assert vault.redeem_request_of(victim).claimable_shares == victim_shares


def test_pending_requests_keep_bearing_losses_until_settlement(w3: Web3, chain: DevChain, deployment: mf.Manifest,
                                                               roles: Roles, v3) -> None:
    vault = make_vault(w3, deployment, roles, "ungated", VaultConfig(gate_bps=10_000))
    stayer, leaver = roles.investors[0], roles.investors[1]
    deposit(w3, deployment, vault, stayer, 100_000 * USDC)
    shares = deposit(w3, deployment, vault, leaver, 100_000 * USDC)
    SignalBook(vault, deployment, roles.manager).execute(roles.keeper, "USDC", "WETH", size_bps=5000)
    vault.request_redeem(shares, leaver)
    value_at_request = call(vault.fn.convertToAssets(shares))
    market = Market(w3, deployment, v3)
    market.move("WETH", -12)  # the loss happens during the notice period
    market.settle_twap()
    chain.increase_time(2 * DAY)
    (settled,) = exit_all(vault, chain, roles)
    vault.claim(leaver)
    paid = usdc_of(w3, deployment, leaver)
    assert paid < value_at_request * 97 // 100  # the leaver bore its share of the loss
    assert abs(paid - shares * (settled["nav"] + 1) // (settled["supply"] + 10**6)) <= 1


def test_a_price_move_during_the_notice_period_changes_the_payout(w3: Web3, chain: DevChain,
                                                                 deployment: mf.Manifest, vault: Vault,
                                                                 roles: Roles, v3) -> None:
    leaver = roles.investors[1]
    deposit(w3, deployment, vault, roles.investors[0], 100_000 * USDC)
    shares = deposit(w3, deployment, vault, leaver, 100_000 * USDC)
    SignalBook(vault, deployment, roles.manager).execute(roles.keeper, "USDC", "WETH", size_bps=5000)
    vault.request_redeem(shares, leaver)
    value_at_request = call(vault.fn.convertToAssets(shares))
    market = Market(w3, deployment, v3)
    market.move("WETH", 10)
    market.settle_twap()
    chain.increase_time(2 * DAY)
    exit_all(vault, chain, roles)
    vault.claim(leaver)
    assert usdc_of(w3, deployment, leaver) > value_at_request * 102 // 100  # the gain is theirs too


def test_settlement_gas_does_not_grow_with_a_thousand_dust_requests(w3: Web3, chain: DevChain,
                                                                   deployment: mf.Manifest, roles: Roles) -> None:
    batcher = deploy(w3, project_artifact("RequestBatcher"), sender=roles.deployer)
    gas = {}
    for n in (1, 1000):
        with chain.isolated():
            vault = make_vault(w3, deployment, roles, f"scale-{n}", VaultConfig(gate_bps=10_000))
            whale = roles.investors[0]
            deposit(w3, deployment, vault, whale, 1_000_000 * USDC)
            deposit(w3, deployment, vault, roles.investors[1], 1_000_000 * USDC)  # someone stays
            chain.increase_time(60)  # the fee recipient holds shares in both runs (no first-write cost)
            vault.accrue_fees(roles.keeper)
            transact(vault.fn.approve(batcher.address, 2**256 - 1), whale)
            for start in range(0, n, 100):
                transact(batcher.functions.requestMany(vault.address, whale, b"\x01" * 32, start,
                                                       min(n, start + 100), 1), whale, gas=25_000_000)
            vault.request_redeem(500_000 * 10**12, whale)  # one real request among the dust
            chain.increase_time(2 * DAY + 1)
            receipt = vault.settle_redemptions(roles.keeper)
            gas[n] = receipt["gasUsed"]
            # every dust controller got exactly its pro-rata slice, claimable by itself
            first = call(batcher.functions.controller(b"\x01" * 32, 0))
            assert vault.redeem_request_of(first).claimable_shares == 1
            assert vault.redemption_status().epoch == 0
    assert gas[1000] <= gas[1] * 1.05, gas


def test_bank_run_after_a_loss_pays_at_most_nav_and_pro_rata_in_any_claim_order(
        w3: Web3, chain: DevChain, deployment: mf.Manifest, vault: Vault, roles: Roles, v3) -> None:
    investors = list(roles.investors[:8])
    sizes = [int(10_000 * USDC * (1 + i * 1.37)) for i in range(len(investors))]
    shares = {who: deposit(w3, deployment, vault, who, size) for who, size in zip(investors, sizes, strict=True)}
    SignalBook(vault, deployment, roles.manager).execute(roles.keeper, "USDC", "WETH", size_bps=5000)
    market = Market(w3, deployment, v3)
    market.move("WETH", -15)
    market.settle_twap()
    nav_before = vault.nav()
    for who in investors:  # everyone runs in the same epoch
        vault.request_redeem(shares[who], who)
    chain.increase_time(2 * DAY)
    rounds = exit_all(vault, chain, roles)
    assert len(rounds) > 1  # the gate spread the run over several rounds
    last = rounds[-1]
    order = investors[:]
    random.Random(7).shuffle(order)
    paid = {}
    for who in order:
        before = usdc_of(w3, deployment, who)
        vault.claim(who)
        paid[who] = usdc_of(w3, deployment, who) - before
    assert sum(paid.values()) <= nav_before
    for who in investors:  # everyone's payout is exactly units * alpha, floor: pro-rata within 1 wei
        assert paid[who] == shares[who] * last["assetsPerUnitRay"] // RAY
    ratio = {who: paid[who] / shares[who] for who in investors}
    assert max(ratio.values()) - min(ratio.values()) < 1e-12


def test_gating_spreads_an_epoch_over_rounds_with_identical_fractions(w3: Web3, chain: DevChain,
                                                                     deployment: mf.Manifest, vault: Vault,
                                                                     roles: Roles) -> None:
    stayer = roles.investors[0]
    deposit(w3, deployment, vault, stayer, 300_000 * USDC)
    leavers = roles.investors[1:4]
    units = {who: deposit(w3, deployment, vault, who, amount * USDC) for who, amount in
             zip(leavers, (50_000, 120_000, 7_777), strict=True)}
    # later requests go first in the epoch: the order must not matter
    for who in reversed(leavers):
        vault.request_redeem(units[who], who)
    chain.increase_time(2 * DAY)
    first = vault.events(vault.settle_redemptions(roles.keeper), "RedemptionsSettled")[0]
    assert 0 < first["remainingRay"] < RAY  # gated: a partial round
    fractions = {who: 1 - vault.redeem_request_of(who).pending / units[who] for who in leavers}
    assert max(fractions.values()) - min(fractions.values()) < 1e-9
    # the same round again is refused until the gate window reopens (one epoch length later)
    with reverts("CohortNoSettlementCapacity"):
        vault.settle_redemptions(roles.keeper)
    chain.increase_time(DAY)
    vault.settle_redemptions(roles.keeper)
    assert vault.redemption_status().epoch == 0
    for who in leavers:
        rr = vault.redeem_request_of(who)
        assert rr.pending == 0 and rr.claimable_shares == units[who]


def test_cancel_returns_only_the_unsettled_part_and_keeps_the_settled_claim(
        w3: Web3, chain: DevChain, deployment: mf.Manifest, vault: Vault, roles: Roles) -> None:
    deposit(w3, deployment, vault, roles.investors[0], 300_000 * USDC)
    leaver = roles.investors[1]
    shares = deposit(w3, deployment, vault, leaver, 200_000 * USDC)
    vault.request_redeem(shares, leaver)
    chain.increase_time(2 * DAY)
    vault.settle_redemptions(roles.keeper)  # gated: part of it
    rr = vault.redeem_request_of(leaver)
    assert 0 < rr.pending < shares
    before = vault.balance_of(leaver)
    receipt = vault.cancel_redeem(leaver)
    (cancel,) = vault.events(receipt, "RedeemRequestCanceled")
    assert cancel["shares"] == vault.balance_of(leaver) - before
    assert 0 <= cancel["shares"] - rr.pending <= 1  # the epoch's last member also takes its rounding dust
    assert vault.redeem_request_of(leaver).claimable_assets == rr.claimable_assets
    vault.claim(leaver)
    assert usdc_of(w3, deployment, leaver) == rr.claimable_assets
    with reverts("CohortNothingToCancel"):
        vault.cancel_redeem(leaver)


def test_operators_act_for_controllers_and_can_be_revoked(w3: Web3, chain: DevChain, deployment: mf.Manifest,
                                                          vault: Vault, roles: Roles) -> None:
    investor, operator, receiver = roles.investors[0], roles.investors[1], roles.investors[2]
    shares = deposit(w3, deployment, vault, investor, 10_000 * USDC)
    receipt = transact(vault.fn.setOperator(operator, True), investor)
    assert vault.events(receipt, "OperatorSet")[0]["approved"] is True
    assert call(vault.fn.isOperator(investor, operator)) is True
    transact(vault.fn.requestRedeem(shares, investor, investor), operator)  # no allowance needed
    chain.increase_time(2 * DAY)
    vault.settle_redemptions(roles.keeper)
    half = vault.redeem_request_of(investor).claimable_assets // 2
    transact(vault.fn.withdraw(half, receiver, investor), operator)  # claim by assets, to a receiver
    assert usdc_of(w3, deployment, receiver) == half
    transact(vault.fn.setOperator(operator, False), investor)
    with reverts("CohortNotControllerOrOperator"):
        transact(vault.fn.redeem(1, operator, investor), operator)
    remaining = call(vault.fn.maxRedeem(investor))
    transact(vault.fn.redeem(remaining, investor, investor), investor)
    assert call(vault.fn.maxRedeem(investor)) == 0 and call(vault.fn.maxWithdraw(investor)) == 0
    with reverts("CohortExceedsClaimable"):
        transact(vault.fn.redeem(1, investor, investor), investor)


def test_pause_blocks_deposits_and_trades_never_claims(w3: Web3, chain: DevChain, deployment: mf.Manifest,
                                                       vault: Vault, roles: Roles) -> None:
    investor = roles.investors[0]
    shares = deposit(w3, deployment, vault, investor, 50_000 * USDC)
    deposit(w3, deployment, vault, roles.investors[1], 50_000 * USDC)
    book = SignalBook(vault, deployment, roles.manager)
    vault.request_redeem(shares, investor)
    transact(vault.fn.setPaused(True), roles.guardian)
    fund(w3, deployment, "USDC", investor, 1_000 * USDC)
    with reverts("CohortPaused"):
        vault.deposit(1_000 * USDC, investor)
    with reverts("CohortPaused"):
        book.execute(roles.keeper, "USDC", "WETH")
    chain.increase_time(2 * DAY)
    vault.settle_redemptions(roles.keeper)  # settlement goes on while paused
    vault.claim(investor)  # and claims are never paused
    assert usdc_of(w3, deployment, investor) > 0
    vault.request_redeem(vault.balance_of(roles.investors[1]) // 2, roles.investors[1])  # requests too


def test_settlement_refuses_before_maturity_and_when_nothing_is_queued(w3: Web3, chain: DevChain,
                                                                      deployment: mf.Manifest, vault: Vault,
                                                                      roles: Roles) -> None:
    with reverts("CohortNothingToSettle"):
        vault.settle_redemptions(roles.keeper)
    investor = roles.investors[0]
    deposit(w3, deployment, vault, investor, 1_000 * USDC)
    vault.request_redeem(vault.balance_of(investor), investor)
    epoch = vault.redeem_request_of(investor).epoch
    with reverts("CohortEpochNotMatured", epoch, call(vault.fn.epochMaturesAt(epoch))):
        vault.settle_redemptions(roles.keeper)
    status = vault.redemption_status()
    assert (status.due, status.epoch) == (False, epoch)
