"""Contract reads at the indexed block, batched (JSON-RPC batch of eth_call) and cached.

Numbers that must equal the chain at a block (price per share, NAV, what shares are worth)
come from the vault's own views, read at the hash of the last indexed block (EIP-1898), so
an answer is always consistent with the events the database holds. A snapshot is cached per
(vault, block hash); if the node is unreachable or that block is gone, callers fall back to
event-derived figures and say so (`price_source`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from api.indexer.rpc import Rpc
from api.ledger.math import price_per_share, to_assets
from cohort.abi import AbiFunction, functions
from cohort.artifacts import project_artifact
from cohort.errors import ChainUnavailable
from cohort.onchain import Marks, PendingFeeShares, vault_abi


@cache
def _functions(contract: str) -> dict[str, AbiFunction]:
    return functions(vault_abi() if contract == "vault" else project_artifact(contract).abi)


def vault_fn(name: str) -> AbiFunction:
    return _functions("vault")[name]


def oracle_fn(name: str) -> AbiFunction:
    return _functions("UniswapV3TwapOracle")[name]


class CallFailed(Exception):
    """One call of a batch reverted (the others may still have answered)."""


@dataclass(frozen=True)
class Call:
    to: str
    fn: AbiFunction
    args: tuple[Any, ...] = ()


def call_many(rpc: Rpc, calls: Sequence[Call], block_hash: str, chunk: int = 500) -> list[Any]:
    """Every call at `block_hash`, in one JSON-RPC batch per `chunk`; a reverted call gives a
    CallFailed in its place. Raises ChainUnavailable when the node does not answer."""
    results: list[Any] = []
    provider = rpc.w3.provider
    for i in range(0, len(calls), chunk):
        part = calls[i:i + chunk]
        requests = [("eth_call", [{"to": c.to, "data": c.fn.encode(*c.args)}, {"blockHash": block_hash}])
                    for c in part]
        try:
            responses = provider.make_batch_request(requests)  # type: ignore[attr-defined]
        except Exception as exc:
            raise ChainUnavailable(f"eth_call batch: {type(exc).__name__}: {exc}") from exc
        if not isinstance(responses, list):
            error = responses.get("error") if isinstance(responses, dict) else responses
            raise ChainUnavailable(f"eth_call batch refused: {error}")
        for c, response in zip(part, responses, strict=True):
            if "error" in response:
                results.append(CallFailed(str(response["error"])))
                continue
            try:
                results.append(c.fn.decode(response["result"]))
            except Exception as exc:
                results.append(CallFailed(f"undecodable answer: {exc}"))
    return results


@dataclass(frozen=True)
class VaultSnapshot:
    """What the vault's views said at one block (or, with source "events", what the last
    accrual or settlement event said, when the chain could not be read)."""

    source: str  # chain | events
    block_hash: str | None
    nav: int
    supply: int
    pending_management: int = 0
    pending_performance: int = 0
    price_per_share: int = 0
    high_water_mark: int | None = None
    reserved: int | None = None
    holding_values: dict[str, int | None] = field(default_factory=dict)  # token -> value in the base asset

    @property
    def preview_supply(self) -> int:
        """Supply after the fee shares an accrual now would mint (the vault prices with it)."""
        return self.supply + self.pending_management + self.pending_performance

    def value(self, shares: int) -> int:
        """convertToAssets(shares) at this block: rounded down, fees included."""
        return to_assets(shares, self.nav, self.preview_supply)


def events_snapshot(nav: int, supply: int) -> VaultSnapshot:
    return VaultSnapshot(source="events", block_hash=None, nav=nav, supply=supply,
                         price_per_share=price_per_share(nav, supply))


class ChainReader:
    def __init__(self, rpc: Rpc, cache_size: int = 256) -> None:
        self.rpc = rpc
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[Any, ...], VaultSnapshot] = OrderedDict()
        self._lock = threading.Lock()

    def snapshot(self, vault: str, block_hash: str, base: str, holdings: dict[str, int], oracle: str,
                 twap_window: int) -> VaultSnapshot:
        """The vault's NAV, supply, pending fees, price per share, marks, reserved assets and the
        oracle value of each holding at `block_hash` (cached). Raises ChainUnavailable."""
        held = tuple(sorted((t, a) for t, a in holdings.items() if t != base and a > 0))
        key = (vault, block_hash, held, oracle, twap_window)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        calls = [Call(vault, vault_fn("totalAssets")), Call(vault, vault_fn("totalSupply")),
                 Call(vault, vault_fn("pendingFeeShares")), Call(vault, vault_fn("pricePerShare")),
                 Call(vault, vault_fn("marks")), Call(vault, vault_fn("reservedAssets"))]
        if held:
            calls.append(Call(oracle, oracle_fn("quoteMany"), ([(t, a, base) for t, a in held], twap_window)))
        out = call_many(self.rpc, calls, block_hash)
        if any(isinstance(r, CallFailed) for r in out[:6]):
            failure = next(r for r in out[:6] if isinstance(r, CallFailed))
            raise ChainUnavailable(f"vault views at {block_hash} failed: {failure}")
        values: dict[str, int | None] = {base: holdings.get(base, 0)}
        if held:
            quoted = out[6]
            for i, (token, _amount) in enumerate(held):
                values[token] = None if isinstance(quoted, CallFailed) else int(quoted[0][i])
        pending, marks = PendingFeeShares.decode(out[2]), Marks.decode(out[4])
        snap = VaultSnapshot(source="chain", block_hash=block_hash, nav=int(out[0][0]), supply=int(out[1][0]),
                             pending_management=pending.management_shares,
                             pending_performance=pending.performance_shares,
                             price_per_share=int(out[3][0]), high_water_mark=marks.high_water_mark,
                             reserved=int(out[5][0]), holding_values=values)
        with self._lock:
            self._cache[key] = snap
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return snap

    def head(self) -> int:
        return self.rpc.block_number()
