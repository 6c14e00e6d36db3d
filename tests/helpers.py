"""Helpers shared by the test files: named-revert assertions, signal building, funding and
moving real Uniswap prices."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from cohort import cli, signals
from cohort import manifest as mf
from cohort.dev import devnet
from cohort.dev.market import (
    Market as Market,  # re-exported: moves real Uniswap prices (shared with the demo)
)
from cohort.errors import ContractRevert
from cohort.onchain import SizeMode
from cohort.settings import CohortSettings
from cohort.uniswap import encode_v3_path
from cohort.vault import Vault


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


def run_cli(capsys: pytest.CaptureFixture[str], settings: CohortSettings, *argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `cohort *argv`."""
    code = cli.main(list(argv), settings=settings)
    out, err = capsys.readouterr()
    return code, out, err


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
              size_mode: SizeMode = SizeMode.HOLDINGS, limit: str | None = None, slippage_bps: int = 100,
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


def log_names(vault: Vault, receipt: Any, *, erc20: bool = False) -> list[str]:
    """Names of the vault's events in `receipt`, in log order (ERC-20 Transfer/Approval left
    out unless `erc20`)."""
    from eth_utils import event_abi_to_log_topic

    topics = {event_abi_to_log_topic(e): e["name"] for e in vault.contract.abi if e.get("type") == "event"}
    names = [topics.get(bytes(log["topics"][0]), "?") for log in receipt["logs"] if log["address"] == vault.address]
    return names if erc20 else [n for n in names if n not in ("Transfer", "Approval")]


def block_time(w3: Web3, receipt: Any) -> int:
    return int(w3.eth.get_block(receipt["blockNumber"])["timestamp"])
