"""The manager's view of a vault: every investor account, sorted and filtered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from api.schemas.accounts import AccountsOut
from api.schemas.common import Page
from api.schemas.investors import AccountFigures
from api.services.context import VaultContext, load_accounts, load_epochs
from api.services.investors import figures_out
from api.services.mam import Figures, figures

SORT_KEYS: dict[str, Callable[[Figures], Any]] = {
    "equity": lambda f: f.equity,
    "position": lambda f: f.position,
    "shares": lambda f: f.wallet,
    "net_deposits": lambda f: f.net_deposits,
    "total_pnl": lambda f: f.total_pnl,
    "realised_pnl": lambda f: f.realised_pnl,
    "unrealised_pnl": lambda f: f.unrealised_pnl,
    "fees_borne": lambda f: f.fees_borne,
    "pending": lambda f: f.pending,
    "claimable": lambda f: f.claimable_assets,
    "first_block": lambda f: -1 if f.first_block is None else f.first_block,
    "address": lambda f: f.address.lower(),
}
REDEMPTION_FILTERS: dict[str, Callable[[Figures], bool]] = {
    "any": lambda f: True,
    "none": lambda f: f.redemption_state == "none",
    "pending": lambda f: f.pending > 0,
    "claimable": lambda f: f.claimable_shares > 0 or f.claimable_assets > 0,
}


def all_figures(session: Session, ctx: VaultContext) -> list[Figures]:
    """Every account's figures at the context's head (memoised on the cached context)."""
    cached = ctx.cache.get("figures")
    if cached is None:
        epochs = load_epochs(session, ctx.address)
        cached = [figures(acc, epochs, ctx.fee_index, ctx.supply, ctx.snapshot)
                  for acc in load_accounts(session, ctx.address)]
        ctx.cache["figures"] = cached
    return list(cached)


def accounts_view(session: Session, ctx: VaultContext, *, sort: str, descending: bool, redemption: str,
                  min_equity: int | None, max_equity: int | None, include_empty: bool,
                  limit: int, offset: int) -> AccountsOut:
    rows = all_figures(session, ctx)
    keep = REDEMPTION_FILTERS[redemption]
    rows = [f for f in rows if keep(f)
            and (include_empty or f.position > 0 or f.claimable_shares > 0 or f.claimable_assets > 0)
            and (min_equity is None or f.equity >= min_equity)
            and (max_equity is None or f.equity <= max_equity)]
    key = SORT_KEYS[sort]
    rows.sort(key=lambda f: f.address.lower())
    rows.sort(key=key, reverse=descending)
    page = [figures_out(f) for f in rows[offset:offset + limit]]
    return AccountsOut(vault=ctx.address, asset=ctx.token(ctx.asset), block_number=ctx.head.block_number,
                       block_hash=ctx.head.block_hash, price_source=ctx.snapshot.source,
                       price_per_share=str(ctx.snapshot.price_per_share), supply=str(ctx.supply),
                       accounts=Page[AccountFigures](items=page, total=len(rows), limit=limit, offset=offset))
