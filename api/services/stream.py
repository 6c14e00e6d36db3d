"""New events of a vault, for the WebSocket stream (polling the event log by id: ids are never
reused, so a client that remembers the last id it saw misses nothing and sees nothing twice)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api import models
from api.services.audit import event_out


@dataclass(frozen=True)
class StreamState:
    last_id: int
    reorgs: int
    cursor_block: int
    rolled_back_to: int  # after the last reorg, events above this block were dropped


def position(sessions: sessionmaker[Session], vault: str) -> StreamState:
    with sessions() as session:
        last = session.scalar(select(func.max(models.Event.id)).where(models.Event.vault == vault)) or 0
        state = session.get(models.IndexerState, 1)
        return _state(int(last), state)


def poll(sessions: sessionmaker[Session], vault: str, after_id: int, limit: int = 500) -> tuple[list[dict[str, Any]],
                                                                                              StreamState]:
    with sessions() as session:
        rows = session.scalars(select(models.Event).where(models.Event.vault == vault, models.Event.id > after_id)
                               .order_by(models.Event.id).limit(limit))
        events = [{"type": "event", **event_out(r).model_dump()} for r in rows]
        state = session.get(models.IndexerState, 1)
        last = events[-1]["id"] if events else after_id
        return events, _state(last, state)


def _state(last_id: int, state: models.IndexerState | None) -> StreamState:
    if state is None:
        return StreamState(last_id, 0, -1, -1)
    return StreamState(last_id, state.reorg_count, state.cursor_block,
                       (state.last_reorg_block or 0) - 1)
