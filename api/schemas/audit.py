"""Auditors: the raw event log and the reconciliation of the books with the chain."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from api.schemas.common import Address, Schema, TxHash


class EventOut(Schema):
    id: int
    block_number: int
    block_hash: TxHash
    timestamp: int | None
    tx_hash: TxHash
    tx_index: int
    log_index: int
    address: Address = Field(description="The emitter.")
    vault: Address
    name: str
    args: dict[str, Any] = Field(description="Decoded arguments; integers as decimal strings.")


class Difference(Schema):
    item: str = Field(description="What was compared, e.g. supply, holdings, account.wallet.")
    key: str = Field(description="Which one (a token, an account, an epoch), or empty.")
    from_events: str
    from_chain: str
    delta: str = Field(description="from_events - from_chain when both are integers.")


class Reconciliation(Schema):
    vault: Address
    block_number: int
    block_hash: TxHash | None
    events_replayed: int
    checks: int = Field(description="How many quantities were compared.")
    accounts_checked: int = Field(description="Accounts compared in this answer (one page of them).")
    accounts_total: int = Field(description="Every account of the vault; page through them with accounts_offset.")
    accounts_offset: int
    accounts_limit: int | None = Field(description="The page size asked for (None: every account).")
    ok: bool = Field(description="True when every quantity matches.")
    differences: list[Difference]
    compared: list[Difference] = Field(description="Every vault-level comparison (accounts only when different).")
