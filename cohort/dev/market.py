"""Moving real Uniswap V3 prices on a devnet, with swaps from a well-funded whale.

The TWAP oracle reads the manifest's V3 pools, so moving a token's V3 pool against USDC moves
what every vault sees (after the TWAP window). A move is one exact-input swap sized from the
pool's own state (liquidity and sqrt price, the constant-product maths of a full-range
position), checked and topped up until the spot price is within a tolerance of the target.

    market = Market(w3, manifest)
    market.move("WETH", 8)          # WETH +8% against USDC
    market.swap("USDC", "WETH", 100_000 * 10**6)
    market.spot_price("WETH")       # Decimal USDC per WETH

The whale is a devnet dev account; `cohort.dev.devnet.fund` mints (or wraps) what it swaps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from web3 import Web3

from cohort import manifest as mf
from cohort.accounts import dev_account
from cohort.deploy import at
from cohort.dev import devnet
from cohort.dev.anvil import DevChain
from cohort.errors import CohortError
from cohort.tx import call, transact
from cohort.uniswap import MAX_UINT256, Q96, UniswapV3, price_from_sqrt_x96

WHALE = 19  # dev account index that moves prices (the tests use the same one)
FEE_PIPS = 1_000_000  # Uniswap V3 fees are in hundredths of a basis point
MOVE_TOLERANCE = Decimal("0.001")  # a move is done within 0.1% of its target
MAX_MOVE_SWAPS = 8


class MarketError(CohortError, RuntimeError):
    """A price could not be moved as asked (no pool, no liquidity, target not reached)."""


@dataclass(frozen=True)
class SwapPlan:
    """One exact-input swap on a V3 pool: token0 in when `zero_for_one`, else token1 in."""

    zero_for_one: bool
    amount_in: int  # wei of the input token, fee included


@dataclass(frozen=True)
class Move:
    symbol: str
    quote: str
    before: Decimal
    after: Decimal
    target: Decimal
    swaps: int
    sold: dict[str, int]  # symbol -> wei the whale put in

    @property
    def change_pct(self) -> Decimal:
        return (self.after / self.before - 1) * 100


# ==================================================================== pure maths


def swap_to_price(sqrt_price_x96: int, liquidity: int, ratio: Fraction, fee: int) -> SwapPlan:
    """The exact-input swap that multiplies a pool's raw price (token1 per token0) by `ratio`.

    Inside one liquidity range (a full-range position is one), token1 in moves sqrt(P) up by
    dy / L and token0 in moves 1/sqrt(P) up by dx / L; the pool's fee is taken from the input
    first, so the input is grossed up by 1 / (1 - fee)."""
    if liquidity <= 0:
        raise MarketError("the pool has no liquidity")
    if ratio <= 0:
        raise MarketError(f"a price ratio must be positive, got {ratio}")
    target = math.isqrt(sqrt_price_x96 * sqrt_price_x96 * ratio.numerator // ratio.denominator)
    keep = Fraction(FEE_PIPS - fee, FEE_PIPS)
    if target >= sqrt_price_x96:  # price up: token1 in
        net = Fraction(liquidity * (target - sqrt_price_x96), Q96)
        return SwapPlan(zero_for_one=False, amount_in=math.ceil(net / keep))
    net = Fraction(liquidity * Q96 * (sqrt_price_x96 - target), target * sqrt_price_x96)
    return SwapPlan(zero_for_one=True, amount_in=math.ceil(net / keep))


def pool_ratio(pct: Decimal | float | str, symbol_is_token0: bool) -> Fraction:
    """The raw-price ratio of a pool that moves `symbol`'s price by `pct` percent."""
    factor = Fraction(Decimal(str(pct))) / 100 + 1
    if factor <= 0:
        raise MarketError(f"a price cannot move by {pct}%")
    return factor if symbol_is_token0 else 1 / factor


# ==================================================================== the market


