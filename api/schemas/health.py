"""Liveness and indexer lag."""

from __future__ import annotations

from pydantic import Field

from api.schemas.common import Address, Schema, TxHash


class Health(Schema):
    status: str = Field(description="ok, lagging, rpc_unavailable or not_indexed.")
    rpc_ok: bool
    chain_id: int | None
    chain_head: int | None
    indexed_block: int | None
    indexed_hash: TxHash | None
    lag_blocks: int | None = Field(description="chain head - confirmations - indexed block.")
    confirmations: int
    factory: Address | None
    vaults: int
    events: int
    reorgs: int
    last_reorg_block: int | None
    seconds_since_update: float | None
