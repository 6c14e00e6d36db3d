"""How many blocks to ask eth_getLogs for next: pure decisions, tested on their own.

Providers limit eth_getLogs by block range, by result count or by response size, each with
its own error text. The policy halves the range on any such refusal, and doubles it again
while answers stay well below the target size, up to a ceiling: the maximum at first, then
the size it last fell back to after a refusal (so it does not walk into the same wall again).
"""

from __future__ import annotations

from dataclasses import dataclass

# Fragments of the errors public providers (and geth, erigon, reth, anvil) give for a range too big.
_LIMIT_HINTS = ("limit", "too many", "too large", "range", "exceed", "more than", "size", "timeout",
                "timed out", "results", "response is too big", "query returned")


@dataclass(frozen=True)
class BatchPolicy:
    minimum: int
    maximum: int
    target_logs: int

    def after_success(self, size: int, logs: int, ceiling: int | None = None) -> int:
        """Grow while the answers are small (up to `ceiling`), shrink when they overshoot the target."""
        if logs > self.target_logs:
            return max(self.minimum, size // 2)
        if logs * 2 < self.target_logs:
            return min(self.maximum if ceiling is None else ceiling, size * 2)
        return size

    def after_refusal(self, size: int) -> int | None:
        """The next size to try after the provider refused `size` blocks; None at the minimum."""
        if size <= self.minimum:
            return None
        return max(self.minimum, size // 2)


def looks_like_limit(message: str) -> bool:
    """True when an RPC error reads like a range or result-size limit (worth a smaller range)."""
    text = message.lower()
    return any(hint in text for hint in _LIMIT_HINTS)
