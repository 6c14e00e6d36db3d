"""The keeper's view of the chain: head block, clock, base fee, RPC health, and back-off.

One `Node` watches the head (latest and pending block in one batched request every
`poll_interval`), tells waiters when a new block arrives, and keeps the chain's clock, which on
a devnet may run ahead of the wall clock. When the node stops answering, `Node` marks the RPC
down, logs it once, and every caller that goes through `retrying()` waits with exponential
back-off until it answers again: an outage delays the keeper, it never loses work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from keeper import policy
from keeper.errors import RpcError, RpcUnavailable
from keeper.metrics import KeeperMetrics
from keeper.rpc import Rpc

log = logging.getLogger("keeper.node")
T = TypeVar("T")


def public_url(url: str) -> str:
    """The RPC URL without a path, query or credentials (providers put API keys there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{'' if parts.port is None else f':{parts.port}'}"


class Node:
    def __init__(self, rpc: Rpc, *, poll_interval: float, backoff_initial: float, backoff_max: float,
                 metrics: KeeperMetrics) -> None:
        self.rpc = rpc
        self.poll_interval = poll_interval
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.metrics = metrics
        self.chain_id: int | None = None
        self.genesis_hash: str | None = None
        self.head_number: int | None = None
        self.head_timestamp: int | None = None
        self.base_fee: int | None = None
        self.gas_limit: int | None = None  # the latest block's gas limit
        self._pending_ts: int | None = None
        self._pending_seen = 0.0
        self.up = False
        self.last_error: str | None = None
        self.last_head_at: float | None = None  # wall time we first saw the current head
        self._new_block = asyncio.Event()

    # ---------------------------------------------------------------- head and clock
    async def refresh(self) -> None:
        """Read the latest and the pending block (one round trip); raises RpcUnavailable."""
        try:
            latest, pending = await self.rpc.batch([("eth_getBlockByNumber", ["latest", False]),
                                                    ("eth_getBlockByNumber", ["pending", False])])
        except RpcUnavailable as exc:
            self._down(str(exc))
            raise
        if isinstance(latest, RpcError) or not isinstance(latest, dict):
            self._down(f"eth_getBlockByNumber(latest): {latest}")
            raise RpcUnavailable(f"eth_getBlockByNumber(latest) failed: {latest}")
        self._up()
        number = int(latest["number"], 16)
        if number != self.head_number:
            self.head_number = number
            self.last_head_at = time.time()
            self.metrics.last_block.set(number)
            self._new_block.set()
            self._new_block = asyncio.Event()
        self.head_timestamp = int(latest["timestamp"], 16)
        if latest.get("gasLimit") is not None:
            self.gas_limit = int(latest["gasLimit"], 16)
        if latest.get("baseFeePerGas") is not None:
            self.base_fee = int(latest["baseFeePerGas"], 16)
        self._pending_ts = self.head_timestamp
        if isinstance(pending, dict) and pending.get("timestamp"):
            self._pending_ts = max(self.head_timestamp, int(pending["timestamp"], 16))
        self._pending_seen = time.monotonic()

    def chain_now(self) -> float:
        """The timestamp the next block would carry, as best we know (never before wall time)."""
        elapsed = time.monotonic() - self._pending_seen
        return policy.chain_now(time.time(), None if self._pending_ts is None else float(self._pending_ts), elapsed)

    async def identify(self) -> tuple[int, str]:
        """Chain id and genesis hash (for the store's guard against another chain)."""
        chain_id = await self.rpc.chain_id()
        genesis = await self.rpc.request("eth_getBlockByNumber", ["0x0", False])
        self.chain_id = chain_id
        self.genesis_hash = str(genesis["hash"]) if isinstance(genesis, dict) else ""
        return chain_id, self.genesis_hash

    async def wait_block(self, timeout: float) -> bool:
        """Wait for the next new head (True) or `timeout` seconds (False)."""
        event = self._new_block
        try:
            await asyncio.wait_for(event.wait(), timeout)
            return True
        except TimeoutError:
            return False

    # ---------------------------------------------------------------- health and back-off
    def _down(self, error: str) -> None:
        if self.up or self.last_error is None:
            log.warning("RPC unavailable: %s", error, extra={"rpc": public_url(self.rpc.url)})
        self.up = False
        self.last_error = error
        self.metrics.rpc_up.set(0)

    def _up(self) -> None:
        if not self.up:
            log.info("RPC available", extra={"rpc": public_url(self.rpc.url), "after_error": self.last_error})
        self.up = True
        self.metrics.rpc_up.set(1)

    def mark_unavailable(self, error: str) -> None:
        self._down(error)

    async def retrying(self, fn: Callable[[], Awaitable[T]], stop: asyncio.Event | None = None) -> T:
        """`await fn()` until it does not raise RpcUnavailable, backing off in between."""
        delays = policy.backoff_delays(self.backoff_initial, self.backoff_max)
        while True:
            try:
                return await fn()
            except RpcUnavailable as exc:
                self._down(str(exc))
                if stop is not None and stop.is_set():
                    raise
                await asyncio.sleep(next(delays))

    async def watch(self, stop: asyncio.Event) -> None:
        """Poll the head until `stop` is set, backing off while the node is away."""
        delays = policy.backoff_delays(self.backoff_initial, self.backoff_max)
        while not stop.is_set():
            try:
                await self.refresh()
                delays = policy.backoff_delays(self.backoff_initial, self.backoff_max)
                wait = self.poll_interval
            except RpcUnavailable:
                wait = next(delays)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)

    def health(self) -> dict[str, Any]:
        return {"up": self.up, "url": public_url(self.rpc.url), "chain_id": self.chain_id,
                "last_error": self.last_error,
                "head": self.head_number, "head_age_s": None if self.last_head_at is None
                else round(time.time() - self.last_head_at, 3)}
