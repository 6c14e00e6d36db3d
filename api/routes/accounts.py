"""The manager's view: every investor account of a vault, sorted and filtered."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import PageDep, SessionDep, VaultDep
from api.schemas.accounts import AccountsOut
from api.schemas.common import ERRORS
from api.services import accounts as service

router = APIRouter(tags=["accounts"], responses=ERRORS)

SortKey = Literal["equity", "position", "shares", "net_deposits", "total_pnl", "realised_pnl", "unrealised_pnl",
                  "fees_borne", "pending", "claimable", "first_block", "address"]
MAX_AMOUNT = 2**256 - 1


@router.get("/vaults/{vault}/accounts", response_model=AccountsOut,
            summary="Every investor account with equity, share of the pool and redemption state")
def accounts(vault: VaultDep, session: SessionDep, page: PageDep,
             sort: Annotated[SortKey, Query(description="Sort key.")] = "equity",
             order: Annotated[Literal["asc", "desc"], Query()] = "desc",
             redemption: Annotated[Literal["any", "none", "pending", "claimable"],
                                   Query(description="Only accounts in this redemption state.")] = "any",
             min_equity: Annotated[int | None, Query(ge=0, le=MAX_AMOUNT, description="In asset units.")] = None,
             max_equity: Annotated[int | None, Query(ge=0, le=MAX_AMOUNT)] = None,
             include_empty: Annotated[bool, Query(description="Also accounts with nothing left.")] = False,
             ) -> AccountsOut:
    return service.accounts_view(session, vault, sort=sort, descending=order == "desc", redemption=redemption,
                                 min_equity=min_equity, max_equity=max_equity, include_empty=include_empty,
                                 limit=page.limit, offset=page.offset)
