"""The parties inside the system as adversaries (issue 11): a depositor griefing the queue, the
manager trading through a stale TWAP or its own pools, a keeper that never unwinds, an oracle
owner repointing feeds, and governance leaving changes queued. Each test breaks a promise the
way that party would, with real Uniswap pools, and fails if the promise does not hold:

- "you can always leave": dust requests, wei-sized NAVs and absent keepers cannot stall the queue;
- "the manager can lose at most the loss budget": no route, stale price or timing gets more out.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from web3 import Web3

from cohort import manifest as mf
from cohort.artifacts import project_artifact
from cohort.deploy import at, deploy
from cohort.dev import devnet
from cohort.dev.anvil import DevChain
from cohort.protocol import RiskLimits, VaultConfig, v2_route
from cohort.tx import call, transact
from cohort.uniswap import create_v2_pair, create_v3_pool, encode_v2_path
from cohort.vault import Vault
from tests.conftest import Roles, make_vault
from tests.helpers import Market, SignalBook, deposit, fund, log_names, reverts

USDC = 10**6
DAY = 86_400
DEAD = "0x000000000000000000000000000000000000dEaD"


# ------------------------------------------------------------------ "you can always leave"

def test_a_dust_request_cannot_freeze_later_redemptions(w3: Web3, chain: DevChain, deployment: mf.Manifest,
                                                        vault: Vault, roles: Roles) -> None:
    victim, attacker = roles.investors[0], roles.investors[1]
    deposit(w3, deployment, vault, victim, 10_000 * USDC)
    deposit(w3, deployment, vault, attacker, 1 * USDC)
    vault.request_redeem(1, attacker)  # one share-wei: worth 0 assets, in epoch 1
    chain.increase_time(DAY)
    vault.request_redeem(vault.balance_of(victim) // 10, victim)  # epoch 2
    chain.increase_time(3 * DAY)
    receipt = vault.settle_redemptions(roles.keeper)  # the dust epoch settles for nothing
    (dust,) = vault.events(receipt, "RedemptionsSettled")
    assert (dust["sharesBurned"], dust["assetsReserved"], dust["escrowRemaining"]) == (1, 0, 0)
    receipt = vault.settle_redemptions(roles.keeper)  # and the queue moves on
    (paid,) = vault.events(receipt, "RedemptionsSettled")
    assert paid["assetsReserved"] > 999 * USDC and paid["escrowRemaining"] == 0
    vault.claim(victim)
    assert vault.redemption_status().epoch == 0


def test_a_nav_of_a_few_wei_still_settles(w3: Web3, chain: DevChain, deployment: mf.Manifest, roles: Roles) -> None:
    tiny = make_vault(w3, deployment, roles, "tiny-nav", VaultConfig(min_deposit=1, gate_bps=2500,
                                                                       management_fee_bps=0, performance_fee_bps=0))
    a, b = roles.investors[0], roles.investors[1]
    deposit(w3, deployment, tiny, a, 2)
    deposit(w3, deployment, tiny, b, 1)  # NAV 3 wei: 25% of it rounds down to 0
    tiny.request_redeem(tiny.balance_of(b), b)
    chain.increase_time(3 * DAY)
    receipt = tiny.settle_redemptions(roles.keeper)
    (settled,) = tiny.events(receipt, "RedemptionsSettled")
    assert settled["assetsReserved"] == 1 and settled["escrowRemaining"] == 0


def test_nobody_can_open_a_request_for_someone_else(w3: Web3, chain: DevChain, deployment: mf.Manifest,
                                                    vault: Vault, roles: Roles) -> None:
    victim, attacker = roles.investors[0], roles.investors[1]
    deposit(w3, deployment, vault, victim, 10_000 * USDC)
    deposit(w3, deployment, vault, attacker, 10 * USDC)
    with reverts("CohortNotControllerOrOperator", attacker, victim):
        transact(vault.fn.requestRedeem(1, victim, attacker), attacker)
    chain.increase_time(DAY)
    vault.request_redeem(vault.balance_of(victim), victim)  # the victim's own request is not blocked
    # a controller who made the sender its operator may be named: that is consent
    transact(vault.fn.setOperator(attacker, True), victim)
    transact(vault.fn.requestRedeem(1, victim, attacker), attacker)


def test_without_a_keeper_anyone_can_unwind_and_settle_after_the_grace_period(
        w3: Web3, chain: DevChain, deployment: mf.Manifest, vault: Vault, roles: Roles) -> None:
    investor = roles.investors[0]
    deposit(w3, deployment, vault, investor, 100_000 * USDC)
    book = SignalBook(vault, deployment, roles.manager)
    book.execute(roles.keeper, "USDC", "WETH", size_bps=5000)
    Market(w3, deployment).settle_twap(1800)
    book.execute(roles.keeper, "USDC", "WETH", size_bps=9000)  # almost everything in WETH
    vault.request_redeem(vault.balance_of(investor) // 5, investor)
    chain.increase_time(3 * DAY)  # matured; the keeper does nothing
    with reverts("CohortNotKeeper", roles.outsider):
        vault.unwind_for_redemptions(roles.outsider)
    chain.increase_time(7 * DAY)  # the grace period has passed: the investor helps themself
    vault.unwind_for_redemptions(investor)
    vault.settle_redemptions(investor)
    assert vault.claim(investor) and vault.redemption_status().epoch == 0


# ------------------------------------------------------------------ "the manager loses at most the budget"

def _own_token_route(w3: Web3, deployment: mf.Manifest, roles: Roles) -> bytes:
    """The manager's own token M with V2 pairs USDC/M and M/WETH priced at today's 3000 USDC/WETH."""
    lp = roles.manager.address
    own = deploy(w3, project_artifact("TestToken"), "Manager", "MGR", 18, sender=lp)
    transact(own.functions.mint(lp, 10**30), lp)
    usdc, weth = devnet.token(w3, deployment, "USDC"), devnet.token(w3, deployment, "WETH")
    fund(w3, deployment, "USDC", lp, 300_000_000 * USDC)
    fund(w3, deployment, "WETH", lp, 100_000 * 10**18)
    v2 = devnet.v2_from_manifest(w3, deployment)
    create_v2_pair(v2, usdc, own, 300_000_000 * USDC, 300_000_000 * 10**18, lp)  # 1 M = 1 USDC
    create_v2_pair(v2, own, weth, 300_000_000 * 10**18, 100_000 * 10**18, lp)  # 3000 M = 1 WETH
    return encode_v2_path([usdc.address, own.address, weth.address])


def test_a_route_through_the_managers_own_token_is_refused(w3: Web3, deployment: mf.Manifest, vault: Vault,
                                                           roles: Roles) -> None:
    deposit(w3, deployment, vault, roles.investors[0], 500_000 * USDC)
    path = _own_token_route(w3, deployment, roles)
    book = SignalBook(vault, deployment, roles.manager)
    signed = book.signed("USDC", "WETH", route="v2", path=path, size_bps=2000)
    with reverts("CohortRouteTokenNotListed"):
        vault.execute_signal(signed, roles.keeper)


def test_a_stale_twap_cannot_be_traded_against(w3: Web3, deployment: mf.Manifest, vault: Vault,
                                               roles: Roles) -> None:
    """The manager pushes the oracle pool's spot 5% down and buys WETH at the lagging TWAP price
    on a V2 pair that did not move: the vault would lose ~5% with nothing charged."""
    deposit(w3, deployment, vault, roles.investors[0], 500_000 * USDC)
    book = SignalBook(vault, deployment, roles.manager)
    Market(w3, deployment).move("WETH", -5)
    signed = book.signed("USDC", "WETH", route="v2", path=v2_route(deployment, "USDC", "WETH"), size_bps=500)
    with reverts("CohortPriceDeviation"):
        vault.execute_signal(signed, roles.keeper)
    assert vault.holdings(deployment.token("WETH").address) == 0


def test_within_the_deviation_bound_the_fill_is_measured_against_the_better_price(
        w3: Web3, deployment: mf.Manifest, vault: Vault, roles: Roles) -> None:
    """A 1.5% push stays inside the 2% spot/TWAP bound. Buying at the stale TWAP price (the V2
    pair) would lose 1.5%: the vault's minimum is the better of TWAP and spot, so it refuses."""
    deposit(w3, deployment, vault, roles.investors[0], 500_000 * USDC)
    book = SignalBook(vault, deployment, roles.manager)
    Market(w3, deployment).move("WETH", -1.5)
    route = {"route": "v2", "path": v2_route(deployment, "USDC", "WETH")}
    with reverts("AdapterSwapFailed"):  # V2 pays ~TWAP: 1.5% short of spot, beyond 1% slippage
        vault.execute_signal(book.signed("USDC", "WETH", size_bps=2000, **route), roles.keeper)
    # on the pool that did move, the fill is at spot and passes
    receipt = book.execute(roles.keeper, "USDC", "WETH", size_bps=2000)
    (trade,) = vault.events(receipt, "TradeExecuted")
    assert trade["oracleAmountOut"] > trade["amountIn"] * 10**12 // 3000  # the reference is spot, not TWAP


