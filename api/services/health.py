"""Health: is the node reachable, how far behind is the indexer."""

from __future__ import annotations

import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api import models
from api.schemas.health import Health
from api.services.chain import ChainReader
from cohort.errors import ChainUnavailable


def health(session: Session, chain: ChainReader, confirmations: int) -> Health:
    state = session.get(models.IndexerState, 1)
    vaults = session.scalar(select(func.count()).select_from(models.Vault)) or 0
    events = session.scalar(select(func.count()).select_from(models.Event)) or 0
    try:
        head: int | None = chain.head()
        rpc_ok = True
    except ChainUnavailable:
        head, rpc_ok = None, False
    indexed = state.cursor_block if state else None
    lag = None if head is None or indexed is None else max(0, head - confirmations - indexed)
    if not rpc_ok:
        status = "rpc_unavailable"
    elif state is None or state.cursor_hash is None:
        status = "not_indexed"
    else:
        status = "ok" if lag == 0 else "lagging"
    return Health(status=status, rpc_ok=rpc_ok, chain_id=state.chain_id if state else None, chain_head=head,
                  indexed_block=indexed, indexed_hash=state.cursor_hash if state else None, lag_blocks=lag,
                  confirmations=confirmations, factory=state.factory if state else None, vaults=int(vaults),
                  events=int(events), reorgs=state.reorg_count if state else 0,
                  last_reorg_block=state.last_reorg_block if state else None,
                  seconds_since_update=round(time.time() - state.updated_at, 3) if state else None)
