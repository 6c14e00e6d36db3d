"""Trades: signal limit price vs oracle price vs execution price, slippage, keeper."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from api.deps import MAX_BLOCK, FromBlock, PageDep, SessionDep, ToBlock, VaultDep
from api.schemas.common import ERRORS, Page
from api.schemas.trades import TradeOut
from api.services import trades as service

router = APIRouter(prefix="/vaults/{vault}/trades", tags=["trades"], responses=ERRORS)


@router.get("", response_model=Page[TradeOut], summary="A vault's trades, oldest first")
def list_trades(vault: VaultDep, session: SessionDep, page: PageDep, from_block: FromBlock = None,
                to_block: ToBlock = None,
                kind: Annotated[Literal["signal", "unwind", "derisk"] | None,
                                Query(description="Only this kind.")] = None,
                ) -> Page[TradeOut]:
    return service.list_trades(session, vault, kind, from_block, to_block, page.limit, page.offset)


@router.get("/{trade_id}", response_model=TradeOut, summary="One trade")
def get_trade(vault: VaultDep, session: SessionDep,
              trade_id: Annotated[int, Path(ge=1, le=MAX_BLOCK, description="The trade's number in the vault.")],
              ) -> TradeOut:
    return service.get_trade(session, vault, trade_id)
