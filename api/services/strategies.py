"""Strategies (MAM): who manages them, which vaults follow them with which rule since when, and
each master trade with the block price, every follower's fill and every skipped follower's
reason in words. Everything is read from the indexed tables (api.ledger.strategies)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api import models
from api.errors import BadInput, NotFound
from api.ledger.math import BPS, WAD, bps_difference, price, ratio
from api.schemas.common import Page, TokenOut
from api.schemas.strategies import (
    ExecutionOut,
    FillOut,
    FollowerOut,
    FollowRuleOut,
    MasterTradeOut,
    SkipOut,
    StrategyLink,
    StrategyOut,
    StrategySummary,
)
from api.services.context import all_tokens, load_head, token_of
from cohort.errors import ContractRevert
from cohort.reverts import explain
from cohort.strategies import RuleKind
from cohort.tx import decode_revert

RULE_KINDS = tuple(kind.name.lower() for kind in RuleKind)  # FollowRule.kind: equity, multiplier, fixed_lot


def rule_out(rule: dict[str, Any]) -> FollowRuleOut:
    kind = int(rule["kind"])
    name = RULE_KINDS[kind] if kind < len(RULE_KINDS) else f"kind {kind}"
    multiplier, fixed, min_lot, tolerance = (int(rule["multiplierBps"]), int(rule["fixedLot"]), int(rule["minLot"]),
                                             int(rule["toleranceBps"]))
    if name == "equity":
        words = "the master's size, as the same fraction of this vault's own holdings or NAV"
    elif name == "multiplier":
        words = f"{ratio(multiplier, BPS)}x the master's size, capped by the vault's largest trade"
    elif name == "fixed_lot":
        words = f"{fixed} units of the token sold per master lot"
    else:
        words = f"an allocation rule this API does not know ({name})"
    if min_lot > 1:
        words += f", in whole multiples of {min_lot} units (the rest carries to the next trade)"
    if tolerance:
        words += (f"; left out when its fill would be more than {ratio(tolerance, 100)}% worse than the master's "
                  "reference price")
    return FollowRuleOut(kind=name, multiplier_bps=multiplier, fixed_lot=str(fixed), min_lot=str(min_lot),
                         tolerance_bps=tolerance, words=words)


def _vault_names(session: Session) -> dict[str, str]:
    return {address: name for address, name in session.execute(select(models.Vault.address, models.Vault.name))}


def _strategy_or_404(session: Session, strategy_id: int) -> models.Strategy:
    row = session.get(models.Strategy, strategy_id)
    if row is None:
        count = session.scalar(select(func.count()).select_from(models.Strategy)) or 0
        known = f"strategies 1 to {count} are" if count else "no strategy is"
        block = load_head(session).block_number
        raise NotFound(f"no strategy {strategy_id} is indexed ({known} indexed as of block {block})",
                       indexed_block=block)
    return row


def _summaries(session: Session, rows: Sequence[models.Strategy]) -> list[dict[str, Any]]:
    """Each strategy's summary: its current followers and master trades counted in one query each."""
    f, e = models.StrategyFollow, models.MasterExecution
    ids = [row.strategy_id for row in rows]
    followers = dict(session.execute(select(f.strategy_id, func.count()).where(
        f.strategy_id.in_(ids), f.ended_block.is_(None)).group_by(f.strategy_id)).all())
    trades = dict(session.execute(select(e.strategy_id, func.count(func.distinct(e.nonce))).where(
        e.strategy_id.in_(ids)).group_by(e.strategy_id)).all())
    return [{"id": row.strategy_id, "name": row.name, "owner": row.owner, "manager": row.manager,
             "followers": int(followers.get(row.strategy_id, 0)), "master_trades": int(trades.get(row.strategy_id, 0)),
             "created_block": row.created_block, "created_timestamp": row.created_at} for row in rows]


def list_strategies(session: Session, limit: int, offset: int) -> Page[StrategySummary]:
    total = session.scalar(select(func.count()).select_from(models.Strategy)) or 0
    rows = session.scalars(select(models.Strategy).order_by(models.Strategy.strategy_id).limit(limit).offset(offset))
    return Page[StrategySummary](items=[StrategySummary(**s) for s in _summaries(session, rows.all())],
                                 total=int(total), limit=limit, offset=offset)


