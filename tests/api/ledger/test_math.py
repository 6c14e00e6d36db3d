"""The vault's arithmetic, rounding for rounding."""

from __future__ import annotations

from api.ledger.math import (
    RAY,
    WAD,
    bps_difference,
    fee_index_increment,
    pending_of,
    price,
    price_per_share,
    ratio,
    settled_of,
    to_assets,
)


def test_a_request_splits_into_settled_and_pending_parts_that_add_up() -> None:
    units, r = 1_000_003, RAY // 3
    shares, assets = settled_of(units, r, 2 * RAY)
    assert shares + pending_of(units, r) == units
    assert pending_of(units, r) == units // 3  # floor(units * r / RAY)
    assert assets == 2 * units


def test_price_per_share_and_conversions_round_down_with_the_virtual_offset() -> None:
    assert price_per_share(0, 0) == WAD
    assert price_per_share(10**6, 10**12) == WAD  # 1 USDC per share (shares carry 6 more decimals)
    assert price_per_share(2, 3 * 10**6) == 2 * 10**24 // (3 * 10**6)
    assert to_assets(10**12, 10**6, 10**12) == (10**12 * (10**6 + 1)) // (10**12 + 10**6)


def test_the_fee_index_is_the_value_of_the_mint_per_share_before_it() -> None:
    minted, nav, supply_after = 10, 1_000, 110
    assert fee_index_increment(minted, nav, supply_after) == minted * nav * 10**36 // (110 * 100)
    assert fee_index_increment(0, nav, supply_after) == 0
    assert fee_index_increment(5, nav, 5) == 0  # nothing existed before the mint


def test_human_numbers_are_plain_decimal_strings() -> None:
    assert ratio(1, 3) == "0.333333333333333333"
    assert ratio(6, 3) == "2"
    assert ratio(1, 0) == "0"
    assert price(3_000 * 10**6, 6, 10**18, 18) == "3000"
    assert price(1, 6, 0, 18) is None
    assert bps_difference("101", "100") == "100"
    assert bps_difference("99.5", "100") == "-50"
    assert bps_difference(None, "1") is None
