"""Uniswap V2/V3 on a chain: deployment from npm artifacts, pools, liquidity, quotes, TWAPs.

Prices passed in are human prices: `price` is how many whole `quote` tokens one whole `base`
token is worth (3000.0 for WETH in USDC).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, getcontext
from fractions import Fraction

from web3 import Web3
from web3.contract import Contract

from cohort.artifacts import uniswap_artifact
from cohort.deploy import at, deploy
from cohort.tx import call, transact

getcontext().prec = 80

MIN_TICK = -887272
MAX_TICK = 887272
TICK_SPACING = {100: 1, 500: 10, 3000: 60, 10000: 200}
Q96 = 2**96
MAX_UINT256 = 2**256 - 1


def full_range(fee: int) -> tuple[int, int]:
    spacing = TICK_SPACING[fee]
    return (math.ceil(MIN_TICK / spacing) * spacing, (MAX_TICK // spacing) * spacing)


def sort_tokens(a: str, b: str) -> tuple[str, str]:
    return (a, b) if int(a, 16) < int(b, 16) else (b, a)


def sqrt_price_x96(price: Fraction, dec_base: int, dec_quote: int, base_is_token0: bool) -> int:
    """sqrtPriceX96 of a pool where one whole base token is worth `price` whole quote tokens."""
    raw = price * Fraction(10**dec_quote, 10**dec_base)  # quote wei per base wei
    if not base_is_token0:
        raw = 1 / raw  # the pool's price is token1 per token0
    return math.isqrt(raw.numerator * 2**192 // raw.denominator)


def price_from_sqrt_x96(sqrt_x96: int, dec0: int, dec1: int) -> Decimal:
    """Whole token1 per whole token0 for a pool's sqrtPriceX96."""
    raw = Decimal(sqrt_x96) ** 2 / Decimal(2**192)
    return raw * Decimal(10**dec0) / Decimal(10**dec1)


def price_from_tick(tick: int, dec0: int, dec1: int) -> Decimal:
    return Decimal("1.0001") ** tick * Decimal(10**dec0) / Decimal(10**dec1)


def encode_v3_path(tokens: list[str], fees: list[int]) -> bytes:
    """Uniswap V3 path: token (20) | fee (3) | token (20) | ..."""
    if len(tokens) != len(fees) + 1:
        raise ValueError("a V3 path has one fee fewer than tokens")
    out = bytes.fromhex(tokens[0][2:])
    for fee, token in zip(fees, tokens[1:], strict=True):
        out += fee.to_bytes(3, "big") + bytes.fromhex(token[2:])
    return out


def encode_v2_path(tokens: list[str]) -> bytes:
    """A V2 route as packed addresses: token (20) | token (20) | ..."""
    return b"".join(bytes.fromhex(t[2:]) for t in tokens)