def _loss_vault(w3: Web3, deployment: mf.Manifest, roles: Roles, label: str) -> tuple[Vault, SignalBook]:
    tight = make_vault(w3, deployment, roles, label, VaultConfig(risk=RiskLimits(loss_budget_bps=10)))
    deposit(w3, deployment, tight, roles.investors[0], 500_000 * USDC)  # budget: 500 USDC per window
    return tight, SignalBook(tight, deployment, roles.manager)


def _burst(book: SignalBook, keeper: str) -> int:
    """Two buys of 10% of holdings: each loses ~0.35% of ~50k to fee and impact (~175 USDC)."""
    lost = 0
    for _ in range(2):
        receipt = book.execute(keeper, "USDC", "WETH", size_bps=1000)
        lost += book.vault.events(receipt, "TradeExecuted")[0]["loss"]
    return lost


def test_no_span_of_one_window_loses_more_than_the_budget(w3: Web3, chain: DevChain, deployment: mf.Manifest,
                                                          roles: Roles) -> None:
    tight, book = _loss_vault(w3, deployment, roles, "window-loss")
    first = _burst(book, roles.keeper)
    assert 250 * USDC < first < 500 * USDC
    chain.increase_time(DAY - 120)  # the next burst, inside the same 24 h span
    with reverts("CohortLossBudgetExceeded"):
        _burst(book, roles.keeper)
    used, capacity = call(tight.fn.lossBudget())
    assert used == first and capacity >= 499 * USDC
    chain.increase_time(2 * DAY)  # a whole window later the budget is free again
    assert call(tight.fn.lossBudget())[0] == 0
    _burst(book, roles.keeper)


