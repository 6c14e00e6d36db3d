"""A decoded log, as the ledger, the store and the API see it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class LogEvent:
    address: str  # emitter (EIP-55)
    name: str
    args: dict[str, Any]  # ints as ints, addresses EIP-55, bytes as 0x-hex, tuples as dicts
    block_number: int
    block_hash: str
    tx_hash: str
    tx_index: int
    log_index: int
    timestamp: int | None = None

    @property
    def position(self) -> tuple[int, int]:
        """Where the log sits in the chain: (block, log index)."""
        return (self.block_number, self.log_index)

    @property
    def key(self) -> tuple[str, int]:
        """What makes a log unique: (tx hash, log index)."""
        return (self.tx_hash, self.log_index)
