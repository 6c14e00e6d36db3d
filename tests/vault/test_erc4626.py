"""ERC-4626 properties (SECURITY 1-8): round trips, previews, rounding, views that never
revert, exact balance changes, the inflation attack, donations, and running-total invariants."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from web3 import Web3

from cohort import manifest as mf
from cohort.deploy import at
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
FAST = settings(max_examples=10, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def usdc_of(w3: Web3, m: mf.Manifest, who: str) -> int:
    return int(call(devnet.token(w3, m, "USDC").functions.balanceOf(who)))


def test_round_trip_with_nav_unchanged_never_profits(w3: Web3, chain: DevChain, deployment: mf.Manifest,
                                                     vault: Vault, roles: Roles) -> None:
    deposit(w3, deployment, vault, roles.investors[0], 250_000 * USDC)  # someone who stays
    investor = roles.investors[1]
    shares = deposit(w3, deployment, vault, investor, 12_345_678_901)
    vault.request_redeem(shares, investor)
    chain.increase_time(3 * DAY)
    vault.settle_redemptions(roles.keeper)
    vault.claim(investor)
    assert usdc_of(w3, deployment, investor) <= 12_345_678_901  # fees only ever cost


@FAST
@given(assets=st.integers(1, 10**15), shares=st.integers(1, 10**24))
def test_conversions_round_in_favour_of_the_vault(assets: int, shares: int, chain: DevChain, w3: Web3,
                                                  deployment: mf.Manifest, vault: Vault, roles: Roles) -> None:
    with chain.isolated():
        deposit(w3, deployment, vault, roles.investors[0], 777_777 * USDC)
        SignalBook(vault, deployment, roles.manager).execute(roles.keeper, "USDC", "WETH", size_bps=3000)
        f = vault.fn
        assert call(f.convertToShares(call(f.convertToAssets(shares)))) <= shares
        assert call(f.convertToAssets(call(f.convertToShares(assets)))) <= assets
        assert call(f.previewMint(shares)) >= call(f.convertToAssets(shares))
        assert call(f.previewDeposit(assets)) <= call(f.convertToShares(assets))


def test_deposit_mints_at_least_the_preview_and_mint_costs_at_most_the_preview(
        w3: Web3, chain: DevChain, deployment: mf.Manifest, vault: Vault, roles: Roles) -> None:
    deposit(w3, deployment, vault, roles.investors[0], 500_000 * USDC)
    SignalBook(vault, deployment, roles.manager).execute(roles.keeper, "USDC", "WETH", size_bps=4000)
    chain.increase_time(40 * DAY)  # pending fees: previews must include them
    for caller in roles.investors[1:4]:
        fund(w3, deployment, "USDC", caller, 10**12)
        preview = call(vault.fn.previewDeposit(123_456_789), sender=caller)
        receipt = vault.deposit(123_456_789, caller)
        assert vault.events(receipt, "Deposit")[0]["shares"] >= preview
        want = 98_765_432_100_000
        cost = call(vault.fn.previewMint(want), sender=caller)
        before = usdc_of(w3, deployment, caller)
        transact(vault.fn.mint(want, caller), caller)
        assert before - usdc_of(w3, deployment, caller) <= cost


def test_rounding_zero_in_zero_out_and_a_mint_always_costs(w3: Web3, deployment: mf.Manifest, vault: Vault,
                                                           roles: Roles) -> None:
    deposit(w3, deployment, vault, roles.investors[0], 100_000 * USDC)
    assert call(vault.fn.previewDeposit(0)) == 0
    supply = vault.total_supply()
    with reverts("CohortZeroAmount"):
        vault.deposit(0, roles.investors[1])
    assert vault.total_supply() == supply  # deposit(0) mints nothing
    assert call(vault.fn.previewMint(1)) >= 1  # one share wei still costs a whole asset wei
    buyer = roles.investors[1]
    fund(w3, deployment, "USDC", buyer, 10 * USDC)
    transact(devnet.token(w3, deployment, "USDC").functions.approve(vault.address, 10 * USDC), buyer)
    small = make_vault(w3, deployment, roles, "r", VaultConfig(min_deposit=1))
    transact(devnet.token(w3, deployment, "USDC").functions.approve(small.address, 10 * USDC), buyer)
    transact(small.fn.mint(1, buyer), buyer)
    assert usdc_of(w3, deployment, buyer) == 10 * USDC - 1 and small.balance_of(buyer) == 1
    with reverts("CohortZeroAmount"):
        transact(small.fn.mint(0, buyer), buyer)


def test_views_answer_after_a_loss_or_paused_and_refuse_to_misprice_when_an_oracle_fails(
        w3: Web3, deployment: mf.Manifest, vault: Vault, roles: Roles, v3) -> None:
    investor = roles.investors[0]
    deposit(w3, deployment, vault, investor, 200_000 * USDC)
    SignalBook(vault, deployment, roles.manager).execute(roles.keeper, "USDC", "WETH", size_bps=5000)
    Market(w3, deployment, v3).move("WETH", -25)  # a heavy loss (spot far from TWAP too)
    transact(vault.fn.setPaused(True), roles.guardian)
    oracle = at(w3, "UniswapV3TwapOracle", deployment.cohort.oracle)
    weth = deployment.token("WETH").address
    views = ["asset", "totalAssets", "maxDeposit", "maxMint", "maxWithdraw", "maxRedeem", "convertToShares",
             "convertToAssets", "previewDeposit", "previewMint"]

    def read_all(sender: str) -> dict[str, int]:
        out = {}
        for name in views:
            fn = getattr(vault.fn, name)
            args = () if name in ("asset", "totalAssets") else (
                (investor,) if name.startswith("max") else (10**12,))
            out[name] = call(fn(*args), sender=sender)
        return out

    paused = read_all(investor)
    assert paused["maxDeposit"] == 0 and paused["maxMint"] == 0
    assert read_all(roles.outsider) == paused  # nothing depends on the caller
    # an oracle that cannot answer: max* still answer; NAV-based views refuse rather than leave the
    # asset out (test_adversaries covers a missing observation); deposits refuse with the same error
    transact(vault.fn.setPaused(False), roles.owner)
    transact(oracle.functions.removeFeed(weth), deployment.deployer)  # queued behind the feed timelock
    DevChain(w3).increase_time(call(oracle.functions.FEED_TIMELOCK()))
    transact(oracle.functions.removeFeed(weth), deployment.deployer)
    assert [call(getattr(vault.fn, name)(investor)) for name in ("maxDeposit", "maxMint", "maxWithdraw",
                                                                 "maxRedeem")] == [0, 0, 0, 0]
    for name in ("totalAssets", "convertToShares", "previewDeposit"):
        with reverts("OracleNoFeed", weth):
            call(getattr(vault.fn, name)(*(() if name == "totalAssets" else (10**12,))))
    nav, healthy = vault.valuation()
    assert not healthy and nav == vault.holdings(deployment.token("USDC").address)  # flagged partial view
    fund(w3, deployment, "USDC", investor, 1000 * USDC)
    with reverts("OracleNoFeed", weth):
        vault.deposit(1000 * USDC, investor)
    for name in ("previewWithdraw", "previewRedeem"):  # asynchronous flows: always revert (ERC-7540)
        with reverts("CohortAsyncRedemption"):
            call(getattr(vault.fn, name)(1))


def test_exact_balance_and_allowance_changes(w3: Web3, chain: DevChain, deployment: mf.Manifest, vault: Vault,
                                             roles: Roles) -> None:
    alice, bob, carol = roles.investors[:3]
    fund(w3, deployment, "USDC", alice, 10_000 * USDC)
    usdc = devnet.token(w3, deployment, "USDC")
    transact(usdc.functions.approve(vault.address, 10_000 * USDC), alice)
    preview = vault.preview_deposit(10_000 * USDC)
    transact(vault.fn.deposit(10_000 * USDC, bob), alice)  # alice pays, bob receives
    assert usdc_of(w3, deployment, alice) == 0
    assert call(usdc.functions.allowance(alice, vault.address)) == 0
    assert vault.balance_of(bob) == preview and vault.balance_of(alice) == 0
    # a third party needs an allowance (spent exactly) or operator rights to request for an owner
    with reverts("ERC20InsufficientAllowance"):
        transact(vault.fn.requestRedeem(10, carol, bob), carol)
    transact(vault.fn.approve(carol, 1_000), bob)
    transact(vault.fn.requestRedeem(1_000, carol, bob), carol)
    assert call(vault.fn.allowance(bob, carol)) == 0 and vault.balance_of(vault.address) == 1_000
    assert vault.balance_of(bob) == preview - 1_000
    # and only the controller or its operator may claim or cancel
    with reverts("CohortNotControllerOrOperator"):
        transact(vault.fn.cancelRedeemRequest(carol), bob)
    transact(vault.fn.setOperator(bob, True), carol)
    transact(vault.fn.cancelRedeemRequest(carol), bob)
    assert vault.balance_of(carol) == 1_000  # the controller gets the unsettled shares back


@pytest.mark.parametrize("donation", [10**6 * USDC, 10**9 * USDC])
def test_inflation_attack_leaves_the_victim_whole_also_after_the_vault_empties(
        donation: int, w3: Web3, chain: DevChain, deployment: mf.Manifest, roles: Roles) -> None:
    vault = make_vault(w3, deployment, roles, "target", VaultConfig(min_deposit=1, gate_bps=10_000))
    attacker, victim = roles.investors[0], roles.investors[1]
    for attempt in range(2):
        deposit(w3, deployment, vault, attacker, 1)  # one wei of USDC
        fund(w3, deployment, "USDC", vault.address, donation)  # then a large direct transfer
        victim_shares = deposit(w3, deployment, vault, victim, 1_000 * USDC)
        worth = call(vault.fn.convertToAssets(victim_shares))
        assert worth * 1000 >= 999 * 1_000 * USDC, f"attempt {attempt}: victim keeps {worth}"
        # everyone leaves; the vault is empty again for the second attempt
        for holder in (attacker, victim):
            vault.request_redeem(vault.balance_of(holder), holder)
        chain.increase_time(3 * DAY)
        exit_all(vault, chain, roles)
        vault.claim(victim)
        assert usdc_of(w3, deployment, victim) >= 999 * USDC * 1000 // 1000 - 1
        fund(w3, deployment, "USDC", victim, 0)
        assert vault.total_supply() == vault.balance_of(roles.fee_recipient)


def test_a_raw_transfer_does_not_move_the_price_per_share(w3: Web3, deployment: mf.Manifest,
                                                          roles: Roles) -> None:
    # no management fee: otherwise the fee-inclusive price falls a little every second anyway
    vault = make_vault(w3, deployment, roles, "no-mgmt", VaultConfig(management_fee_bps=0))
    deposit(w3, deployment, vault, roles.investors[0], 100_000 * USDC)
    SignalBook(vault, deployment, roles.manager).execute(roles.keeper, "USDC", "WETH", size_bps=2000)
    before = (vault.price_per_share(), vault.nav())
    for symbol, amount in (("USDC", 10**12), ("WETH", 10**20), ("WBTC", 10**9)):
        fund(w3, deployment, symbol, vault.address, amount)
    assert (vault.price_per_share(), vault.nav()) == before


# ---------------------------------------------------------------------------------------------
# running-total invariants over random sequences (SECURITY 8)

invariant_steps = st.lists(
    st.one_of(
        st.tuples(st.just("deposit"), st.integers(0, 3), st.integers(1, 200_000)),
        st.tuples(st.just("trade"), st.sampled_from(["buy", "sell"]), st.integers(500, 5000)),
        st.tuples(st.just("request"), st.integers(0, 3), st.integers(1, 100)),
        st.tuples(st.just("cancel"), st.integers(0, 3)),
        st.tuples(st.just("wait"), st.integers(3600, 3 * DAY)),
        st.tuples(st.just("settle")),
        st.tuples(st.just("claim"), st.integers(0, 3)),
    ),
    min_size=5,
    max_size=14,
)


@FAST
@given(steps=invariant_steps)
def test_running_totals_hold_over_random_sequences(steps, w3: Web3, chain: DevChain, deployment: mf.Manifest,
                                                  vault: Vault, roles: Roles) -> None:
    with chain.isolated():
        usdc, weth = deployment.token("USDC").address, deployment.token("WETH").address
        book = SignalBook(vault, deployment, roles.manager)
        people = list(roles.investors[:4])
        deposited = claimed = reserved_total = base_traded = 0
        weth_held = 0
        for step in steps:
            kind = step[0]
            try:
                if kind == "deposit":
                    amount = step[2] * USDC
                    deposit(w3, deployment, vault, people[step[1]], amount)
                    deposited += amount
                elif kind == "trade":
                    tin, tout = ("USDC", "WETH") if step[1] == "buy" else ("WETH", "USDC")
                    (t,) = vault.events(book.execute(roles.keeper, tin, tout, size_bps=step[2]), "TradeExecuted")
                    if step[1] == "buy":
                        base_traded -= t["amountIn"]
                        weth_held += t["amountOut"]
                    else:
                        base_traded += t["amountOut"]
                        weth_held -= t["amountIn"]
                elif kind == "request":
                    who = people[step[1]]
                    shares = vault.balance_of(who) * step[2] // 100
                    if shares:
                        vault.request_redeem(shares, who)
                elif kind == "cancel":
                    vault.cancel_redeem(people[step[1]])
                elif kind == "wait":
                    chain.increase_time(step[1])
                elif kind == "settle":
                    status = vault.redemption_status()
                    if status.due and status.assets_needed > status.base_available:
                        for ev in vault.events(vault.unwind_for_redemptions(roles.keeper), "LiquiditySold"):
                            weth_held -= ev["amountIn"]
                            base_traded += ev["amountOut"]
                    for ev in vault.events(vault.settle_redemptions(roles.keeper), "RedemptionsSettled"):
                        reserved_total += ev["assetsReserved"]
                else:
                    who = people[step[1]]
                    if vault.redeem_request_of(who).claimable_shares:
                        for ev in vault.events(vault.claim(who), "Withdraw"):
                            claimed += ev["assets"]
            except Exception as exc:  # a refused action must be a named refusal, never a panic
                name = getattr(exc, "name", "")
                assert name.startswith("Cohort") or name.startswith("ERC20"), exc
            # running totals
            holders = [*people, roles.fee_recipient, vault.address]
            assert sum(vault.balance_of(h) for h in holders) == vault.total_supply()
            assert vault.holdings(usdc) == deposited + base_traded - reserved_total
            assert vault.holdings(weth) == weth_held
            assert vault.reserved_assets() == reserved_total - claimed
            assert usdc_of(w3, deployment, vault.address) == vault.holdings(usdc) + vault.reserved_assets()
            pending = sum(vault.redeem_request_of(p).pending for p in [*people, roles.fee_recipient])
            assert vault.balance_of(vault.address) >= pending  # escrow covers every pending request