def test_unwind_and_derisk_sales_are_charged_to_the_loss_budget(w3: Web3, chain: DevChain,
                                                                deployment: mf.Manifest, roles: Roles) -> None:
    vault = make_vault(w3, deployment, roles, "charged-sales",
                       VaultConfig(gate_bps=10_000, risk=RiskLimits(drawdown_bps=1000)))
    investor = roles.investors[0]
    deposit(w3, deployment, vault, investor, 400_000 * USDC)
    book = SignalBook(vault, deployment, roles.manager)
    market = Market(w3, deployment)
    book.execute(roles.keeper, "USDC", "WETH", size_bps=5000)
    market.settle_twap(DAY)
    vault.request_redeem(vault.balance_of(investor) * 4 // 5, investor)
    chain.increase_time(3 * DAY)
    used_before = call(vault.fn.lossBudget())[0]
    receipt = vault.unwind_for_redemptions(roles.keeper)
    sales = vault.events(receipt, "LiquiditySold")
    lost = sum(max(0, s["oracleAmountOut"] - s["amountOut"]) for s in sales)
    assert lost > 0 and call(vault.fn.lossBudget())[0] >= used_before + lost
    # the public de-risking sale is charged too
    vault.settle_redemptions(roles.keeper)
    market.move("WETH", -25)
    market.settle_twap()
    transact(vault.fn.tripBreaker(), roles.outsider)
    used_before = call(vault.fn.lossBudget())[0]
    receipt = transact(vault.fn.derisk(deployment.token("WETH").address, 5000), roles.outsider)
    (sold,) = vault.events(receipt, "LiquiditySold")
    assert call(vault.fn.lossBudget())[0] >= used_before + (sold["oracleAmountOut"] - sold["amountOut"]) > used_before


# ------------------------------------------------------------------ governance and the oracle

def test_a_queued_change_expires_after_its_grace_period(w3: Web3, chain: DevChain, vault: Vault,
                                                         roles: Roles) -> None:
    receipt = transact(vault.fn.setFees(500, 5000), roles.owner)
    assert log_names(vault, receipt) == ["ChangeSubmitted"]
    chain.increase_time(91 * DAY)
    receipt = transact(vault.fn.setFees(500, 5000), roles.owner)  # too late: queued afresh, not applied
    assert log_names(vault, receipt) == ["ChangeExpired", "ChangeSubmitted"]
    assert (vault.fee_state().management_fee_bps, vault.fee_state().performance_fee_bps) == (200, 2000)
    chain.increase_time(DAY)
    transact(vault.fn.setFees(500, 5000), roles.owner)
    assert (vault.fee_state().management_fee_bps, vault.fee_state().performance_fee_bps) == (500, 5000)


def test_the_oracle_owner_cannot_repoint_a_feed_at_once(w3: Web3, chain: DevChain, deployment: mf.Manifest,
                                                         vault: Vault, roles: Roles) -> None:
    deposit(w3, deployment, vault, roles.investors[0], 100_000 * USDC)
    SignalBook(vault, deployment, roles.manager).execute(roles.keeper, "USDC", "WETH", size_bps=5000)
    # a thin pool pricing WETH at 10x
    usdc, weth = devnet.token(w3, deployment, "USDC"), devnet.token(w3, deployment, "WETH")
    owner = deployment.deployer
    fund(w3, deployment, "USDC", owner, 30_000 * USDC)
    fund(w3, deployment, "WETH", owner, 10**18)
    v3 = devnet.v3_from_manifest(w3, deployment)
    thin = create_v3_pool(v3, weth, usdc, 10_000, Fraction(30_000), 10**18, 30_000 * USDC, owner)
    chain.increase_time(3600)
    nav = vault.nav()
    oracle = at(w3, "UniswapV3TwapOracle", deployment.cohort.oracle)
    receipt = transact(oracle.functions.setFeed(weth.address, thin.address), owner)
    assert [e["event"] for e in oracle.events.FeedChangeQueued().process_receipt(receipt)] == ["FeedChangeQueued"]
    assert vault.nav() == nav  # nothing moved
    with reverts("OracleFeedChangePending"):
        transact(oracle.functions.setFeed(weth.address, thin.address), owner)
    with reverts("OracleFeedChangePending"):
        transact(oracle.functions.removeFeed(weth.address), owner)  # removing waits too
    delay = call(oracle.functions.FEED_TIMELOCK())
    assert delay >= 30 * DAY  # at least any vault's timelock (VaultConfig.MAX_TIMELOCK)
    chain.increase_time(delay)
    transact(oracle.functions.setFeed(weth.address, thin.address), owner)
    assert call(oracle.functions.feedOf(weth.address))[0] == thin.address


def test_a_missing_observation_never_gives_a_wrong_nav(w3: Web3, chain: DevChain, deployment: mf.Manifest,
                                                        vault: Vault, roles: Roles) -> None:
    investor = roles.investors[0]
    deposit(w3, deployment, vault, investor, 1_000_000 * USDC)
    SignalBook(vault, deployment, roles.manager).execute(roles.keeper, "USDC", "WETH", size_bps=3000)
    limits = list(call(vault.fn.riskState())[0])
    limits[0] = DAY  # a longer TWAP window tightens, so it applies at once; the pools hold 2 h of history
    transact(vault.fn.setRiskLimits(tuple(limits)), roles.owner)
    with reverts("OracleObservationUnavailable"):
        call(vault.fn.totalAssets())
    with reverts("OracleObservationUnavailable"):
        call(vault.fn.convertToAssets(10**12))
    nav, healthy = vault.valuation()  # the flagged view still answers, and says it is partial
    assert not healthy and nav == vault.holdings(deployment.token("USDC").address)
    assert vault.max_deposit(investor) == 0  # max* never revert
    fund(w3, deployment, "USDC", investor, 1000 * USDC)
    with reverts("OracleObservationUnavailable"):
        vault.deposit(1000 * USDC, investor)


@pytest.mark.parametrize("gain_pct", [7, 13, 31])
def test_the_performance_fee_is_one_full_precision_division(w3: Web3, chain: DevChain, deployment: mf.Manifest,
                                                            roles: Roles, gain_pct: int) -> None:
    """Fee shares = p*(pps-H)*S*S / (K*NAV - p*(pps-H)*S) with K = BPS*PPS_SCALE, floored once."""
    v = make_vault(w3, deployment, roles, f"perf-{gain_pct}", VaultConfig(management_fee_bps=0))
    deposit(w3, deployment, v, roles.investors[0], 234_567 * USDC + 891)
    SignalBook(v, deployment, roles.manager).execute(roles.keeper, "USDC", "WETH", size_bps=5000)
    market = Market(w3, deployment)
    market.move("WETH", gain_pct)
    market.settle_twap(DAY)
    supply, hwm = v.total_supply(), v.high_water_mark()
    receipt = v.accrue_fees(roles.keeper)
    (acc,) = v.events(receipt, "FeesAccrued")
    nav = acc["nav"]
    k = 10_000 * 10**24
    price = nav * 10**24 // supply
    a = 2000 * (price - hwm)
    assert acc["performanceShares"] == a * supply * supply // (k * nav - a * supply)
