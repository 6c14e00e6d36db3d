"""Helpers shared by the test files: named-revert assertions, signal building, funding and
moving real Uniswap prices."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from cohort import devnet, signals
from cohort import manifest as mf
from cohort.accounts import dev_account
from cohort.chain import DevChain
from cohort.errors import ContractRevert
from cohort.tx import call, transact
from cohort.uniswap import MAX_UINT256, UniswapV3, encode_v3_path
from cohort.vault import Vault

WHALE = 19  # dev account index that moves prices


@contextlib.contextmanager
def reverts(name: str, *args: Any) -> Iterator[None]:
    """Assert that the block raises ContractRevert with custom error `name` (and `args`, if given)."""
    try:
        yield
    except ContractRevert as exc:
        assert exc.name == name, f"expected {name}, got {exc}"
        if args:
            def norm(values: tuple[Any, ...]) -> tuple[Any, ...]:
                return tuple(v.lower() if isinstance(v, str) else v for v in values)

            assert norm(tuple(exc.error_args)) == norm(args), f"expected {name}{args}, got {exc}"
        return
    raise AssertionError(f"expected revert {name}, nothing reverted")


def fund(w3: Web3, m: mf.Manifest, symbol: str, to: str, amount: int) -> None:
    devnet.fund(w3, m, symbol, to, amount)


def deposit(w3: Web3, m: mf.Manifest, vault: Vault, investor: str, assets: int) -> int:
    """Fund `investor` with USDC, deposit, return the shares minted."""
    fund(w3, m, "USDC", investor, assets)
    before = vault.balance_of(investor)
    vault.deposit(assets, investor)
    return vault.balance_of(investor) - before


_nonces = itertools.count(1)


class SignalBook:
    """Builds and signs signals for one vault; every signal gets a fresh nonce by default."""

    def __init__(self, vault: Vault, m: mf.Manifest, manager: LocalAccount) -> None:
        self.vault = vault
        self.m = m
        self.manager = manager
        self.domain = vault.domain()

    def addr(self, symbol: str) -> str:
        return self.m.token(symbol).address

    def build(self, token_in: str = "USDC", token_out: str = "WETH", *, size_bps: int = 1000,
              size_mode: int = signals.SIZE_OF_HOLDINGS, limit: str | None = None, slippage_bps: int = 100,
              route: str = "v3", path: bytes | None = None, nonce: int | None = None,
              deadline: int = 2**40, fee: int = 3000) -> signals.TradeSignal:
        tin, tout = self.addr(token_in), self.addr(token_out)
        if path is None:
            path = (encode_v3_path([tin, tout], [fee]) if route == "v3"
                    else bytes.fromhex(tin[2:] + tout[2:]))
        adapter = self.m.cohort.adapters["uniswap-v3" if route == "v3" else "uniswap-v2"]
        return signals.TradeSignal(tin, tout, size_mode, size_bps,
                                   signals.limit_price_wad(limit or _loose_limit(token_in, token_out)),
                                   slippage_bps, adapter, path, nonce if nonce is not None else next(_nonces),
                                   deadline)

    def sign(self, signal: signals.TradeSignal, signer: LocalAccount | None = None,
             domain: signals.Domain | None = None) -> signals.SignedSignal:
        return signals.sign(signal, domain or self.domain, signer or self.manager)

    def signed(self, *args: Any, **kwargs: Any) -> signals.SignedSignal:
        return self.sign(self.build(*args, **kwargs))

    def execute(self, keeper: str, *args: Any, **kwargs: Any) -> Any:
        return self.vault.execute_signal(self.signed(*args, **kwargs), keeper)


# Limit prices far below market: the oracle bound is the binding minimum in most tests.
_PRICES = {"WETH": Decimal(3000), "WBTC": Decimal(60000), "USDC": Decimal(1)}


def _loose_limit(token_in: str, token_out: str) -> str:
    return str(_PRICES[token_in] / _PRICES[token_out] / 2)


def with_field(signal: signals.TradeSignal, **changes: Any) -> signals.TradeSignal:
    return replace(signal, **changes)


class Market:
    """Moves real Uniswap V3 prices with swaps from a well-funded whale."""

    def __init__(self, w3: Web3, m: mf.Manifest, v3: UniswapV3) -> None:
        self.w3, self.m, self.v3 = w3, m, v3
        self.whale = dev_account(WHALE).address
        self.chain = DevChain(w3)

    def swap(self, token_in: str, token_out: str, amount: int, fee: int = 3000) -> int:
        tin = self.m.token(token_in).address
        tout = self.m.token(token_out).address
        fund(self.w3, self.m, token_in, self.whale, amount)
        token = devnet.token(self.w3, self.m, token_in)
        if call(token.functions.allowance(self.whale, self.v3.router.address)) < amount:
            transact(token.functions.approve(self.v3.router.address, MAX_UINT256), self.whale)
        fn = self.v3.router.functions.exactInput((encode_v3_path([tin, tout], [fee]), self.whale, 2**40, amount, 0))
        out = int(call(fn, sender=self.whale))
        transact(fn, self.whale)
        return out

    def spot_price(self, symbol: str, quote: str = "USDC") -> Decimal:
        """Whole `quote` per whole `symbol` from QuoterV2 for a small amount."""
        dec = self.m.token(symbol).decimals
        out = self.v3.quote_exact_input_single(self.m.token(symbol).address, self.m.token(quote).address, 3000,
                                               10**dec // 100)
        return Decimal(out) * 100 / Decimal(10 ** self.m.token(quote).decimals) / Decimal(1 - 0.003)

    def move(self, symbol: str, pct: float, quote: str = "USDC") -> None:
        """Push `symbol`'s spot price by about `pct` percent (positive: up) with swaps."""
        target = self.spot_price(symbol, quote) * Decimal(1 + pct / 100)
        for _ in range(40):
            price = self.spot_price(symbol, quote)
            gap = (target - price) / price
            if abs(gap) < Decimal("0.002"):
                return
            # about 1% of a 60M pool side moves the price about 2%: size in proportion
            if gap > 0:
                usd = int(min(abs(gap), Decimal("0.2")) * 30_000_000)
                self.swap(quote, symbol, usd * 10 ** self.m.token(quote).decimals)
            else:
                qty = min(abs(gap), Decimal("0.2")) * 30_000_000 / price
                self.swap(symbol, quote, int(qty * 10 ** self.m.token(symbol).decimals))
        raise AssertionError(f"could not move {symbol} by {pct}%")

    def settle_twap(self, seconds: int = 3600) -> None:
        """Let time pass so the TWAP catches up with the spot price."""
        self.chain.increase_time(seconds)


def events(vault: Vault, receipt: Any, name: str) -> list[dict[str, Any]]:
    """Decoded `name` events of `vault` in `receipt` (other contracts' logs are skipped)."""
    from web3.logs import DISCARD

    return [dict(e["args"]) for e in getattr(vault.contract.events, name)().process_receipt(receipt, errors=DISCARD)
            if e["address"] == vault.address]


def log_names(vault: Vault, receipt: Any, *, erc20: bool = False) -> list[str]:
    """Names of the vault's events in `receipt`, in log order (ERC-20 Transfer/Approval left
    out unless `erc20`)."""
    from eth_utils import event_abi_to_log_topic

    topics = {event_abi_to_log_topic(e): e["name"] for e in vault.contract.abi if e.get("type") == "event"}
    names = [topics.get(bytes(log["topics"][0]), "?") for log in receipt["logs"] if log["address"] == vault.address]
    return names if erc20 else [n for n in names if n not in ("Transfer", "Approval")]


def block_time(w3: Web3, receipt: Any) -> int:
    return int(w3.eth.get_block(receipt["blockNumber"])["timestamp"])
