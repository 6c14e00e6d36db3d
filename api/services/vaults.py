"""Vaults: list, detail (parameters, NAV, marks, holdings, AUM, fees), NAV history, epochs."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api import models
from api.ledger.math import WAD, ratio
from api.schemas.common import Page
from api.schemas.vaults import (
    EpochOut,
    FeeTotals,
    HoldingOut,
    NavPointOut,
    VaultDetail,
    VaultSummary,
)
from api.services.context import VaultContext, all_tokens, jsonable, token_of


def list_vaults(session: Session, limit: int, offset: int) -> Page[VaultSummary]:
    total = session.scalar(select(func.count()).select_from(models.Vault)) or 0
    rows = session.execute(
        select(models.Vault, models.VaultState).join(models.VaultState, models.VaultState.vault == models.Vault.address)
        .order_by(models.Vault.created_block, models.Vault.address).limit(limit).offset(offset)).all()
    addresses = [v.address for v, _ in rows]
    counts = dict(session.execute(
        select(models.Account.vault, func.count()).where(models.Account.vault.in_(addresses),
                                                         models.Account.last_position > 0)
        .group_by(models.Account.vault)).all()) if addresses else {}
    tokens = all_tokens(session)
    items = [VaultSummary(address=v.address, name=v.name, symbol=v.symbol, asset=token_of(tokens, v.asset),
                          manager=json.loads(s.config).get("manager"), created_block=v.created_block,
                          supply=str(s.supply), investors=int(counts.get(v.address, 0)), trades=int(s.trade_count))
             for v, s in rows]
    return Page[VaultSummary](items=items, total=int(total), limit=limit, offset=offset)


def vault_detail(ctx: VaultContext) -> VaultDetail:
    snap, totals, config = ctx.snapshot, ctx.totals, ctx.config
    tokens = [ctx.asset, *[t for t in config.get("listedAssets", []) if t != ctx.asset]]
    tokens += sorted(t for t in ctx.holdings if t not in tokens)
    holdings = []
    for token in tokens:
        amount = ctx.holdings.get(token, 0)
        value = amount if token == ctx.asset else snap.holding_values.get(token, None if amount else 0)
        holdings.append(HoldingOut(token=ctx.token(token), amount=str(amount),
                                   value=None if value is None else str(value)))
    reserved = snap.reserved if snap.reserved is not None else totals["reserved"]
    hwm = snap.high_water_mark if snap.high_water_mark is not None else totals["high_water_mark"]
    fees = FeeTotals(
        management_fee_bps=int(config.get("managementFeeBps", 0)),
        performance_fee_bps=int(config.get("performanceFeeBps", 0)),
        recipient=config.get("feeRecipient"), management_shares=str(totals["management_shares"]),
        performance_shares=str(totals["performance_shares"]),
        total_shares=str(totals["management_shares"] + totals["performance_shares"]),
        value=str(totals["fee_value"]), accruals=totals["accruals"],
        pending_management_shares=str(snap.pending_management),
        pending_performance_shares=str(snap.pending_performance))
    return VaultDetail(
        block_number=ctx.head.block_number, block_hash=ctx.head.block_hash, price_source=snap.source,
        price_per_share=str(snap.price_per_share), address=ctx.address, name=ctx.name, symbol=ctx.symbol,
        asset=ctx.token(ctx.asset), created_block=ctx.created_block, created_tx=ctx.created_tx, creator=ctx.creator,
        params=jsonable(ctx.params), config=jsonable(config), nav=str(snap.nav), aum=str(snap.nav + reserved),
        supply=str(totals["supply"]), escrow_shares=str(totals["escrow"]), reserved_assets=str(reserved),
        high_water_mark=str(hwm), drawdown_reference=str(totals["drawdown_reference"]),
        paused=bool(config.get("paused")), risk_off=bool(config.get("riskOff")), holdings=holdings, fees=fees,
        investors=ctx.investors, trades=totals["trade_count"], deposits=totals["deposit_count"],
        deposited_assets=str(totals["deposit_assets"]), claimed_assets=str(totals["claimed_assets"]),
        events=totals["event_count"])


def nav_history(session: Session, vault: str, kind: str | None, from_block: int | None, to_block: int | None,
                limit: int, offset: int) -> Page[NavPointOut]:
    n = models.NavPoint
    where = [n.vault == vault]
    if kind is not None:
        where.append(n.kind == kind)
    if from_block is not None:
        where.append(n.block_number >= from_block)
    if to_block is not None:
        where.append(n.block_number <= to_block)
    total = session.scalar(select(func.count()).select_from(n).where(*where)) or 0
    rows = session.scalars(select(n).where(*where).order_by(n.block_number, n.log_index).limit(limit).offset(offset))
    items = [NavPointOut(kind=r.kind, block_number=r.block_number, log_index=r.log_index, timestamp=r.timestamp,
                         nav=str(r.nav), supply=str(r.supply), price_per_share=str(r.price_per_share),
                         price=ratio(r.price_per_share, WAD), high_water_mark=str(r.high_water_mark),
                         management_shares=str(r.management_shares), performance_shares=str(r.performance_shares))
             for r in rows]
    return Page[NavPointOut](items=items, total=int(total), limit=limit, offset=offset)


def epochs(session: Session, vault: str, limit: int, offset: int) -> Page[EpochOut]:
    e = models.Epoch
    total = session.scalar(select(func.count()).select_from(e).where(e.vault == vault)) or 0
    rows = session.scalars(select(e).where(e.vault == vault).order_by(e.epoch).limit(limit).offset(offset))
    items = [EpochOut(epoch=r.epoch, units=str(r.units), escrow=str(r.escrow), remaining=ratio(r.remaining_ray, 10**27),
                      remaining_ray=str(r.remaining_ray), assets_per_unit_ray=str(r.assets_per_unit_ray),
                      requested=str(r.requested), canceled=str(r.canceled), rounds=r.rounds,
                      shares_burned=str(r.shares_burned), assets_reserved=str(r.assets_reserved),
                      last_block=r.last_block) for r in rows]
    return Page[EpochOut](items=items, total=int(total), limit=limit, offset=offset)
