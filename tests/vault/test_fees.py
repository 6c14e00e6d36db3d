"""Fees (SECURITY 9-13): management fee by dilution, high-water-mark performance fee, both
checked to the wei against the independent model in fee_model.py."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from web3 import Web3

from cohort import manifest as mf
from cohort.deploy import at
from cohort.dev import devnet
from cohort.dev.anvil import DevChain
from cohort.errors import ContractRevert
from cohort.protocol import VaultConfig
from cohort.tx import call, transact
from cohort.vault import Vault
from tests.conftest import Roles, make_vault
from tests.helpers import Market, SignalBook, block_time, deposit, fund, log_names
from tests.vault.fee_model import PPS_SCALE, YEAR, FeeModel, pps

USDC = 10**6
DAY = 86_400


@dataclass
class Books:
    """What the model knows, from its own bookkeeping: holdings per token."""

    base: int = 0
    held: dict[str, int] = field(default_factory=dict)


def nav_at(w3: Web3, m: mf.Manifest, books: Books, receipt) -> int:
    """The model's NAV priced at the receipt's block: the TWAP moves every second, and deposits
    and accruals do not touch the pools, so this is the price the vault saw."""
    oracle = at(w3, "UniswapV3TwapOracle", m.cohort.oracle)
    nav = books.base
    for token, amount in books.held.items():
        if amount:
            nav += oracle.functions.quote(token, amount, m.token("USDC").address, 1800).call(
                block_identifier=receipt["blockNumber"])[0]
    return nav


def check_accrual(w3: Web3, vault: Vault, model: FeeModel, receipt, nav: int) -> None:
    (ev,) = vault.events(receipt, "FeesAccrued")
    expected = model.accrue(nav, block_time(w3, receipt))
    assert ev["nav"] == nav
    assert (ev["managementShares"], ev["performanceShares"]) == (expected.management, expected.performance)
    assert ev["supply"] == expected.supply_after
    assert ev["highWaterMark"] == expected.hwm == vault.high_water_mark()


actions = st.lists(
    st.one_of(
        st.tuples(st.just("deposit"), st.integers(0, 2), st.integers(1_000, 400_000)),
        st.tuples(st.just("buy"), st.integers(500, 5000)),
        st.tuples(st.just("sell"), st.integers(1000, 10_000)),
        st.tuples(st.just("move"), st.sampled_from([-6, -3, 3, 6, 12])),
        st.tuples(st.just("wait"), st.integers(60, 120 * DAY)),
        st.tuples(st.just("accrue")),
    ),
    min_size=4,
    max_size=9,
)


@settings(max_examples=12, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=actions)
def test_fee_model_agrees_with_the_vault_to_the_wei(steps, w3: Web3, chain: DevChain, deployment: mf.Manifest,
                                                   vault: Vault, roles: Roles, v3) -> None:
    with chain.isolated():
        usdc, weth = deployment.token("USDC").address, deployment.token("WETH").address
        fee = vault.fee_state()
        model = FeeModel(fee.management_fee_bps, fee.performance_fee_bps, fee.last_accrual)
        books = Books(held={weth: 0})
        book = SignalBook(vault, deployment, roles.manager)
        market = Market(w3, deployment, v3)
        first = deposit(w3, deployment, vault, roles.investors[0], 100_000 * USDC)  # something to charge
        model.hwm, model.supply, model.last_accrual = vault.high_water_mark(), first, vault.fee_state().last_accrual
        books.base = 100_000 * USDC
        for step in steps:
            kind = step[0]
            if kind == "deposit":
                investor, amount = roles.investors[step[1]], step[2] * USDC
                fund(w3, deployment, "USDC", investor, amount)
                receipt = vault.deposit(amount, investor)
                nav = nav_at(w3, deployment, books, receipt)
                check_accrual(w3, vault, model, receipt, nav)
                (dep,) = vault.events(receipt, "Deposit")
                assert dep["shares"] == model.deposit(amount, nav)
                books.base += amount
            elif kind in ("buy", "sell"):
                if kind == "sell" and books.held[weth] == 0:
                    continue
                tin, tout = ("USDC", "WETH") if kind == "buy" else ("WETH", "USDC")
                try:
                    receipt = book.execute(roles.keeper, tin, tout, size_bps=step[1], slippage_bps=100)
                except ContractRevert as exc:  # refused for slippage as the TWAP moved: not a fee matter
                    assert exc.name in ("AdapterSwapFailed", "CohortInsufficientOutput", "CohortTradeTooLarge"), exc
                    continue
                (trade,) = vault.events(receipt, "TradeExecuted")
                if kind == "buy":
                    books.base -= trade["amountIn"]
                    books.held[weth] += trade["amountOut"]
                else:
                    books.held[weth] -= trade["amountIn"]
                    books.base += trade["amountOut"]
            elif kind == "move":
                market.move("WETH", step[1])
                market.settle_twap(1800)  # a TWAP that has caught up keeps deposits within the guard
            elif kind == "wait":
                chain.increase_time(step[1])
            else:
                receipt = vault.accrue_fees(roles.outsider)
                check_accrual(w3, vault, model, receipt, nav_at(w3, deployment, books, receipt))
            assert vault.holdings(usdc) == books.base and vault.holdings(weth) == books.held[weth]
            assert vault.total_supply() == model.supply


def test_fees_accrue_before_every_supply_change_and_parameter_change(
        w3: Web3, chain: DevChain, deployment: mf.Manifest, vault: Vault, roles: Roles) -> None:
    investor = roles.investors[0]
    deposit(w3, deployment, vault, investor, 50_000 * USDC)
    chain.increase_time(30 * DAY)
    fund(w3, deployment, "USDC", investor, 1_000 * USDC)
    assert log_names(vault, vault.deposit(1_000 * USDC, investor))[:1] == ["FeesAccrued"]
    chain.increase_time(DAY)
    # a fee cut applies at once, after accruing at the old rate
    receipt = transact(vault.fn.setFees(100, 1000), roles.owner)
    assert log_names(vault, receipt) == ["FeesAccrued", "FeesSet"]
    assert vault.events(receipt, "FeesAccrued")[0]["managementShares"] > 0
    receipt = transact(vault.fn.setFeeRecipient(roles.outsider), roles.owner)
    assert log_names(vault, receipt) == ["FeesAccrued", "FeeRecipientSet"]
    # settlement crystallises first
    vault.request_redeem(vault.balance_of(investor) // 2, investor)
    chain.increase_time(3 * DAY)
    receipt = vault.settle_redemptions(roles.keeper)
    names = log_names(vault, receipt)
    assert names.index("FeesAccrued") < names.index("RedemptionsSettled")


def test_accruing_once_or_daily_gives_the_same_fee_within_compounding(
        w3: Web3, chain: DevChain, deployment: mf.Manifest, vault: Vault, roles: Roles) -> None:
    deposit(w3, deployment, vault, roles.investors[0], 1_000_000 * USDC)
    start = vault.total_supply()
    recipient = roles.fee_recipient
    with chain.isolated():
        chain.increase_time(30 * DAY)
        vault.accrue_fees(roles.outsider)
        once = vault.balance_of(recipient)
    for _ in range(30):
        chain.increase_time(DAY)
        vault.accrue_fees(roles.outsider)
    daily = vault.balance_of(recipient)
    # accruing more often compounds the dilution: f1 + f2 - f1*f2 <= f1 + f2
    f = 200 * 30 * DAY / (10_000 * YEAR)
    assert daily <= once
    assert once - daily <= start * f * f / 2 / (1 - f) ** 2 + 30
    assert once > 0


def test_a_fee_too_small_to_mint_is_never_lost(w3: Web3, chain: DevChain, deployment: mf.Manifest,
                                               roles: Roles) -> None:
    small = make_vault(w3, deployment, roles, "tiny", VaultConfig(min_deposit=1))
    deposit(w3, deployment, small, roles.investors[0], 1)  # 1e-6 USDC: 1e6 share wei
    recipient = roles.fee_recipient
    for _ in range(24):
        chain.increase_time(600)
        small.accrue_fees(roles.outsider)  # each 10 minutes' fee alone is 0.38 share wei
    # the clock waited while the fee rounded to zero, so the fee arrived, and each mint loses
    # less than one share wei to rounding compared with one accrual over the whole period
    supply, dt = 10**6, 24 * 600
    once = supply * 200 * dt // (10_000 * YEAR - 200 * dt)
    got = small.balance_of(recipient)
    assert got >= 1
    assert once - got < got  # fewer lost than minted: at most one per mint


@pytest.fixture()
def perf_vault(w3: Web3, deployment: mf.Manifest, roles: Roles) -> Vault:
    """A vault charging only the performance fee (20%), so HWM arithmetic stands alone."""
    return make_vault(w3, deployment, roles, "perf-only", VaultConfig(management_fee_bps=0, performance_fee_bps=2000))


def _invest_in_weth(w3, deployment, vault, roles, amount=200_000 * USDC, bps=5000) -> SignalBook:
    deposit(w3, deployment, vault, roles.investors[0], amount)
    book = SignalBook(vault, deployment, roles.manager)
    book.execute(roles.keeper, "USDC", "WETH", size_bps=bps)
    return book


def test_high_water_mark_rules(w3: Web3, chain: DevChain, deployment: mf.Manifest, perf_vault: Vault,
                               roles: Roles, v3) -> None:
    market = Market(w3, deployment, v3)
    _invest_in_weth(w3, deployment, perf_vault, roles)
    perf_vault.accrue_fees(roles.outsider)
    h0 = perf_vault.high_water_mark()
    # a loss: no fee, H does not drop
    market.move("WETH", -10)
    market.settle_twap()
    ev = perf_vault.events(perf_vault.accrue_fees(roles.outsider), "FeesAccrued")[0]
    assert ev["performanceShares"] == 0 and ev["highWaterMark"] == h0 == perf_vault.high_water_mark()
    assert ev["pricePerShare"] < h0
    # recovering up to (but not above) H: still no fee
    market.move("WETH", 9)
    market.settle_twap()
    ev = perf_vault.events(perf_vault.accrue_fees(roles.outsider), "FeesAccrued")[0]
    if ev["pricePerShare"] <= h0:
        assert ev["performanceShares"] == 0 and perf_vault.high_water_mark() == h0
    # above H: a fee, and H is the price after the fee shares are minted
    market.move("WETH", 12)
    market.settle_twap()
    ev = perf_vault.events(perf_vault.accrue_fees(roles.outsider), "FeesAccrued")[0]
    assert ev["performanceShares"] > 0
    assert ev["highWaterMark"] == ev["nav"] * PPS_SCALE // ev["supply"] == ev["pricePerShare"]
    assert ev["highWaterMark"] > h0
    # the fee is p * (pps - H) * S in value
    supply_before = ev["supply"] - ev["performanceShares"]
    pps_before = ev["nav"] * PPS_SCALE // supply_before
    fee_value = ev["performanceShares"] * ev["nav"] // ev["supply"]
    assert abs(fee_value - 2000 * (pps_before - h0) * supply_before // (10_000 * PPS_SCALE)) <= 2


def test_no_fee_on_a_donation(w3: Web3, deployment: mf.Manifest, perf_vault: Vault, roles: Roles) -> None:
    deposit(w3, deployment, perf_vault, roles.investors[0], 100_000 * USDC)
    price = perf_vault.price_per_share()
    fund(w3, deployment, "USDC", perf_vault.address, 50_000 * USDC)  # sent straight to the vault
    devnet.fund(w3, deployment, "WETH", perf_vault.address, 10**18)
    assert perf_vault.price_per_share() == price and perf_vault.nav() == 100_000 * USDC
    ev = perf_vault.events(perf_vault.accrue_fees(roles.outsider), "FeesAccrued")[0]
    assert ev["performanceShares"] == 0 and ev["managementShares"] == 0


def test_no_fee_on_gains_before_the_first_deposit_and_h_restarts_when_the_vault_empties(
        w3: Web3, chain: DevChain, deployment: mf.Manifest, perf_vault: Vault, roles: Roles, v3) -> None:
    investor = roles.investors[0]
    # gains before anyone deposited: nothing to charge them to; the first price is the entry price
    deposit(w3, deployment, perf_vault, investor, 100_000 * USDC)
    assert perf_vault.high_water_mark() == pps(100_000 * USDC, perf_vault.total_supply())
    ev = perf_vault.events(perf_vault.accrue_fees(roles.outsider), "FeesAccrued")[0]
    assert ev["performanceShares"] == 0
    # a profit, crystallised: H rises
    market = Market(w3, deployment, v3)
    book = SignalBook(perf_vault, deployment, roles.manager)
    book.execute(roles.keeper, "USDC", "WETH", size_bps=5000)
    market.move("WETH", 12)
    market.settle_twap()
    perf_vault.accrue_fees(roles.outsider)
    high = perf_vault.high_water_mark()
    assert high > 10**18
    # everyone leaves (the investor and the fee recipient): supply returns to zero
    for holder in (investor, roles.fee_recipient):
        perf_vault.request_redeem(perf_vault.balance_of(holder), holder)
    chain.increase_time(3 * DAY)
    exit_all(perf_vault, chain, roles)
    assert perf_vault.total_supply() == 0
    # the next depositor starts a new mark at their own entry price, below the old one
    newcomer = roles.investors[1]
    deposit(w3, deployment, perf_vault, newcomer, 10_000 * USDC)
    assert perf_vault.high_water_mark() < high
    assert perf_vault.high_water_mark() == pps(perf_vault.nav(), perf_vault.total_supply())


def exit_all(vault: Vault, chain: DevChain, roles: Roles) -> list[dict]:
    """Keeper rounds until the redemption queue is empty: unwind when short, then settle."""
    rounds = []
    while vault.redemption_status().epoch:
        status = vault.redemption_status()
        if not status.due:
            chain.increase_time(status.matures_at - chain.timestamp() + 1)
            continue
        if status.assets_needed > status.base_available:
            vault.unwind_for_redemptions(roles.keeper)
        rounds += vault.events(vault.settle_redemptions(roles.keeper), "RedemptionsSettled")
        chain.increase_time(DAY)
    return rounds


def test_depositing_before_a_crystallisation_and_leaving_after_gains_nothing_extra(
        w3: Web3, chain: DevChain, deployment: mf.Manifest, roles: Roles, v3) -> None:
    """The newcomer neither pays for nor escapes the fee on gains made before they joined, and
    earns exactly the pool's price-per-share return between entry and settlement."""
    vault = make_vault(w3, deployment, roles, "ungated", VaultConfig(gate_bps=10_000))
    early, late = roles.investors[0], roles.investors[1]
    market = Market(w3, deployment, v3)
    deposit(w3, deployment, vault, early, 300_000 * USDC)
    SignalBook(vault, deployment, roles.manager).execute(roles.keeper, "USDC", "WETH", size_bps=5000)
    market.move("WETH", 8)  # unrealised, uncrystallised gain before `late` arrives
    market.settle_twap()
    assert vault.pending_fee_shares()[1] > 0
    fund(w3, deployment, "USDC", late, 100_000 * USDC)
    receipt = vault.deposit(100_000 * USDC, late)
    late_shares = vault.events(receipt, "Deposit")[0]["shares"]
    entry = vault.events(receipt, "FeesAccrued")[0]  # the price both paid and held at, that block
    assert vault.pending_fee_shares()[1] == 0  # the deposit crystallised the earlier gain first
    after = vault.events(vault.accrue_fees(roles.outsider), "FeesAccrued")[0]
    assert after["performanceShares"] == 0  # crystallising right after joining charges nothing
    early_shares = vault.balance_of(early)
    vault.request_redeem(late_shares, late)
    (settled,) = exit_all(vault, chain, roles)
    usdc = devnet.token(w3, deployment, "USDC")
    before = call(usdc.functions.balanceOf(late))
    vault.claim(late)
    received = call(usdc.functions.balanceOf(late)) - before
    # paid exactly the settlement price for every share, like the investors who stay
    assert 0 <= late_shares * (settled["nav"] + 1) // (settled["supply"] + 10**6) - received <= 1
    # the same percentage as the early investor over the same window (to rounding)
    late_return = received * 10**18 // (100_000 * USDC)
    early_entry = early_shares * (entry["nav"] + 1) // (entry["supply"] + 10**6)
    early_exit = early_shares * (settled["nav"] + 1) // (settled["supply"] + 10**6)
    assert abs(late_return - early_exit * 10**18 // early_entry) <= 10**8  # 1e-10 relative
