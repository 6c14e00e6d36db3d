"""The MAM view: an investor as their own sub-account, per vault and across vaults.

The two per-investor views are the hot path (a manager's dashboard asks for thousands of
them): each runs in one worker-thread hop (session, vault context, figures) and answers JSON
serialised by pydantic-core directly; `response_model` still documents and types them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Query, Response
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import (
    MAX_OFFSET,
    MAX_PAGE,
    AppState,
    InvestorDep,
    PageDep,
    SessionDep,
    StateDep,
    VaultPath,
    checksum_address,
)
from api.errors import ApiError
from api.schemas.common import ERRORS, Page
from api.schemas.investors import InvestorOut, MamView, Ticket
from api.services import investors as service
from api.services.context import VaultContext, load_head, load_vault

router = APIRouter(tags=["investors"], responses=ERRORS)
JSON = "application/json"


async def _body(state: AppState, vault: str, compute: Callable[[Session, VaultContext], str]) -> str:
    """Run `compute` on one read snapshot. With SQLite, once the vault's context for the indexed
    head is cached (so no chain read can be needed), the reads are in-process and take well under
    a millisecond: they run right here, on the event loop, because a hop to a worker thread costs
    more than that and, under many clients, threads queue behind each other for the GIL. Anything
    else (PostgreSQL, a context to build) goes to the thread pool."""
    address = checksum_address(vault, "vault")

    def run(inline: bool) -> str | None:
        with state.sessions() as session:
            head = load_head(session)
            if inline and state.contexts.get((address, *head.key)) is None:
                return None
            return compute(session, load_vault(session, state.chain, state.contexts, address, head))

    body = run(True) if state.inline_reads else None
    if body is None:
        body = await run_in_threadpool(run, False)
    assert body is not None
    return body


class MamFastPath:
    """ASGI middleware: a well-formed GET of the MAM view is answered before FastAPI's routing and
    dependency solving, which cost more than the view itself (about 1 ms of Python a request).
    The same service function computes the same answer; anything unusual (another query
    parameter, a value out of range, a bad checksum, an error such as a 404) falls through to
    the documented route below, which validates it and answers the error."""

    PATH = re.compile(r"/vaults/(0x[0-9a-fA-F]{40})/investors/(0x[0-9a-fA-F]{40})")
    PARAMS = {"tickets_limit": (0, MAX_PAGE), "tickets_offset": (0, MAX_OFFSET)}

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = self.PATH.fullmatch(scope["path"]) if scope["type"] == "http" and scope["method"] == "GET" else None
        params = self._params(scope.get("query_string", b"")) if match else None
        if match is not None and params is not None:
            state: AppState = scope["app"].state.cohort
            try:
                investor = checksum_address(match.group(2), "investor")
                body = await _body(state, match.group(1), lambda session, ctx: service.mam_view_json(
                    session, ctx, investor, params["tickets_limit"], params["tickets_offset"]))
            except (ApiError, SQLAlchemyError):
                pass  # the route answers it, with the same error body as every other (4xx, or 503)
            else:
                await Response(body, media_type=JSON)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _params(self, query: bytes) -> dict[str, int] | None:
        out = {"tickets_limit": 20, "tickets_offset": 0}
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            bounds = self.PARAMS.get(name)
            if bounds is None or not value.isdigit() or len(value) > 12 or not bounds[0] <= int(value) <= bounds[1]:
                return None
            out[name] = int(value)
        return out


@router.get("/vaults/{vault}/investors/{investor}", response_model=MamView,
            summary="An investor's sub-account: shares, equity, P&L, fees borne, redemptions, tickets")
async def mam_view(vault: VaultPath, investor: InvestorDep, state: StateDep,
                   tickets_limit: Annotated[int, Query(ge=0, le=MAX_PAGE, description="Tickets in this answer.")] = 20,
                   tickets_offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> Response:
    return Response(await _body(state, vault, lambda session, ctx: service.mam_view_json(
        session, ctx, investor, tickets_limit, tickets_offset)), media_type=JSON)


@router.get("/vaults/{vault}/investors/{investor}/tickets", response_model=Page[Ticket],
            summary="An investor's allocation tickets: their slice of every trade since they joined")
async def tickets(vault: VaultPath, investor: InvestorDep, state: StateDep, page: PageDep) -> Response:
    return Response(await _body(state, vault, lambda session, ctx: service.tickets_page(
        session, ctx, investor, page.limit, page.offset).model_dump_json()), media_type=JSON)


@router.get("/investors/{investor}", response_model=InvestorOut, summary="An investor across every vault")
def investor_across_vaults(investor: InvestorDep, session: SessionDep, state: StateDep) -> InvestorOut:
    return service.investor(session, state.chain, state.contexts, investor)