class Market:
    """Real swaps on the manifest's Uniswap V3 pools from the whale dev account."""

    def __init__(self, w3: Web3, m: mf.Manifest, v3: UniswapV3 | None = None, whale: str | None = None,
                 fee: int = 3000) -> None:
        self.w3, self.m = w3, m
        self.v3 = v3 or devnet.v3_from_manifest(w3, m)
        self.whale = whale or dev_account(WHALE).address
        self.fee = fee
        self.chain = DevChain(w3)

    # ---------------------------------------------------------------- reads
    def _pool(self, symbol: str, quote: str) -> tuple[mf.V3PoolInfo, bool]:
        info = self.m.v3_pool(symbol, quote, self.fee)
        return info, info.token0.lower() == self.m.token(symbol).address.lower()

    def spot_price(self, symbol: str, quote: str = "USDC") -> Decimal:
        """Whole `quote` per whole `symbol` at the pool's current sqrt price (no fee, no impact)."""
        info, symbol_is_token0 = self._pool(symbol, quote)
        sqrt_x96 = int(call(at(self.w3, "UniswapV3Pool", info.address).functions.slot0())[0])
        dec_s, dec_q = self.m.token(symbol).decimals, self.m.token(quote).decimals
        if symbol_is_token0:
            return price_from_sqrt_x96(sqrt_x96, dec_s, dec_q)
        return 1 / price_from_sqrt_x96(sqrt_x96, dec_q, dec_s)

    # ---------------------------------------------------------------- swaps
    def swap(self, token_in: str, token_out: str, amount: int) -> int:
        """Swap `amount` wei of `token_in` for `token_out` on their V3 pool; returns wei out."""
        if amount <= 0:
            raise MarketError(f"a swap needs a positive amount, got {amount}")
        devnet.fund(self.w3, self.m, token_in, self.whale, amount)
        token = devnet.token(self.w3, self.m, token_in)
        router = self.v3.router.address
        if call(token.functions.allowance(self.whale, router)) < amount:
            transact(token.functions.approve(router, MAX_UINT256), self.whale)
        return self.v3.swap_exact_input_single(self.m.token(token_in).address, self.m.token(token_out).address,
                                               self.fee, amount, self.whale)

    def move(self, symbol: str, pct: Decimal | float | str, quote: str = "USDC") -> Move:
        """Push `symbol`'s spot price against `quote` by `pct` percent (negative: down)."""
        info, symbol_is_token0 = self._pool(symbol, quote)
        pool = at(self.w3, "UniswapV3Pool", info.address)
        before = self.spot_price(symbol, quote)
        target = before * (1 + Decimal(str(pct)) / 100)
        if target <= 0:
            raise MarketError(f"{symbol} cannot move by {pct}%")
        sold: dict[str, int] = {}
        for swaps in range(MAX_MOVE_SWAPS + 1):
            price = self.spot_price(symbol, quote)
            gap = target / price - 1
            if abs(gap) <= MOVE_TOLERANCE:
                return Move(symbol, quote, before, price, target, swaps, sold)
            if swaps == MAX_MOVE_SWAPS:
                break
            sqrt_x96 = int(call(pool.functions.slot0())[0])
            liquidity = int(call(pool.functions.liquidity()))
            plan = swap_to_price(sqrt_x96, liquidity, pool_ratio(gap * 100, symbol_is_token0),
                                 self.fee)
            token0_symbol, token1_symbol = (symbol, quote) if symbol_is_token0 else (quote, symbol)
            token_in, token_out = ((token0_symbol, token1_symbol) if plan.zero_for_one
                                   else (token1_symbol, token0_symbol))
            self.swap(token_in, token_out, plan.amount_in)
            sold[token_in] = sold.get(token_in, 0) + plan.amount_in
        raise MarketError(f"could not move {symbol} to {target:.6g} {quote} (at {self.spot_price(symbol, quote):.6g})")

    def settle_twap(self, seconds: int = 3600) -> None:
        """Let chain time pass so the TWAP catches up with the spot price."""
        self.chain.increase_time(seconds)
