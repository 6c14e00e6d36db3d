"""The MAM view: an investor as their own sub-account, per vault and across vaults.

The two per-investor views are the hot path (a manager's dashboard asks for thousands of
them): each runs in one worker-thread hop (session, vault context, figures) and answers JSON
serialised by pydantic-core directly; `response_model` still documents and types them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from api.deps import (
    MAX_OFFSET,
    MAX_PAGE,
    InvestorDep,
    PageDep,
    SessionDep,
    StateDep,
    VaultPath,
    checksum_address,
)
from api.schemas.common import ERRORS, Page
from api.schemas.investors import InvestorOut, MamView, Ticket
from api.services import investors as service
from api.services.context import load_vault

router = APIRouter(tags=["investors"], responses=ERRORS)
JSON = "application/json"


@router.get("/vaults/{vault}/investors/{investor}", response_model=MamView,
            summary="An investor's sub-account: shares, equity, P&L, fees borne, redemptions, tickets")
async def mam_view(vault: VaultPath, investor: InvestorDep, state: StateDep,
                   tickets_limit: Annotated[int, Query(ge=0, le=MAX_PAGE, description="Tickets in this answer.")] = 20,
                   tickets_offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> Response:
    def answer() -> str:
        with state.sessions() as session:
            ctx = load_vault(session, state.chain, state.contexts, checksum_address(vault, "vault"))
            return service.mam_view(session, ctx, investor, tickets_limit, tickets_offset).model_dump_json()

    return Response(await run_in_threadpool(answer), media_type=JSON)


@router.get("/vaults/{vault}/investors/{investor}/tickets", response_model=Page[Ticket],
            summary="An investor's allocation tickets: their slice of every trade since they joined")
async def tickets(vault: VaultPath, investor: InvestorDep, state: StateDep, page: PageDep) -> Response:
    def answer() -> str:
        with state.sessions() as session:
            ctx = load_vault(session, state.chain, state.contexts, checksum_address(vault, "vault"))
            return service.tickets_page(session, ctx, investor, page.limit, page.offset).model_dump_json()

    return Response(await run_in_threadpool(answer), media_type=JSON)


@router.get("/investors/{investor}", response_model=InvestorOut, summary="An investor across every vault")
def investor_across_vaults(investor: InvestorDep, session: SessionDep, state: StateDep) -> InvestorOut:
    return service.investor(session, state.chain, state.contexts, investor)
