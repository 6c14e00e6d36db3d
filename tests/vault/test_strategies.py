"""MAM strategies (issue 14): one master signal fanned out to follower vaults with their own
allocation rules, executed as one block trade at one price on the real Uniswap pools; each
follower's own checks, exactly-once shares, the keeper's floor price and the timelock on following."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from cohort import manifest as mf
from cohort import signals
from cohort import strategies as st
from cohort.artifacts import project_artifact
from cohort.deploy import deploy
from cohort.dev import devnet
from cohort.dev.anvil import DevChain
from cohort.onchain import SizeMode
from cohort.protocol import RiskLimits, VaultConfig
from cohort.tx import call, decode_revert, transact
from cohort.uniswap import encode_v3_path
from cohort.vault import Vault
from tests import mam as shared
from tests.conftest import Roles, make_vault
from tests.helpers import Market, reverts

USDC = 10**6
WAD = 10**18
DAY = 86_400


@dataclass
class Mam:
    strategies: st.Strategies
    strategy_id: int
    book: shared.MasterBook  # builds and signs the strategy's master signals (USDC -> WETH by default)

    def run(self, signed: st.SignedMaster, followers: list[Vault], keeper: str, slippage_bps: int = 10) -> dict:
        receipt, floor = self.strategies.execute_at_market(signed, [f.address for f in followers], keeper,
                                                           slippage_bps)
        return {"receipt": receipt, "floor": floor,
                "master": self.strategies.events(receipt, "MasterExecuted")[0],
                "skipped": {e["follower"]: decode_revert(e["reason"])
                            for e in self.strategies.events(receipt, "FollowerSkipped")},
                "fills": {f.address: f.events(receipt, "TradeExecuted") for f in followers}}


def follower(w3: Web3, deployment: mf.Manifest, roles: Roles, strategy_id: int, rule: st.FollowRule,
             investor: str, assets: int, cfg: VaultConfig | None = None) -> Vault:
    """A vault with no timelock (unless `cfg`) that follows the strategy with `rule` and holds
    `assets` USDC (tests.mam.follower, with this module's arguments)."""
    return shared.follower(w3, deployment, roles, st.Strategies(w3, deployment.cohort.strategies or ""), strategy_id,
                           rule, deposit_usdc=assets // USDC, investor=roles.investors.index(investor), cfg=cfg)


@pytest.fixture()
def mam(w3: Web3, deployment: mf.Manifest, roles: Roles) -> Mam:
    strategies, strategy_id = shared.new_strategy(w3, deployment, roles)
    return Mam(strategies, strategy_id, shared.MasterBook(strategies, deployment, strategy_id, roles.manager))


EQUITY, AGGRESSIVE = shared.EQUITY, shared.ONE_AND_HALF
LOT = st.FollowRule(st.RuleKind.FIXED_LOT, fixed_lot=3_000 * USDC, min_lot=USDC)


def test_python_and_the_contract_share_one_master_signal_definition(mam: Mam, deployment: mf.Manifest) -> None:
    assert bytes(call(mam.strategies.fn.masterSignalTypehash())) == Web3.keccak(text=st.type_string())
    weth, usdc = deployment.token("WETH").address, deployment.token("USDC").address
    sell_weth = {"token_in": weth, "token_out": usdc, "path": encode_v3_path([weth, usdc], [3000])}
    for master in (mam.book.build(), mam.book.build(size_mode=SizeMode.NAV, lots=5 * WAD, nonce=2**200, **sell_weth)):
        signed = mam.book.sign(master)
        assert mam.strategies.master_digest(master) == signed.digest
        again = st.SignedMaster.from_json_dict(signed.to_json_dict())
        assert st.verify(again, mam.strategies.domain(), mam.book.manager.address) == signed.digest


def test_three_rules_fill_one_master_signal_at_one_price(w3: Web3, deployment: mf.Manifest, roles: Roles,
                                                         mam: Mam) -> None:
    inv = roles.investors
    a = follower(w3, deployment, roles, mam.strategy_id, EQUITY, inv[0], 100_000 * USDC)
    b = follower(w3, deployment, roles, mam.strategy_id, AGGRESSIVE, inv[1], 200_000 * USDC)
    c = follower(w3, deployment, roles, mam.strategy_id, LOT, inv[2], 50_000 * USDC)
    signed = mam.book.signed(size_bps=1000, lots=2 * WAD)  # 10% of holdings; 2 lots
    run = mam.run(signed, [a, b, c], roles.keeper)
    assert run["skipped"] == {}
    expected = {a.address: 10_000 * USDC, b.address: 30_000 * USDC, c.address: 6_000 * USDC}
    weth = deployment.token("WETH").address
    fills = {addr: trades[0] for addr, trades in run["fills"].items()}
    assert {addr: f["amountIn"] for addr, f in fills.items()} == expected
    master = run["master"]
    assert (master["totalIn"], master["filled"], master["skipped"]) == (46_000 * USDC, 3, 0)
    assert sum(f["amountOut"] for f in fills.values()) == master["totalOut"]
    for addr, f in fills.items():
        # the same price for all: each gets its pro-rata share of the block trade, to within a wei
        assert abs(f["amountOut"] * master["totalIn"] - master["totalOut"] * f["amountIn"]) <= 3 * master["totalIn"]
        assert f["amountOut"] * WAD >= f["amountIn"] * run["floor"]  # at least the keeper's floor
        assert f["digest"] == signed.digest and f["nonce"] == signed.master.nonce
        assert Vault(w3, addr).holdings(weth) == f["amountOut"]
    # nothing stays in the strategies contract
    for symbol in ("USDC", "WETH"):
        assert call(devnet.token(w3, deployment, symbol).functions.balanceOf(mam.strategies.address)) == 0


def test_a_follower_that_fails_its_own_check_is_skipped_with_its_reason(
        w3: Web3, deployment: mf.Manifest, roles: Roles, mam: Mam) -> None:
    inv = roles.investors
    ok = follower(w3, deployment, roles, mam.strategy_id, EQUITY, inv[0], 100_000 * USDC)
    paused = follower(w3, deployment, roles, mam.strategy_id, EQUITY, inv[1], 100_000 * USDC)
    picky = follower(w3, deployment, roles, mam.strategy_id, replace(EQUITY, tolerance_bps=10),
                     inv[2], 100_000 * USDC)
    transact(paused.fn.setPaused(True), roles.guardian)
    # the master saw WETH at 2,000 USDC: a fill near 3,000 is 33% worse than its reference
    signed = mam.book.signed(ref_price=signals.limit_price_wad("0.0005"))
    usdc = deployment.token("USDC").address
    before = {v.address: v.holdings(usdc) for v in (paused, picky)}
    run = mam.run(signed, [ok, paused, picky], roles.keeper)
    assert run["skipped"][paused.address] == ("CohortPaused", ())
    name, (floor_out, tolerance_out) = run["skipped"][picky.address]
    assert name == "CohortFillBelowTolerance" and floor_out < tolerance_out
    assert [f["amountIn"] for f in run["fills"][ok.address]] == [10_000 * USDC]
    assert (run["master"]["filled"], run["master"]["skipped"]) == (1, 2)
    assert {v.address: v.holdings(usdc) for v in (paused, picky)} == before
    # a skipped share is not spent: once unpaused, the same master fills that follower
    assert not mam.strategies.share_filled(mam.strategy_id, paused.address, signed.master.nonce)
    transact(paused.fn.setPaused(False), roles.owner)
    again = mam.run(signed, [paused], roles.keeper)
    assert [f["amountIn"] for f in again["fills"][paused.address]] == [10_000 * USDC]


def test_replaying_a_followers_share_reverts(w3: Web3, deployment: mf.Manifest, roles: Roles, mam: Mam) -> None:
    a = follower(w3, deployment, roles, mam.strategy_id, EQUITY, roles.investors[0], 100_000 * USDC)
    b = follower(w3, deployment, roles, mam.strategy_id, EQUITY, roles.investors[1], 100_000 * USDC)
    signed = mam.book.signed()
    mam.run(signed, [a], roles.keeper)
    assert mam.strategies.share_filled(mam.strategy_id, a.address, signed.master.nonce)
    total_in, total_out = mam.strategies.simulate(signed, [b.address], roles.keeper)
    floor = st.floor_price(total_in, total_out, 10)
    for followers in ([a], [b, a], [b, b]):  # a again, or b twice in one list
        with reverts("StrategyShareFilled"):
            mam.strategies.execute(signed, [f.address for f in followers], floor, roles.keeper)
    # the rest of the master (b) still fills once
    run = mam.run(signed, [b], roles.keeper)
    assert [f["amountIn"] for f in run["fills"][b.address]] == [10_000 * USDC]


def test_the_manager_cancels_a_master_signal_before_it_runs(w3: Web3, deployment: mf.Manifest, roles: Roles,
                                                             mam: Mam) -> None:
    a = follower(w3, deployment, roles, mam.strategy_id, EQUITY, roles.investors[0], 100_000 * USDC)
    b = follower(w3, deployment, roles, mam.strategy_id, EQUITY, roles.investors[1], 100_000 * USDC)
    signed = mam.book.signed(nonce=2**70 + 3)
    mam.run(signed, [a], roles.keeper)  # a chunk ran before the cancel: it stays filled
    word, bit = signed.master.nonce >> 8, 1 << (signed.master.nonce & 0xFF)
    with reverts("StrategyNotManager", roles.keeper):
        transact(mam.strategies.fn.cancelMasters(mam.strategy_id, word, bit), roles.keeper)
    receipt = transact(mam.strategies.fn.cancelMasters(mam.strategy_id, word, bit), mam.book.manager.address)
    assert mam.strategies.events(receipt, "MastersCancelled")[0]["mask"] == bit
    assert call(mam.strategies.fn.masterCancelled(mam.strategy_id, signed.master.nonce))
    with reverts("StrategyMasterCancelled", mam.strategy_id, signed.master.nonce):
        mam.strategies.execute(signed, [b.address], 1, roles.keeper)
    assert mam.strategies.share_filled(mam.strategy_id, a.address, signed.master.nonce)


def test_only_the_strategy_managers_signature_and_a_followers_keeper_move_funds(
        w3: Web3, deployment: mf.Manifest, roles: Roles, mam: Mam, outsider_key: LocalAccount) -> None:
    a = follower(w3, deployment, roles, mam.strategy_id, EQUITY, roles.investors[0], 100_000 * USDC)
    forged = mam.book.sign(mam.book.build(), signer=outsider_key)
    with reverts("CohortInvalidSignature"):
        mam.strategies.execute(forged, [a.address], 1, roles.keeper)
    signed = mam.book.signed()
    run = mam.run(signed, [a], roles.outsider)  # anyone may call; the vault checks its keeper list
    name, (who,) = run["skipped"][a.address]
    assert (name, who.lower()) == ("CohortNotKeeper", roles.outsider.lower())
    # a vault cannot be driven by anyone but CohortStrategies
    with reverts("CohortNotStrategies", roles.keeper):
        transact(a.fn.strategyPrepare(roles.keeper, signed.master.as_tuple(), [], 1), roles.keeper)
    with reverts("CohortNotStrategies", roles.keeper):
        transact(a.fn.strategySettle(signed.digest, roles.keeper, 1), roles.keeper)


def test_a_low_floor_never_fills_a_follower_below_its_own_minimum(
        w3: Web3, deployment: mf.Manifest, roles: Roles, mam: Mam) -> None:
    a = follower(w3, deployment, roles, mam.strategy_id, EQUITY, roles.investors[0], 100_000 * USDC)
    signed = mam.book.signed()
    # a keeper (or a sandwich) offering 1 wei per unit: the follower refuses, nothing moves
    receipt = mam.strategies.execute(signed, [a.address], 1, roles.keeper)
    ((name, (floor_out, min_out)),) = [decode_revert(e["reason"])
                                       for e in mam.strategies.events(receipt, "FollowerSkipped")]
    assert name == "CohortFillBelowMinimum" and floor_out < min_out
    # a floor above what the pool pays reverts the whole chunk: no follower fills below the floor
    total_in, total_out = mam.strategies.simulate(signed, [a.address], roles.keeper)
    too_high = st.fill_price_wad(total_in, total_out) * 101 // 100
    with reverts("StrategyBelowFloor"):
        mam.strategies.execute(signed, [a.address], too_high, roles.keeper)


def test_residuals_carry_so_fills_track_the_entitlement(w3: Web3, deployment: mf.Manifest, roles: Roles,
                                                        mam: Mam) -> None:
    # 1% of 10,000 USDC is 100 USDC a trade; fills come in whole lots of 150 USDC
    rule = st.FollowRule(st.RuleKind.EQUITY, min_lot=150 * USDC)
    a = follower(w3, deployment, roles, mam.strategy_id, rule, roles.investors[0], 10_000 * USDC)
    usdc = deployment.token("USDC").address
    exact_total = Decimal(0)
    filled = 0
    scale = 10**18 * 10_000
    for _ in range(6):
        held = a.holdings(usdc)
        exact_total += Decimal(held) / 100
        run = mam.run(mam.book.signed(size_bps=100), [a], roles.keeper)
        filled += sum(f["amountIn"] for f in run["fills"][a.address])
        residual = int(call(a.fn.residualOf(usdc)))
        assert 0 <= residual < 150 * USDC * scale
        assert Decimal(filled) + Decimal(residual) / scale == exact_total  # nothing lost, nothing invented
    assert filled > 0


def test_following_waits_behind_the_timelock_and_unfollowing_is_immediate(
        w3: Web3, chain: DevChain, deployment: mf.Manifest, roles: Roles, mam: Mam) -> None:
    vault = make_vault(w3, deployment, roles, "timelocked")  # 1-day timelock
    with reverts("CohortNotOwner"):
        transact(vault.fn.followStrategy(mam.strategy_id, EQUITY.as_tuple()), roles.outsider)
    with reverts("StrategyUnknown", 999):
        transact(vault.fn.followStrategy(999, EQUITY.as_tuple()), roles.owner)
    with reverts("AllocationInvalidMultiplier"):
        transact(vault.fn.followStrategy(mam.strategy_id, (1, 0, 0, 1, 0)), roles.owner)
    receipt = transact(vault.fn.followStrategy(mam.strategy_id, AGGRESSIVE.as_tuple()), roles.owner)
    assert vault.events(receipt, "ChangeSubmitted")
    assert call(vault.fn.followState())[0] == 0
    with reverts("CohortTimelockPending"):
        transact(vault.fn.followStrategy(mam.strategy_id, AGGRESSIVE.as_tuple()), roles.owner)
    chain.increase_time(DAY)
    receipt = transact(vault.fn.followStrategy(mam.strategy_id, AGGRESSIVE.as_tuple()), roles.owner)
    (followed,) = vault.events(receipt, "StrategyFollowed")
    assert followed["strategyId"] == mam.strategy_id
    strategy_id, rule = call(vault.fn.followState())
    assert (strategy_id, st.FollowRule.from_tuple(rule)) == (mam.strategy_id, AGGRESSIVE)
    # the guardian can stop following at once
    receipt = transact(vault.fn.unfollowStrategy(), roles.guardian)
    assert vault.events(receipt, "StrategyUnfollowed")
    assert call(vault.fn.followState())[0] == 0


def test_each_follower_keeps_its_own_limits_loss_budget_size_cap_and_price_bound(
        w3: Web3, deployment: mf.Manifest, roles: Roles, mam: Mam) -> None:
    inv = roles.investors
    ok = follower(w3, deployment, roles, mam.strategy_id, EQUITY, inv[0], 100_000 * USDC)
    tight = follower(w3, deployment, roles, mam.strategy_id, EQUITY, inv[1], 100_000 * USDC,
                     VaultConfig(timelock=0, risk=RiskLimits(loss_budget_bps=1)))  # 0.01% of NAV a day
    # 10x a 10% master asks for all the USDC: the vault's max-trade limit (50% of NAV) caps it
    wild = follower(w3, deployment, roles, mam.strategy_id,
                    st.FollowRule(st.RuleKind.MULTIPLIER, multiplier_bps=100_000), inv[2], 100_000 * USDC)
    signed = mam.book.signed(size_bps=1000)
    run = mam.run(signed, [ok, tight, wild], roles.keeper)
    name, (loss, available) = run["skipped"][tight.address]
    assert name == "CohortLossBudgetExceeded" and loss > available
    assert [f["amountIn"] for f in run["fills"][wild.address]] == [50_000 * USDC]
    (allocated,) = wild.events(run["receipt"], "StrategyAllocated")
    assert allocated["capped"] == 50_000 * USDC * 10**18 * 10_000  # dropped, not carried
    assert allocated["residual"] == 0
    # a sandwich pushes WETH's spot 5% away from its TWAP: every follower refuses by its own bound
    Market(w3, deployment).move("WETH", 5)
    run = mam.run(mam.book.signed(), [ok, wild], roles.keeper)
    assert {name for name, _ in run["skipped"].values()} == {"CohortPriceDeviation"}
    assert run["master"]["totalIn"] == 0


def test_a_fake_follower_claiming_input_it_never_sent_cannot_share_the_trade(
        w3: Web3, deployment: mf.Manifest, roles: Roles, mam: Mam) -> None:
    real = follower(w3, deployment, roles, mam.strategy_id, EQUITY, roles.investors[0], 100_000 * USDC)
    fake = deploy(w3, project_artifact("FakeFollower"), 5_000 * USDC, sender=roles.outsider)
    signed = mam.book.signed()
    total_in, total_out = mam.strategies.simulate(signed, [real.address], roles.keeper)
    with reverts("StrategyTransferMismatch"):
        mam.strategies.execute(signed, [real.address, fake.address], st.floor_price(total_in, total_out, 10),
                               roles.keeper)


@pytest.fixture()
def outsider_key() -> LocalAccount:
    return Account.from_key("0x" + "42" * 32)
