"""The vault's arithmetic, integer for integer (the contracts name every rounding; so do we).

Shares have DECIMALS_OFFSET more decimals than the asset (OpenZeppelin's virtual offset);
prices per share are 1e18-scaled (1e18 = one asset per share); redemption fractions are RAY.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

WAD = 10**18
RAY = 10**27
BPS = 10_000
DECIMALS_OFFSET = 6
VIRTUAL_SHARES = 10**DECIMALS_OFFSET
PPS_SCALE = 10 ** (18 + DECIMALS_OFFSET)
# Fees borne: the fee index grows by minted * nav * FEE_INDEX_SCALE / (supply_after * supply_before)
# (floor) at each accrual; an account bears `shares * index_delta / FEE_INDEX_SCALE` (floor, once).
FEE_INDEX_SCALE = 10**36


def pending_of(units: int, remaining_ray: int) -> int:
    """Shares of a request still waiting: floor(units * r / RAY) (Redemptions.pendingOf)."""
    return units * remaining_ray // RAY


def settled_of(units: int, remaining_ray: int, assets_per_unit_ray: int) -> tuple[int, int]:
    """Settled shares and reserved assets of a request (Redemptions.settledOf)."""
    return units - units * remaining_ray // RAY, units * assets_per_unit_ray // RAY


def price_per_share(nav: int, supply: int) -> int:
    """Accounting.pps: nav * 1e24 / supply rounded down, 1e18 when there is no supply."""
    return WAD if supply == 0 else nav * PPS_SCALE // supply


def to_assets(shares: int, nav: int, supply: int) -> int:
    """Accounting.toAssets rounded down (what convertToAssets returns)."""
    return shares * (nav + 1) // (supply + VIRTUAL_SHARES)


def fee_index_increment(minted: int, nav: int, supply_after: int) -> int:
    """Growth of the fee index at one accrual: the value of the minted shares (at the price
    after the mint) per share that existed before it, times FEE_INDEX_SCALE, rounded down."""
    supply_before = supply_after - minted
    if minted <= 0 or supply_before <= 0:
        return 0
    return minted * nav * FEE_INDEX_SCALE // (supply_after * supply_before)


def fee_value(minted: int, nav: int, supply_after: int) -> int:
    """Value of `minted` fee shares at the price after the mint, rounded down."""
    return minted * nav // supply_after if supply_after else 0


def pro_rata(amount: int, part: int, whole: int) -> int:
    """floor(amount * part / whole); zero when `whole` is zero."""
    return amount * part // whole if whole else 0


def ratio(numerator: int, denominator: int, digits: int = 18) -> str:
    """numerator / denominator as a decimal string with `digits` places (rounded toward zero).
    Integer arithmetic: exact, and a tenth of Decimal's cost (the MAM view asks for one a ticket)."""
    if denominator == 0:
        return "0"
    negative = (numerator < 0) != (denominator < 0)
    scaled_q = abs(numerator) * 10**digits // abs(denominator)
    whole, frac = divmod(scaled_q, 10**digits)
    text = str(whole) if frac == 0 else f"{whole}.{frac:0{digits}d}".rstrip("0")
    return "-" + text if negative and scaled_q else text


def scaled(amount: int, decimals: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 100
        return Decimal(amount).scaleb(-decimals)


def price(amount_out: int, decimals_out: int, amount_in: int, decimals_in: int, digits: int = 18) -> str | None:
    """Whole tokenOut per whole tokenIn, as a decimal string (None without an input)."""
    if amount_in == 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 100
        q = scaled(amount_out, decimals_out) / scaled(amount_in, decimals_in)
        return _plain(q.quantize(Decimal(1).scaleb(-digits), rounding="ROUND_DOWN"))


def bps_difference(value: str | None, reference: str | None) -> str | None:
    """(value - reference) / reference in basis points, 4 decimals; None if undefined."""
    if value is None or reference is None or Decimal(reference) == 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 100
        d = (Decimal(value) - Decimal(reference)) / Decimal(reference) * BPS
        return _plain(d.quantize(Decimal("0.0001"), rounding="ROUND_HALF_EVEN"))


def _plain(d: Decimal) -> str:
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
