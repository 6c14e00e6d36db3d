"""Auditors: the raw event log (JSON and CSV) and the reconciliation with the chain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from api import models
from api.deps import FromBlock, PageDep, SessionDep, StateDep, ToBlock, VaultDep
from api.schemas.audit import EventOut, Reconciliation
from api.schemas.common import ERRORS, Page
from api.services import audit as service

router = APIRouter(tags=["audit"], responses=ERRORS)

EventName = Annotated[str | None, Query(pattern=r"^[A-Za-z][A-Za-z0-9]{0,63}$", description="Only this event.")]


@router.get("/vaults/{vault}/events", response_model=Page[EventOut], summary="The vault's raw event log")
def events(vault: VaultDep, session: SessionDep, page: PageDep, name: EventName = None,
           from_block: FromBlock = None, to_block: ToBlock = None) -> Page[EventOut]:
    return service.events_page(session, vault.address, name, from_block, to_block, page.limit, page.offset)


@router.get("/vaults/{vault}/events.csv", response_class=StreamingResponse, summary="The raw event log as CSV",
            responses={200: {"content": {"text/csv": {}}, "description": "One row per event."}})
def events_csv(vault: VaultDep, state: StateDep, name: EventName = None, from_block: FromBlock = None,
               to_block: ToBlock = None) -> StreamingResponse:
    filename = f"{vault.address}-events.csv"
    return StreamingResponse(service.events_csv(state.sessions, vault.address, name, from_block, to_block),
                             media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/vaults/{vault}/reconciliation", response_model=Reconciliation,
            summary="Books rebuilt from events alone, compared with the chain at the indexed block")
def reconciliation(vault: VaultDep, session: SessionDep, state: StateDep,
                   accounts: Annotated[bool, Query(description="Also every account's balance and request.")] = True,
                   ) -> Reconciliation:
    indexer = session.get(models.IndexerState, 1)
    return service.reconcile(session, state.chain, indexer.factory if indexer else None, vault.address, accounts)
