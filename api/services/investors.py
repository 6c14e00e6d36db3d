"""The MAM view: an investor's sub-account in a vault (with allocation tickets), and the same
investor across every vault."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from api import models
from api.errors import NotFound
from api.ledger.math import price
from api.ledger.state import Account
from api.schemas.common import Page, TokenOut
from api.schemas.investors import (
    AccountFigures,
    InvestorOut,
    MamView,
    Redemption,
    Ticket,
    VaultPosition,
)
from api.schemas.strategies import StrategyLink
from api.services.chain import ChainReader
from api.services.context import (
    ContextCache,
    VaultContext,
    load_account,
    load_epochs,
    load_head,
    load_vault,
)
from api.services.mam import Figures, TradeView, figures, slices
from api.services.strategies import links


def figures_out(f: Figures) -> AccountFigures:
    return AccountFigures(
        address=f.address, shares=str(f.wallet), pending_shares=str(f.pending), position_shares=str(f.position),
        pool_share=f.pool_share, position_value=str(f.position_value), equity=str(f.equity),
        redemption=Redemption(state=f.redemption_state, epoch=f.request_epoch, requested=str(f.requested),
                              pending_shares=str(f.pending), claimable_shares=str(f.claimable_shares),
                              claimable_assets=str(f.claimable_assets)),
        deposited_assets=str(f.deposited_assets), claimed_assets=str(f.claimed_assets),
        net_deposits=str(f.net_deposits), cost_basis=str(f.cost_basis), realised_pnl=str(f.realised_pnl),
        unrealised_pnl=str(f.unrealised_pnl), total_pnl=str(f.total_pnl), fees_borne=str(f.fees_borne),
        shares_received=str(f.shares_in), shares_sent=str(f.shares_out), first_block=f.first_block)


def account_figures(session: Session, ctx: VaultContext, acc: Account) -> Figures:
    epochs = load_epochs(session, ctx.address, {acc.request_epoch} if acc.request_units else set())
    return figures(acc, epochs, ctx.fee_index, ctx.supply, ctx.snapshot)


@dataclass(frozen=True)
class _Trade:
    """A trade as tickets need it (cached per vault context: the same for every investor)."""

    view: TradeView
    kind: str
    timestamp: int | None
    tx_hash: str
    token_in: TokenOut
    token_out: TokenOut
    execution_price: str | None
    strategy: StrategyLink | None  # the strategy trade it was a follower fill of


def _trades(session: Session, ctx: VaultContext) -> list[_Trade]:
    cached: list[_Trade] | None = ctx.cache.get("trades")
    if cached is None:
        t = models.Trade.__table__.c
        rows = list(session.execute(select(t.seq, t.block_number, t.log_index, t.amount_in, t.amount_out, t.supply,
                                           t.kind, t.timestamp, t.tx_hash, t.token_in, t.token_out, t.digest)
                                    .where(t.vault == ctx.address).order_by(t.seq)))
        linked = links(session, (r.digest for r in rows))
        cached = []
        for r in rows:
            tin, tout = ctx.token(r.token_in), ctx.token(r.token_out)
            cached.append(_Trade(TradeView(r.seq, r.block_number, r.log_index, r.amount_in, r.amount_out, r.supply),
                                 r.kind, r.timestamp, r.tx_hash, tin, tout,
                                 price(r.amount_out, tout.decimals, r.amount_in, tin.decimals),
                                 linked.get(r.digest or "")))
        ctx.cache["trades"] = cached
    return cached


_P = models.Position.__table__.c
_HISTORY = (select(_P.block_number, _P.log_index, _P.position)
            .where(_P.vault == bindparam("vault"), _P.account == bindparam("account"),
                   _P.block_number <= bindparam("last"))
            .order_by(_P.block_number, _P.log_index))  # built once: the MAM view's hot path


def tickets(session: Session, ctx: VaultContext, acc: Account, limit: int, offset: int) -> Page[Ticket]:
    """A ticket for every trade after the investor joined (their first non-zero position)."""
    if acc.first_block is None or acc.first_log_index is None:
        return Page[Ticket](items=[], total=0, limit=limit, offset=offset)
    joined = (acc.first_block, acc.first_log_index)
    since = [t for t in _trades(session, ctx) if (t.view.block_number, t.view.log_index) > joined]
    page = since[offset:offset + limit]
    if not page:
        return Page[Ticket](items=[], total=len(since), limit=limit, offset=offset)
    history = [(r.block_number, r.log_index, int(r.position)) for r in session.connection().execute(
        _HISTORY, {"vault": ctx.address, "account": acc.address, "last": page[-1].view.block_number})]
    cut = slices(history, [t.view for t in page])
    items = [Ticket(trade_id=t.view.seq, kind=t.kind, block_number=t.view.block_number, timestamp=t.timestamp,
                    tx_hash=t.tx_hash, token_in=t.token_in, token_out=t.token_out, position_shares=str(s.position),
                    supply=str(s.supply), pool_share=s.pool_share, amount_in=str(s.amount_in),
                    amount_out=str(s.amount_out), execution_price=t.execution_price,
                    trade_amount_in=str(t.view.amount_in), trade_amount_out=str(t.view.amount_out),
                    strategy=t.strategy)
             for t, s in zip(page, cut, strict=True)]
    return Page[Ticket](items=items, total=len(since), limit=limit, offset=offset)


def _account_or_404(session: Session, ctx: VaultContext, investor: str) -> Account:
    acc = load_account(session, ctx.address, investor)
    if acc is None:
        block = ctx.head.block_number
        raise NotFound(f"{investor} has never held shares of vault {ctx.address} as of indexed block {block}",
                       indexed_block=block)
    return acc


def mam_view(session: Session, ctx: VaultContext, investor: str, tickets_limit: int, tickets_offset: int) -> MamView:
    acc = _account_or_404(session, ctx, investor)
    f = figures_out(account_figures(session, ctx, acc))
    return MamView(vault=ctx.address, asset=ctx.token(ctx.asset), block_number=ctx.head.block_number,
                   block_hash=ctx.head.block_hash, price_source=ctx.snapshot.source,
                   price_per_share=str(ctx.snapshot.price_per_share),
                   tickets=tickets(session, ctx, acc, tickets_limit, tickets_offset), **f.model_dump())


MAM_CACHE_SIZE = 4096  # rendered answers kept per vault context (one indexed block): ~10 KB each


def mam_view_json(session: Session, ctx: VaultContext, investor: str, tickets_limit: int, tickets_offset: int) -> str:
    """The MAM view as JSON, rendered once per (investor, page) while the indexed block stays the same."""
    answers: dict[tuple[str, int, int], str] = ctx.cache.setdefault("mam", {})
    key = (investor, tickets_limit, tickets_offset)
    body = answers.get(key)
    if body is None:
        body = mam_view(session, ctx, investor, tickets_limit, tickets_offset).model_dump_json()
        if len(answers) >= MAM_CACHE_SIZE:
            answers.clear()  # a new indexed block starts a new cache anyway; this only bounds memory
        answers[key] = body
    return body


def tickets_page(session: Session, ctx: VaultContext, investor: str, limit: int, offset: int) -> Page[Ticket]:
    return tickets(session, ctx, _account_or_404(session, ctx, investor), limit, offset)


def investor(session: Session, chain: ChainReader, cache: ContextCache, address: str) -> InvestorOut:
    head = load_head(session)
    vaults = list(session.scalars(select(models.Account.vault).where(models.Account.address == address)
                                  .order_by(models.Account.vault)))
    if not vaults:
        raise NotFound(f"{address} has never held shares of an indexed vault as of indexed block "
                       f"{head.block_number}", indexed_block=head.block_number)
    positions = []
    for vault in vaults:
        ctx = load_vault(session, chain, cache, vault, head)
        acc = _account_or_404(session, ctx, address)
        f = figures_out(account_figures(session, ctx, acc))
        positions.append(VaultPosition(vault=vault, vault_name=ctx.name, asset=ctx.token(ctx.asset),
                                       price_source=ctx.snapshot.source,
                                       price_per_share=str(ctx.snapshot.price_per_share), **f.model_dump()))
    return InvestorOut(address=address, block_number=head.block_number, block_hash=head.block_hash,
                       vaults=positions)