def get_strategy(session: Session, strategy_id: int) -> StrategyOut:
    row = _strategy_or_404(session, strategy_id)
    names = _vault_names(session)
    f = models.StrategyFollow
    follows = session.scalars(select(f).where(f.strategy_id == strategy_id).order_by(f.followed_block,
                                                                                     f.followed_log_index))
    current: list[FollowerOut] = []
    former: list[FollowerOut] = []
    for follow in follows:
        out = FollowerOut(vault=follow.vault, vault_name=names.get(follow.vault),
                          rule=rule_out(json.loads(follow.rule)),
                          since_block=follow.followed_block, since_timestamp=follow.followed_at,
                          until_block=follow.ended_block, until_timestamp=follow.ended_at)
        (current if follow.ended_block is None else former).append(out)
    return StrategyOut(**_summaries(session, [row])[0], manager_since_block=row.manager_block,
                       manager_since_timestamp=row.manager_at, created_tx=row.created_tx, current_followers=current,
                       former_followers=former, block_number=load_head(session).block_number)


# ---------------------------------------------------------------------------- master trades
def _fill_out(fill: models.StrategyFill, names: dict[str, str], tokens: dict[str, TokenOut], ref: str | None,
              block_price: str | None, trade_ids: dict[tuple[str, int, int], int]) -> FillOut:
    fill_price = None
    if fill.amount_in is not None and fill.amount_out is not None and fill.token_out is not None:
        tin, tout = token_of(tokens, fill.token_in), token_of(tokens, fill.token_out)
        fill_price = price(fill.amount_out, tout.decimals, fill.amount_in, tin.decimals)
    trade_id = None if fill.trade_log_index is None else trade_ids.get((fill.vault, fill.block_number,
                                                                        fill.trade_log_index))
    return FillOut(vault=fill.vault, vault_name=names.get(fill.vault), allocated=str(fill.allocated),
                   residual=str(fill.residual), capped=str(fill.capped),
                   amount_in=None if fill.amount_in is None else str(fill.amount_in),
                   amount_out=None if fill.amount_out is None else str(fill.amount_out), price=fill_price,
                   vs_ref_bps=bps_difference(fill_price, ref), vs_block_bps=bps_difference(fill_price, block_price),
                   trade_id=trade_id)


def skip_reason(data: str, tokens: dict[str, TokenOut], context: dict[str, Any]) -> tuple[str, str]:
    """(error name, the revert in words) of a follower's revert data."""
    name, args = decode_revert(data)
    revert = ContractRevert(name, args, data)
    return name, explain(revert, name_of=lambda a: token_of(tokens, a).symbol, context=context)