@dataclass
class UniswapV3:
    factory: Contract
    router: Contract
    quoter: Contract
    position_manager: Contract
    descriptor: str = ""  # NonfungibleTokenPositionDescriptor, when this code deployed it

    @classmethod
    def at(cls, w3: Web3, factory: str, router: str, quoter: str, position_manager: str) -> UniswapV3:
        return cls(at(w3, "UniswapV3Factory", factory), at(w3, "SwapRouter", router),
                   at(w3, "QuoterV2", quoter), at(w3, "NonfungiblePositionManager", position_manager))

    def pool(self, token_a: str, token_b: str, fee: int) -> Contract:
        address = call(self.factory.functions.getPool(token_a, token_b, fee))
        return at(self.factory.w3, "UniswapV3Pool", address)

    def quote_exact_input_single(self, token_in: str, token_out: str, fee: int, amount_in: int) -> int:
        result = call(self.quoter.functions.quoteExactInputSingle(
            (token_in, token_out, amount_in, fee, 0)))
        return int(result[0])

    def quote_exact_input(self, path: bytes, amount_in: int) -> int:
        return int(call(self.quoter.functions.quoteExactInput(path, amount_in))[0])

    def swap_exact_input_single(self, token_in: str, token_out: str, fee: int, amount_in: int,
                                sender: str, *, min_out: int = 0, recipient: str | None = None,
                                deadline: int = 2**40) -> int:
        """Swap from `sender` (who must have approved the router); returns amount out."""
        params = (token_in, token_out, fee, recipient or sender, deadline, amount_in, min_out, 0)
        fn = self.router.functions.exactInputSingle(params)
        out = int(call(fn, sender=sender))
        transact(fn, sender)
        return out

    def twap_tick(self, pool: Contract, window: int) -> int:
        cumulatives, _ = call(pool.functions.observe([window, 0]))
        delta = cumulatives[1] - cumulatives[0]
        tick = delta // window  # floor, like Solidity's rounding to negative infinity below
        if delta < 0 and delta % window != 0:
            tick = -((-delta) // window) - 1
        return int(tick)


def deploy_v3(w3: Web3, weth9: str, sender: str) -> UniswapV3:
    factory = deploy(w3, uniswap_artifact("UniswapV3Factory"), sender=sender)
    nft_lib = deploy(w3, uniswap_artifact("NFTDescriptor"), sender=sender)
    descriptor = deploy(w3, uniswap_artifact("NonfungibleTokenPositionDescriptor"), weth9,
                        b"ETH".ljust(32, b"\0"), sender=sender,
                        libraries={"NFTDescriptor": nft_lib.address})
    npm = deploy(w3, uniswap_artifact("NonfungiblePositionManager"), factory.address, weth9,
                 descriptor.address, sender=sender)
    router = deploy(w3, uniswap_artifact("SwapRouter"), factory.address, weth9, sender=sender)
    quoter = deploy(w3, uniswap_artifact("QuoterV2"), factory.address, weth9, sender=sender)
    return UniswapV3(factory, router, quoter, npm, descriptor.address)


def create_v3_pool(v3: UniswapV3, base: Contract, quote: Contract, fee: int, price: Fraction,
                   base_amount: int, quote_amount: int, sender: str,
                   cardinality: int = 200) -> Contract:
    """Create and initialise a V3 pool at `price`, raise its oracle cardinality and add a
    full-range position of `base_amount` + `quote_amount` (wei) from `sender`."""
    dec_b = call(base.functions.decimals())
    dec_q = call(quote.functions.decimals())
    token0, token1 = sort_tokens(base.address, quote.address)
    base_is_token0 = token0 == base.address
    sqrt_p = sqrt_price_x96(price, dec_b, dec_q, base_is_token0)
    transact(v3.position_manager.functions.createAndInitializePoolIfNecessary(token0, token1, fee, sqrt_p), sender)
    pool = v3.pool(token0, token1, fee)
    transact(pool.functions.increaseObservationCardinalityNext(cardinality), sender)
    for token in (base, quote):
        transact(token.functions.approve(v3.position_manager.address, MAX_UINT256), sender)
    amount0, amount1 = (base_amount, quote_amount) if base_is_token0 else (quote_amount, base_amount)
    lower, upper = full_range(fee)
    transact(v3.position_manager.functions.mint(
        (token0, token1, fee, lower, upper, amount0, amount1, 0, 0, sender, 2**40)), sender)
    return pool


@dataclass
class UniswapV2:
    factory: Contract
    router: Contract

    def pair(self, token_a: str, token_b: str) -> Contract:
        return at(self.factory.w3, "UniswapV2Pair", call(self.factory.functions.getPair(token_a, token_b)))


def deploy_v2(w3: Web3, weth9: str, sender: str) -> UniswapV2:
    factory = deploy(w3, uniswap_artifact("UniswapV2Factory"), sender, sender=sender)
    router = deploy(w3, uniswap_artifact("UniswapV2Router02"), factory.address, weth9, sender=sender)
    return UniswapV2(factory, router)


def create_v2_pair(v2: UniswapV2, base: Contract, quote: Contract, base_amount: int,
                   quote_amount: int, sender: str) -> Contract:
    for token in (base, quote):
        transact(token.functions.approve(v2.router.address, MAX_UINT256), sender)
    transact(v2.router.functions.addLiquidity(base.address, quote.address, base_amount,
                                              quote_amount, 0, 0, sender, 2**40), sender)
    return v2.pair(base.address, quote.address)
