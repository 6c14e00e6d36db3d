"""The books as table rows, and the reads both sides share.

The indexer (api.indexer.store) writes the ledger's projections and the raw event log; the
services read them. What a row holds (`*_FIELDS`), how a row becomes a ledger object and how
the event log is read back live here, so the read side never imports the writer.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from api import models
from api.ledger.events import LogEvent
from api.ledger.state import Account, BookState, Epoch

ACCOUNT_FIELDS = tuple(f.name for f in fields(Account))
EPOCH_FIELDS = tuple(f.name for f in fields(Epoch))
BOOK_FIELDS = tuple(f.name for f in fields(BookState) if f.type in ("int", int))  # the totals in `vault_state`


def table(model: type[models.Base]) -> Table:
    return model.__table__  # type: ignore[return-value]


def account_from_row(row: Any) -> Account:
    """An `accounts` row (ORM object or Core row) as the ledger's Account."""
    return Account(**{f: getattr(row, f) for f in ACCOUNT_FIELDS})


def epoch_from_row(row: Any) -> Epoch:
    """An `epochs` row (ORM object or Core row) as the ledger's Epoch."""
    return Epoch(**{f: getattr(row, f) for f in EPOCH_FIELDS})


def event_from_row(row: Any) -> LogEvent:
    return LogEvent(address=row.address, name=row.name, args=json.loads(row.args), block_number=row.block_number,
                    block_hash=row.block_hash, tx_hash=row.tx_hash, tx_index=row.tx_index, log_index=row.log_index,
                    timestamp=row.timestamp)


def load_events(session: Session, vault: str | None = None, to_block: int | None = None) -> list[LogEvent]:
    """Stored events in chain order, for one vault (with its VaultCreated) or all."""
    e = table(models.Event).c
    query = select(e.address, e.name, e.args, e.block_number, e.block_hash, e.tx_hash, e.tx_index, e.log_index,
                   e.timestamp).order_by(e.block_number, e.log_index)
    if vault is not None:
        query = query.where(e.vault == vault)
    if to_block is not None:
        query = query.where(e.block_number <= to_block)
    return [event_from_row(r) for r in session.execute(query)]