def _master_trades(session: Session, strategy_id: int, executions: Sequence[models.MasterExecution]
                   ) -> list[MasterTradeOut]:
    """The master trades (one per nonce) of these executions, in the order they first executed."""
    if not executions:
        return []
    names, tokens = _vault_names(session), all_tokens(session)
    nonces = {e.nonce for e in executions}
    fl, sk, tr = models.StrategyFill, models.StrategySkip, models.Trade
    fills: dict[tuple[str, int], list[models.StrategyFill]] = defaultdict(list)
    for fill in session.scalars(select(fl).where(fl.strategy_id == strategy_id, fl.nonce.in_(nonces))
                                .order_by(fl.block_number, fl.log_index)):
        fills[(fill.tx_hash, fill.nonce)].append(fill)
    skips: dict[tuple[str, int], list[models.StrategySkip]] = defaultdict(list)
    for skip in session.scalars(select(sk).where(sk.strategy_id == strategy_id, sk.nonce.in_(nonces))
                                .order_by(sk.block_number, sk.log_index)):
        skips[(skip.tx_hash, skip.nonce)].append(skip)
    blocks = {e.block_number for e in executions}
    trade_ids = {(t.vault, t.block_number, t.log_index): t.seq for t in session.execute(
        select(tr.vault, tr.block_number, tr.log_index, tr.seq).where(tr.block_number.in_(blocks)))}
    by_nonce: dict[int, list[models.MasterExecution]] = defaultdict(list)
    for e in executions:
        by_nonce[e.nonce].append(e)
    out = []
    for nonce, group in by_nonce.items():
        first = group[0]
        tin, tout = token_of(tokens, first.token_in), token_of(tokens, first.token_out)
        signal = next((json.loads(e.signal) for e in group if e.signal), None)
        limit = None if signal is None else ratio(int(signal["limitPrice"]), WAD)
        ref = None if signal is None else ratio(int(signal["refPrice"]), WAD)
        context = {"token_in": first.token_in, "token_out": first.token_out,
                   "size_mode": None if signal is None else int(signal["sizeMode"])}
        runs = []
        for e in group:
            block_price = price(e.total_out, tout.decimals, e.total_in, tin.decimals)
            run_skips = []
            for s in skips[(e.tx_hash, e.nonce)]:
                error, words = skip_reason(s.reason, tokens, context)
                run_skips.append(SkipOut(vault=s.vault, vault_name=names.get(s.vault), error=error, reason=words,
                                         data=s.reason))
            runs.append(ExecutionOut(
                block_number=e.block_number, log_index=e.log_index, timestamp=e.timestamp, tx_hash=e.tx_hash,
                keeper=e.keeper, total_in=str(e.total_in), total_out=str(e.total_out), block_price=block_price,
                floor_price=price(e.floor_price, tout.decimals, WAD, tin.decimals) or "0", filled=e.filled,
                skipped=e.skipped, skips=run_skips,
                fills=[_fill_out(f, names, tokens, ref, block_price, trade_ids) for f in fills[(e.tx_hash, e.nonce)]]))
        out.append(MasterTradeOut(
            strategy_id=strategy_id, nonce=str(nonce), digest=first.digest, token_in=tin, token_out=tout,
            limit_price=limit, ref_price=ref, size_mode=None if signal is None else int(signal["sizeMode"]),
            size_bps=None if signal is None else int(signal["sizeBps"]),
            lots=None if signal is None else str(signal["lots"]), total_in=str(sum(e.total_in for e in group)),
            total_out=str(sum(e.total_out for e in group)), first_block=first.block_number, executions=runs))
    return out


def _executions(session: Session, strategy_id: int, nonce: int | None = None) -> list[models.MasterExecution]:
    e = models.MasterExecution
    query = select(e).where(e.strategy_id == strategy_id).order_by(e.block_number, e.log_index)
    if nonce is not None:
        query = query.where(e.nonce == nonce)
    return list(session.scalars(query))


def master_trades(session: Session, strategy_id: int, limit: int, offset: int) -> Page[MasterTradeOut]:
    _strategy_or_404(session, strategy_id)
    executions = _executions(session, strategy_id)
    order = list(dict.fromkeys(e.nonce for e in executions))  # nonces in the order they first executed
    page = set(order[offset:offset + limit])
    items = _master_trades(session, strategy_id, [e for e in executions if e.nonce in page])
    return Page[MasterTradeOut](items=items, total=len(order), limit=limit, offset=offset)


def parse_nonce(text: str) -> int:
    """A nonce from the path: a decimal uint256."""
    value = int(text)
    if value >= 2**256:
        raise BadInput(f"nonce {text} does not fit a uint256: give the master signal's nonce as signed")
    return value


def master_trade(session: Session, strategy_id: int, nonce: int) -> MasterTradeOut:
    _strategy_or_404(session, strategy_id)
    items = _master_trades(session, strategy_id, _executions(session, strategy_id, nonce))
    if not items:
        block = load_head(session).block_number
        raise NotFound(f"strategy {strategy_id} has no executed master signal with nonce {nonce} as of indexed "
                       f"block {block}", indexed_block=block)
    return items[0]


def links(session: Session, digests: Iterable[str | None]) -> dict[str, StrategyLink]:
    """digest -> the strategy trade it signs, for the digests that are master digests."""
    wanted = {d for d in digests if d}
    if not wanted:
        return {}
    e = models.MasterExecution
    rows = session.execute(select(e.digest, e.strategy_id, e.nonce).where(e.digest.in_(wanted)).distinct())
    return {r.digest: StrategyLink(strategy_id=r.strategy_id, nonce=str(r.nonce), digest=r.digest) for r in rows}
