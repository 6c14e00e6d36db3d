"""Strategies (MAM): list, one strategy with its manager and followers, its master trades with
every follower's fill at the block price and every skipped follower's reason."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import MAX_ID, PageDep, SessionDep
from api.schemas.common import ERRORS, Page
from api.schemas.strategies import MasterTradeOut, StrategyOut, StrategySummary
from api.services import strategies as service

router = APIRouter(prefix="/strategies", tags=["strategies"], responses=ERRORS)

StrategyId = Annotated[int, Path(ge=1, le=MAX_ID, description="The strategy's id (CohortStrategies, from 1).")]
Nonce = Annotated[str, Path(pattern=r"^[0-9]{1,78}$", description="The master signal's nonce (a decimal integer).")]


@router.get("", response_model=Page[StrategySummary], summary="Every indexed strategy")
def list_strategies(session: SessionDep, page: PageDep) -> Page[StrategySummary]:
    return service.list_strategies(session, page.limit, page.offset)


@router.get("/{strategy_id}", response_model=StrategyOut,
            summary="A strategy: owner, manager (since when), the vaults following it with their rules in words")
def get_strategy(strategy_id: StrategyId, session: SessionDep) -> StrategyOut:
    return service.get_strategy(session, strategy_id)


@router.get("/{strategy_id}/trades", response_model=Page[MasterTradeOut],
            summary="Its master trades, oldest first: the master's prices, the block price, every follower's fill "
                    "and every skipped follower's reason")
def master_trades(strategy_id: StrategyId, session: SessionDep, page: PageDep) -> Page[MasterTradeOut]:
    return service.master_trades(session, strategy_id, page.limit, page.offset)


@router.get("/{strategy_id}/trades/{nonce}", response_model=MasterTradeOut, summary="One master trade, by nonce")
def master_trade(strategy_id: StrategyId, nonce: Nonce, session: SessionDep) -> MasterTradeOut:
    return service.master_trade(session, strategy_id, service.parse_nonce(nonce))
