"""Trades of a vault: signal trades and sales for the base asset, with their three prices."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api import models
from api.errors import NotFound
from api.ledger.math import WAD, bps_difference, price, ratio
from api.schemas.common import Page
from api.schemas.strategies import StrategyLink
from api.schemas.trades import TradeOut
from api.services.context import VaultContext
from api.services.strategies import links


def trade_out(ctx: VaultContext, t: models.Trade, strategy: StrategyLink | None = None) -> TradeOut:
    tin, tout = ctx.token(t.token_in), ctx.token(t.token_out)
    execution = price(t.amount_out, tout.decimals, t.amount_in, tin.decimals)
    oracle = price(t.oracle_amount_out, tout.decimals, t.amount_in, tin.decimals)
    limit = None if t.limit_price is None else ratio(t.limit_price, WAD)
    return TradeOut(
        id=t.seq, kind=t.kind, block_number=t.block_number, log_index=t.log_index, timestamp=t.timestamp,
        tx_hash=t.tx_hash, keeper=t.keeper, digest=t.digest, nonce=None if t.nonce is None else str(t.nonce),
        token_in=tin, token_out=tout, amount_in=str(t.amount_in), amount_out=str(t.amount_out),
        oracle_amount_out=str(t.oracle_amount_out), limit_price=limit, oracle_price=oracle,
        execution_price=execution,
        slippage_bps=_negate(bps_difference(execution, oracle)),
        limit_margin_bps=bps_difference(execution, limit), loss=None if t.loss is None else str(t.loss),
        supply=str(t.supply), strategy=strategy)


def _negate(value: str | None) -> str | None:
    """(oracle - execution) / oracle = -(execution - oracle) / oracle."""
    if value is None:
        return None
    return value[1:] if value.startswith("-") else ("0" if value == "0" else "-" + value)


def list_trades(session: Session, ctx: VaultContext, kind: str | None, from_block: int | None,
                to_block: int | None, limit: int, offset: int) -> Page[TradeOut]:
    t = models.Trade
    where = [t.vault == ctx.address]
    if kind is not None:
        where.append(t.kind == kind)
    if from_block is not None:
        where.append(t.block_number >= from_block)
    if to_block is not None:
        where.append(t.block_number <= to_block)
    total = session.scalar(select(func.count()).select_from(t).where(*where)) or 0
    rows = list(session.scalars(select(t).where(*where).order_by(t.seq).limit(limit).offset(offset)))
    linked = links(session, (r.digest for r in rows))
    items = [trade_out(ctx, r, linked.get(r.digest or "")) for r in rows]
    return Page[TradeOut](items=items, total=int(total), limit=limit, offset=offset)


def get_trade(session: Session, ctx: VaultContext, trade_id: int) -> TradeOut:
    row = session.scalar(select(models.Trade).where(models.Trade.vault == ctx.address, models.Trade.seq == trade_id))
    if row is None:
        raise NotFound(f"vault {ctx.address} has no trade {trade_id}")
    return trade_out(ctx, row, links(session, [row.digest]).get(row.digest or ""))
