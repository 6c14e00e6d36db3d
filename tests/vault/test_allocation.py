"""MAM allocation rules (issue 14, the library only): each rule's entitlement on worked
examples, fills in whole minimum lots with the dropped remainder carried to the next trade,
the max-trade cap, the residual bound over random sequences, and invalid rules refused by name.

Expected values are worked out here in exact rational arithmetic (`Fraction`) from the rules'
definitions in docs/DESIGN.md, not by re-running the library's integer steps."""

from __future__ import annotations

from fractions import Fraction
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from web3 import Web3
from web3.contract import Contract

from cohort.artifacts import project_artifact
from cohort.deploy import deploy
from cohort.tx import call
from tests.conftest import Roles
from tests.helpers import reverts

USDC = 10**6
WAD = 10**18
BPS = 10_000
NO_CAP = 2**256 - 1

PROPERTY = settings(max_examples=50, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


class Consts(NamedTuple):
    equity: int
    multiplier: int
    fixed_lot: int
    max_multiplier_bps: int
    scale: int


class Rule(NamedTuple):
    """Allocation.Rule, in ABI field order."""

    kind: int
    multiplier_bps: int = 0
    fixed_lot: int = 0
    min_lot: int = 1


class Trade(NamedTuple):
    """AllocationHarness.Trade: one master trade as one follower sees it."""

    base: int = 0
    fraction_wad: int = 0
    master_lots_wad: int = 0
    max_amount: int = NO_CAP


class Fill(NamedTuple):
    amount: int
    residual: int
    capped: int


@pytest.fixture(scope="module")
def harness(w3: Web3, roles: Roles) -> Contract:
    return deploy(w3, project_artifact("AllocationHarness"), sender=roles.deployer)


@pytest.fixture(scope="module")
def k(harness: Contract) -> Consts:
    return Consts(*call(harness.functions.constants()))


def entitled(k: Consts, rule: Rule, trade: Trade) -> Fraction:
    """The follower's exact entitlement in input-token base units, by the rule's definition."""
    if rule.kind == k.fixed_lot:
        return rule.fixed_lot * Fraction(trade.master_lots_wad, WAD)  # fixedLot per master lot
    factor = Fraction(rule.multiplier_bps, BPS) if rule.kind == k.multiplier else Fraction(1)
    return trade.base * Fraction(trade.fraction_wad, WAD) * factor  # the master's fraction, scaled


def entitlement(harness: Contract, rule: Rule, trade: Trade) -> int:
    return int(call(harness.functions.entitlement(tuple(rule), trade.base, trade.fraction_wad,
                                                  trade.master_lots_wad)))


def fill(harness: Contract, rule: Rule, exact: int, residual: int, max_amount: int = NO_CAP) -> Fill:
    return Fill(*call(harness.functions.fill(tuple(rule), exact, residual, max_amount)))


def allocate(harness: Contract, rule: Rule, trades: list[Trade]) -> tuple[list[int], list[int], list[int], int]:
    """(exact, amount, capped) per trade and the final residual, from a zero residual."""
    exact, amount, capped, residual = call(harness.functions.allocateSequence(
        tuple(rule), [tuple(t) for t in trades], 0))
    return list(exact), list(amount), list(capped), int(residual)


# ------------------------------------------------------------------ each rule on worked examples

def test_equity_follower_trades_the_masters_fraction_of_its_own_base(harness: Contract, k: Consts) -> None:
    rule = Rule(k.equity)
    trade = Trade(base=250_000 * USDC, fraction_wad=WAD // 8)  # the master trades 12.5% of its base
    exact = entitlement(harness, rule, trade)
    assert Fraction(exact, k.scale) == 31_250 * USDC  # 12.5% of this follower's 250,000 USDC
    assert fill(harness, rule, exact, 0) == Fill(31_250 * USDC, 0, 0)


def test_entitlement_is_exact_and_the_fill_rounds_down_to_the_base_unit(harness: Contract, k: Consts) -> None:
    rule = Rule(k.equity)
    trade = Trade(base=1_000_003, fraction_wad=WAD // 3)  # a third, as a WAD fraction, is not exact
    exact = entitlement(harness, rule, trade)
    assert Fraction(exact, k.scale) == entitled(k, rule, trade)  # nothing lost to rounding yet
    amount, residual, capped = fill(harness, rule, exact, 0)
    assert amount == 333_334  # 333,334.33... base units, rounded down for the vault
    assert Fraction(residual, k.scale) == entitled(k, rule, trade) - 333_334 and capped == 0


def test_multiplier_followers_trade_half_and_one_and_a_half_times_the_fraction(harness: Contract,
                                                                              k: Consts) -> None:
    trade = Trade(base=100_000 * USDC, fraction_wad=WAD // 10)  # the master trades 10%
    conservative, aggressive = Rule(k.multiplier, multiplier_bps=5_000), Rule(k.multiplier, multiplier_bps=15_000)
    assert fill(harness, conservative, entitlement(harness, conservative, trade), 0).amount == 5_000 * USDC
    assert fill(harness, aggressive, entitlement(harness, aggressive, trade), 0).amount == 15_000 * USDC


def test_the_max_trade_cap_bounds_the_fill_and_drops_the_excess_instead_of_carrying_it(harness: Contract,
                                                                                      k: Consts) -> None:
    rule = Rule(k.multiplier, multiplier_bps=15_000, min_lot=1_000 * USDC)
    exact = entitlement(harness, rule, Trade(base=100_000 * USDC, fraction_wad=WAD // 10))  # 15,000 USDC
    amount, residual, capped = fill(harness, rule, exact, 0, max_amount=12_500 * USDC)
    assert amount == 12_000 * USDC  # whole 1,000 USDC lots within the 12,500 cap
    assert Fraction(capped, k.scale) == 2_500 * USDC  # above the cap: dropped
    assert Fraction(residual, k.scale) == 500 * USDC  # within the cap, below a lot: carried


def test_a_multiplier_above_one_can_ask_for_more_than_the_base_and_the_cap_holds_it(harness: Contract,
                                                                                   k: Consts) -> None:
    rule = Rule(k.multiplier, multiplier_bps=30_000)
    trade = Trade(base=10_000 * USDC, fraction_wad=WAD // 2)  # 3x of 50% is 150% of the holding
    exact = entitlement(harness, rule, trade)
    assert Fraction(exact, k.scale) == 15_000 * USDC
    amount, residual, capped = fill(harness, rule, exact, 0, max_amount=10_000 * USDC)  # what it holds
    assert (amount, residual, Fraction(capped, k.scale)) == (10_000 * USDC, 0, 5_000 * USDC)


def test_fixed_lot_follower_trades_its_lot_per_master_lot_whatever_its_size(harness: Contract, k: Consts) -> None:
    rule = Rule(k.fixed_lot, fixed_lot=2_000 * USDC)
    for base in (0, 10**6 * USDC):  # the follower's size plays no part
        exact = entitlement(harness, rule, Trade(base=base, fraction_wad=WAD // 7, master_lots_wad=5 * WAD // 2))
        assert Fraction(exact, k.scale) == 5_000 * USDC  # 2.5 master lots
    exact = entitlement(harness, rule, Trade(master_lots_wad=3 * WAD // 10))
    assert fill(harness, rule, exact, 0) == Fill(600 * USDC, 0, 0)  # 0.3 master lots


def test_min_lot_fills_whole_lots_and_carries_the_rest_to_the_next_trade(harness: Contract, k: Consts) -> None:
    rule = Rule(k.equity, min_lot=100 * USDC)
    trades = [Trade(base=1_000 * USDC, fraction_wad=WAD // 4)] * 4  # 250 USDC owed each time
    exact, amount, capped, residual = allocate(harness, rule, trades)
    assert [Fraction(e, k.scale) for e in exact] == [250 * USDC] * 4
    # owed 250 -> 200 (50 carried); 300 -> 300; 250 -> 200 (50 carried); 300 -> 300
    assert amount == [200 * USDC, 300 * USDC, 200 * USDC, 300 * USDC]
    assert sum(amount) == 1_000 * USDC and residual == 0 and capped == [0] * 4


def test_a_follower_below_one_lot_waits_until_its_residual_makes_a_lot(harness: Contract, k: Consts) -> None:
    rule = Rule(k.equity, min_lot=100 * USDC)
    trades = [Trade(base=300 * USDC, fraction_wad=WAD // 10)] * 4  # 30 USDC owed each time
    _, amount, _, residual = allocate(harness, rule, trades)
    assert amount == [0, 0, 0, 100 * USDC]  # owed 30, 60, 90, then 120: one lot, 20 carried
    assert Fraction(residual, k.scale) == 20 * USDC


def test_a_residual_carried_across_a_change_of_min_lot_is_filled_in_the_new_lots(harness: Contract,
                                                                                 k: Consts) -> None:
    coarse, fine = Rule(k.equity, min_lot=100 * USDC), Rule(k.equity, min_lot=10 * USDC)
    first = fill(harness, coarse, 190 * USDC * k.scale, 0)
    assert first.amount == 100 * USDC and Fraction(first.residual, k.scale) == 90 * USDC
    second = fill(harness, fine, 5 * USDC * k.scale, first.residual)  # owed 95: nine lots of 10
    assert second.amount == 90 * USDC and Fraction(second.residual, k.scale) == 5 * USDC


# ------------------------------------------------------------------ the residual bound

@st.composite
def followers(draw: st.DrawFn, k: Consts, *, caps: bool) -> tuple[Rule, list[Trade]]:
    """A random rule and a random sequence of master trades for it. Most sizes are drawn
    against the minimum lot (up to about a thousand lots), so that fills, carries and caps all
    happen; the rest span the whole range."""
    min_lot = draw(st.integers(0, 24).flatmap(lambda e: st.integers(1, 10**e)))
    kind = draw(st.sampled_from([k.equity, k.multiplier, k.fixed_lot]))
    multipliers = st.one_of(st.sampled_from([5_000, 15_000, 30_000]), st.integers(1, k.max_multiplier_bps))
    multiplier_bps = draw(multipliers) if kind == k.multiplier else 0
    fixed_lot = (draw(st.one_of(st.integers(1, 100 * min_lot), st.integers(1, 2**128 - 1)))
                 if kind == k.fixed_lot else 0)
    near = st.builds(lambda lots, extra: lots * min_lot + extra, st.integers(1, 1_000), st.integers(0, min_lot - 1))
    bases = st.one_of(near, st.integers(0, 10**30))
    fractions = st.one_of(st.integers(1, 100).map(lambda pct: pct * WAD // 100), st.integers(0, WAD))
    master_lots = st.one_of(st.integers(1, 40).map(lambda q: q * WAD // 4), st.integers(0, 10**6 * WAD))
    limits = (st.one_of(st.just(NO_CAP), st.integers(0, 100 * min_lot), st.integers(0, 10**30)) if caps
              else st.just(NO_CAP))
    trades = draw(st.lists(st.builds(Trade, bases, fractions, master_lots, limits), min_size=1, max_size=40))
    return Rule(kind, multiplier_bps, fixed_lot, min_lot), trades


@PROPERTY
@given(data=st.data())
def test_cumulative_fills_never_exceed_the_entitlement_and_never_lag_it_by_a_lot(harness: Contract, k: Consts,
                                                                                data: Any) -> None:
    rule, seq = data.draw(followers(k, caps=False))
    exact, amount, capped, residual = allocate(harness, rule, seq)
    owed = fills = Fraction(0)
    for trade, e, a, c in zip(seq, exact, amount, capped, strict=True):
        assert Fraction(e, k.scale) == entitled(k, rule, trade)  # exact: nothing rounded away
        assert a % rule.min_lot == 0 and c == 0
        owed += entitled(k, rule, trade)
        fills += a
        assert 0 <= owed - fills < rule.min_lot  # after every trade, not only the last
    assert Fraction(residual, k.scale) == owed - fills  # the carried residual is the whole shortfall


@PROPERTY
@given(data=st.data())
def test_with_caps_fills_stay_within_each_cap_and_track_the_uncapped_entitlement(harness: Contract, k: Consts,
                                                                                data: Any) -> None:
    rule, seq = data.draw(followers(k, caps=True))
    exact, amount, capped, residual = allocate(harness, rule, seq)
    owed = fills = dropped = Fraction(0)
    for trade, e, a, c in zip(seq, exact, amount, capped, strict=True):
        assert Fraction(e, k.scale) == entitled(k, rule, trade)
        assert a % rule.min_lot == 0 and a <= trade.max_amount
        if c:  # the cap bound: the follower trades as many whole lots as the cap allows
            assert a > trade.max_amount - rule.min_lot
        owed += entitled(k, rule, trade)
        fills += a
        dropped += Fraction(c, k.scale)
        assert fills <= owed  # never ahead of the entitlement, cap or no cap
        assert 0 <= owed - dropped - fills < rule.min_lot
    assert Fraction(residual, k.scale) == owed - dropped - fills


# ------------------------------------------------------------------ invalid rules

@pytest.mark.parametrize(("rule_fields", "error", "args"), [
    ((3, 0, 0, 1), "AllocationUnknownKind", (3,)),
    ((1, 0, 0, 1), "AllocationInvalidMultiplier", (0, 100_000)),
    ((1, 100_001, 0, 1), "AllocationInvalidMultiplier", (100_001, 100_000)),
    ((2, 0, 0, 1), "AllocationZeroFixedLot", ()),
    ((0, 0, 0, 0), "AllocationZeroMinLot", ()),
    ((0, 15_000, 0, 1), "AllocationFieldNotUsed", (0,)),
    ((1, 15_000, 5, 1), "AllocationFieldNotUsed", (1,)),
    ((2, 5_000, 5, 1), "AllocationFieldNotUsed", (2,)),
])
def test_invalid_rules_are_refused_by_name_by_every_entry_point(harness: Contract, k: Consts,
                                                               rule_fields: tuple[int, int, int, int],
                                                               error: str, args: tuple[int, ...]) -> None:
    assert (k.equity, k.multiplier, k.fixed_lot, k.max_multiplier_bps) == (0, 1, 2, 100_000)
    rule = Rule(*rule_fields)
    with reverts(error, *args):
        call(harness.functions.validate(tuple(rule)))
    with reverts(error, *args):
        entitlement(harness, rule, Trade(base=USDC, fraction_wad=WAD // 2, master_lots_wad=WAD))
    with reverts(error, *args):
        fill(harness, rule, k.scale, 0)


def test_a_master_fraction_above_one_is_refused(harness: Contract, k: Consts) -> None:
    for rule in (Rule(k.equity), Rule(k.multiplier, multiplier_bps=5_000)):
        with reverts("AllocationFractionAboveOne", WAD + 1):
            entitlement(harness, rule, Trade(base=USDC, fraction_wad=WAD + 1))
