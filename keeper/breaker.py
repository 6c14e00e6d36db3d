"""The circuit breaker in the running keeper: the pure `policy.CircuitBreaker` plus logging,
the metric, and a way to wait for it to close (Silverback raises a circuit-breaker exception
on repeated failures; a keeper must keep serving, so here it stops sending and says why)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from keeper.metrics import KeeperMetrics
from keeper.policy import CircuitBreaker

log = logging.getLogger("keeper.breaker")


class BreakerGuard:
    def __init__(self, threshold: int, cooldown_s: float, metrics: KeeperMetrics) -> None:
        self.state = CircuitBreaker(threshold=threshold, cooldown_s=cooldown_s)
        self.metrics = metrics
        self._changed = asyncio.Event()

    def failure(self, reason: str) -> None:
        opened = self.state.record_failure(reason, time.time())
        if opened:
            log.error("circuit breaker open: sending stops after %d consecutive failures; last: %s",
                      self.state.failures, reason, extra={"breaker": self.state.snapshot()})
            self.metrics.breaker_open.set(1)
        else:
            log.warning("failure %d/%d toward the circuit breaker: %s", self.state.failures,
                        self.state.threshold, reason)

    def success(self) -> None:
        if self.state.is_open:
            log.info("circuit breaker closed: a transaction went through")
        if self.state.failures or self.state.is_open:
            self.state.record_success()
            self.metrics.breaker_open.set(0)
            self._notify()

    def reset(self) -> None:
        log.info("circuit breaker reset by the operator", extra={"breaker": self.state.snapshot()})
        self.state.reset()
        self.metrics.breaker_open.set(0)
        self._notify()

    def allows_sending(self) -> bool:
        return self.state.allows_sending(time.time())

    @property
    def reason(self) -> str | None:
        return self.state.reason

    async def wait_change(self, timeout: float) -> None:
        event = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()
