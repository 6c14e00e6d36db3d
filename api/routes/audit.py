"""Auditors: the raw event log (JSON and CSV) and the reconciliation with the chain."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from api import models
from api.deps import (
    MAX_OFFSET,
    MAX_PAGE,
    FromBlock,
    PageDep,
    SessionDep,
    StateDep,
    ToBlock,
    VaultDep,
)
from api.schemas.audit import EventOut, Reconciliation
from api.schemas.common import ERRORS, Page
from api.services import audit as service

router = APIRouter(tags=["audit"], responses=ERRORS)

EventName = Annotated[str | None, Query(pattern=r"^[A-Za-z][A-Za-z0-9]{0,63}$", description="Only this event.")]


@router.get("/vaults/{vault}/events", response_model=Page[EventOut], summary="The vault's raw event log")
def events(vault: VaultDep, session: SessionDep, page: PageDep, name: EventName = None,
           from_block: FromBlock = None, to_block: ToBlock = None) -> Page[EventOut]:
    return service.events_page(session, vault.address, name, from_block, to_block, page.limit, page.offset)


CSV_PAGE = 10_000  # rows per CSV answer unless asked otherwise; follow X-Next-After (or Link) for more
CSV_MAX_PAGE = 100_000


@router.get("/vaults/{vault}/events.csv", response_class=StreamingResponse, summary="The raw event log as CSV",
            responses={200: {"content": {"text/csv": {}},
                             "description": "One row per event, in log order, one page at a time: when more "
                                            "rows follow, X-Next-After names the cursor of the next page (also "
                                            "as a Link rel=next). ETag: the same page at the same indexed block "
                                            "answers 304 to If-None-Match."},
                       304: {"description": "Not modified since the ETag given."}})
def events_csv(vault: VaultDep, session: SessionDep, state: StateDep, request: Request, name: EventName = None,
               from_block: FromBlock = None, to_block: ToBlock = None,
               after: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}:[0-9]{1,9}$",
                                                  description="Rows after this position (block:log_index), "
                                                              "from X-Next-After.")] = None,
               limit: Annotated[int, Query(ge=1, le=CSV_MAX_PAGE, description="Rows in this answer.")] = CSV_PAGE,
               ) -> Response:
    cursor = None if after is None else service.Position(*(int(x) for x in after.split(":")))
    tag = service.csv_etag(vault.address, vault.head.block_hash, vault.head.reorgs,
                           (name, from_block, to_block, after, limit))
    headers = {"ETag": tag}
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    following = service.csv_next(session, vault.address, name, from_block, to_block, cursor, limit)
    if following is not None:
        params = dict(request.query_params) | {"after": f"{following.block_number}:{following.log_index}"}
        headers["X-Next-After"] = params["after"]
        headers["Link"] = f'<{request.url.path}?{urlencode(params)}>; rel="next"'
    filename = f"{vault.address}-events.csv"
    headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return StreamingResponse(service.events_csv(state.sessions, vault.address, name, from_block, to_block,
                                                cursor, limit),
                             media_type="text/csv", headers=headers)


@router.get("/vaults/{vault}/reconciliation", response_model=Reconciliation,
            summary="Books rebuilt from events alone, compared with the chain at the indexed block")
def reconciliation(vault: VaultDep, session: SessionDep, state: StateDep,
                   accounts: Annotated[bool, Query(description="Also the accounts' balances and requests.")] = True,
                   accounts_limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Accounts per page.")] = 500,
                   accounts_offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Accounts to skip.")] = 0,
                   ) -> Reconciliation:
    """Vault-level checks on every page; the accounts one page at a time. Answers are cached per
    indexed block (the replay of the log is shared by the pages)."""
    key = f"reconciliation:{accounts}:{accounts_limit}:{accounts_offset}"
    cached: Reconciliation | None = vault.cache.get(key)
    if cached is None:
        indexer = session.get(models.IndexerState, 1)
        cached = service.reconcile(session, state.chain, indexer.factory if indexer else None, vault.address,
                                   accounts, accounts_limit=accounts_limit, accounts_offset=accounts_offset,
                                   memo=vault.cache)
        vault.cache[key] = cached
    return cached
