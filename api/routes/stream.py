"""A WebSocket that streams a vault's new events.

Messages (JSON): first `{"type": "hello", "vault", "block_number", "last_id"}`; then one
`{"type": "event", ...}` per new event (the same fields as the event log); after a reorg,
`{"type": "rollback", "block_number"}` (events above it were dropped; their replacements follow
as new events). Pass `after_id` to resume after the last event id you received.
"""

from __future__ import annotations

import asyncio
import re
from typing import Annotated

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from api.deps import MAX_ID, AppState, checksum_address
from api.errors import BadInput
from api.schemas.common import ADDRESS_PATTERN
from api.services import stream as service
from api.services.context import vault_exists

router = APIRouter(tags=["stream"])
POLICY_VIOLATION = 1008


@router.websocket("/vaults/{vault}/stream")
async def stream(websocket: WebSocket, vault: str,
                 after_id: Annotated[int | None, Query(ge=0, le=MAX_ID, description="Resume after this event id.")]
                 = None) -> None:
    state: AppState = websocket.app.state.cohort
    try:
        if not re.fullmatch(ADDRESS_PATTERN, vault):
            raise BadInput(f"vault {vault!r} is not an address")
        address = checksum_address(vault, "vault")
    except BadInput as exc:
        await websocket.close(code=POLICY_VIOLATION, reason=exc.message[:120])
        return

    def known() -> bool:
        with state.sessions() as session:
            return vault_exists(session, address)

    if not await run_in_threadpool(known):
        await websocket.close(code=POLICY_VIOLATION, reason=f"no vault {address} is indexed")
        return
    await websocket.accept()
    start = await run_in_threadpool(service.position, state.sessions, address)
    last_id = start.last_id if after_id is None else after_id
    reorgs = start.reorgs
    await websocket.send_json({"type": "hello", "vault": address, "block_number": start.cursor_block,
                               "last_id": last_id})
    try:
        while True:
            events, now = await run_in_threadpool(service.poll, state.sessions, address, last_id)
            if now.reorgs != reorgs:
                reorgs = now.reorgs
                await websocket.send_json({"type": "rollback", "block_number": now.rolled_back_to})
            for message in events:
                await websocket.send_json(message)
            last_id = now.last_id
            if events:
                continue  # more may be waiting
            try:
                message = await asyncio.wait_for(_receive(websocket), timeout=state.settings.stream_poll_interval)
            except TimeoutError:
                continue
            if message.get("type") == "websocket.disconnect":
                return
    except WebSocketDisconnect:
        return


async def _receive(websocket: WebSocket) -> dict[str, object]:
    return dict(await websocket.receive())
