"""Persistence of the indexer's work: raw events, block hashes and the books' projections.

Everything one batch changes is written in one database transaction together with the new
cursor, so a crash leaves either the whole batch or none of it. Rows are written with Core
statements (bulk inserts and dialect upserts), which are several times faster than the ORM
for the tens of thousands of rows a long history produces.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from api import models
from api.ledger.book import VaultBook, replay
from api.ledger.events import LogEvent
from api.ledger.strategies import StrategyBook, replay_strategies
from api.rows import (
    ACCOUNT_FIELDS,
    BOOK_FIELDS,
    EPOCH_FIELDS,
    account_from_row,
    epoch_from_row,
    load_events,
    table,
)

PROJECTIONS: tuple[type[models.Base], ...] = (models.VaultState, models.Holding, models.Account, models.Epoch,
                                              models.Position, models.Trade, models.NavPoint, models.Strategy,
                                              models.StrategyFollow, models.MasterExecution, models.StrategyFill,
                                              models.StrategySkip)
_CHUNK = 2_000


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _chunks(rows: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def upsert(session: Session, model: type[models.Base], rows: Sequence[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT (primary key) DO UPDATE, on SQLite and PostgreSQL alike."""
    if not rows:
        return
    target = table(model)
    keys = [c.name for c in target.primary_key.columns]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for chunk in _chunks(rows):
        stmt = insert(target)
        stmt = stmt.on_conflict_do_update(
            index_elements=keys, set_={c.name: stmt.excluded[c.name] for c in target.columns if c.name not in keys})
        session.execute(stmt, list(chunk))


def insert_rows(session: Session, model: type[models.Base], rows: Sequence[dict[str, Any]]) -> None:
    target = table(model)
    for chunk in _chunks(rows):
        session.execute(target.insert(), list(chunk))


# ---------------------------------------------------------------------------- events and blocks
def event_row(ev: LogEvent, vault: str) -> dict[str, Any]:
    return {"block_number": ev.block_number, "block_hash": ev.block_hash, "timestamp": ev.timestamp,
            "tx_hash": ev.tx_hash, "tx_index": ev.tx_index, "log_index": ev.log_index, "address": ev.address,
            "vault": vault, "name": ev.name, "args": dumps(ev.args)}


def existing_keys(session: Session, from_block: int, to_block: int) -> set[tuple[str, int]]:
    """(tx hash, log index) of the events already stored in a block range."""
    e = table(models.Event).c
    rows = session.execute(select(e.tx_hash, e.log_index).where(e.block_number.between(from_block, to_block)))
    return {(r.tx_hash, r.log_index) for r in rows}


def insert_events(session: Session, events: Sequence[LogEvent], vault_of: dict[tuple[str, int], str]) -> None:
    insert_rows(session, models.Event, [event_row(ev, vault_of.get(ev.key, ev.address)) for ev in events])


def save_blocks(session: Session, blocks: dict[int, tuple[str, int | None]]) -> None:
    upsert(session, models.Block, [{"number": n, "hash": h, "timestamp": t} for n, (h, t) in blocks.items()])


# ---------------------------------------------------------------------------- vaults
def vault_row(ev: LogEvent) -> dict[str, Any]:
    a = ev.args
    return {"address": a["vault"], "asset": a["asset"], "name": a["params"]["name"], "symbol": a["params"]["symbol"],
            "creator": a["creator"], "admin": a["admin"], "salt": a["salt"], "created_block": ev.block_number,
            "created_tx": ev.tx_hash, "created_at": ev.timestamp, "params": dumps(a["params"])}


def save_vaults(session: Session, created: Sequence[LogEvent]) -> None:
    upsert(session, models.Vault, [vault_row(ev) for ev in created])


def known_vaults(session: Session) -> dict[str, dict[str, Any]]:
    """address -> VaultCreated params, in creation order."""
    v = table(models.Vault).c
    rows = session.execute(select(v.address, v.params).order_by(v.created_block, v.address))
    return {r.address: json.loads(r.params) for r in rows}


# ---------------------------------------------------------------------------- books
def load_books(session: Session) -> dict[str, VaultBook]:
    """The books as the last committed batch left them."""
    books: dict[str, VaultBook] = {}
    for address, params in known_vaults(session).items():
        books[address] = VaultBook.created(address, params)
    for row in session.execute(select(table(models.VaultState))).mappings():
        book = books.get(row["vault"])
        if book is None:
            continue
        book.config = json.loads(row["config"])
        for name in BOOK_FIELDS:
            setattr(book, name, row[name])
    for row in session.execute(select(table(models.Holding))).mappings():
        if row["vault"] in books:
            books[row["vault"]].holdings[row["token"]] = row["amount"]
    for account in session.execute(select(table(models.Account))):
        if account.vault in books:
            books[account.vault].accounts[account.address] = account_from_row(account)
    for epoch in session.execute(select(table(models.Epoch))):
        if epoch.vault in books:
            books[epoch.vault].epochs[epoch.epoch] = epoch_from_row(epoch)
    for book in books.values():
        book.restore_members()
    return books


def persist(session: Session, books: Iterable[VaultBook], *, everything: bool = False) -> None:
    """Write what changed in each book (or all of it) and clear the books' outboxes."""
    accounts: list[dict[str, Any]] = []
    epochs: list[dict[str, Any]] = []
    states: list[dict[str, Any]] = []
    holdings: list[dict[str, Any]] = []
    positions: list[dict[str, Any]] = []
    trades: list[dict[str, Any]] = []
    nav: list[dict[str, Any]] = []
    for book in books:
        v = book.address
        account_keys = book.accounts.keys() if everything else book.dirty_accounts
        for address in account_keys:
            acc = book.accounts[address]
            accounts.append({"vault": v, **{f: getattr(acc, f) for f in ACCOUNT_FIELDS}})
        epoch_keys = book.epochs.keys() if everything else book.dirty_epochs
        for number in epoch_keys:
            ep = book.epochs[number]
            epochs.append({"vault": v, **{f: getattr(ep, f) for f in EPOCH_FIELDS}})
        states.append({"vault": v, "config": dumps(book.config), **{f: getattr(book, f) for f in BOOK_FIELDS}})
        holdings.extend({"vault": v, "token": t, "amount": amount} for t, amount in book.holdings.items())
        positions.extend({"vault": v, "account": p.account, "block_number": p.block_number,
                          "log_index": p.log_index, "wallet": p.wallet, "pending": p.pending,
                          "position": p.position} for p in book.new_positions)
        trades.extend({"vault": v, "seq": t.seq, "kind": t.kind, "block_number": t.block_number,
                       "log_index": t.log_index, "tx_hash": t.tx_hash, "timestamp": t.timestamp,
                       "token_in": t.token_in, "token_out": t.token_out, "amount_in": t.amount_in,
                       "amount_out": t.amount_out, "oracle_amount_out": t.oracle_amount_out,
                       "limit_price": t.limit_price, "loss": t.loss, "keeper": t.keeper, "digest": t.digest,
                       "nonce": t.nonce, "supply": t.supply} for t in book.new_trades)
        nav.extend({"vault": v, "kind": n.kind, "block_number": n.block_number, "log_index": n.log_index,
                    "timestamp": n.timestamp, "nav": n.nav, "supply": n.supply, "price_per_share": n.price_per_share,
                    "high_water_mark": n.high_water_mark, "management_shares": n.management_shares,
                    "performance_shares": n.performance_shares} for n in book.new_nav)
        book.dirty_accounts.clear()
        book.dirty_epochs.clear()
        book.new_positions.clear()
        book.new_trades.clear()
        book.new_nav.clear()
    upsert(session, models.Account, accounts)
    upsert(session, models.Epoch, epochs)
    upsert(session, models.VaultState, states)
    upsert(session, models.Holding, holdings)
    insert_rows(session, models.Position, positions)
    insert_rows(session, models.Trade, trades)
    insert_rows(session, models.NavPoint, nav)


# ---------------------------------------------------------------------------- rollback and rebuild
def delete_after(session: Session, block: int) -> int:
    """Forget everything above `block` (a reorg); returns how many events went."""
    e = table(models.Event).c
    result = session.execute(delete(table(models.Event)).where(e.block_number > block))
    gone = getattr(result, "rowcount", 0) or 0
    session.execute(delete(table(models.Block)).where(table(models.Block).c.number > block))
    session.execute(delete(table(models.Vault)).where(table(models.Vault).c.created_block > block))
    return int(gone)


def rebuild_projections(session: Session, factory: str | None,
                        strategies: str | None = None) -> tuple[dict[str, VaultBook], StrategyBook]:
    """Replay the stored events into fresh books and rewrite every projection from them."""
    for model in PROJECTIONS:
        session.execute(delete(table(model)))
    events = load_events(session)
    books = replay(events, factory)
    persist(session, books.values(), everything=True)
    book = replay_strategies(events, strategies, factory)
    persist_strategies(session, book)
    return books, book


# ---------------------------------------------------------------------------- strategies (MAM)
def load_strategy_book(session: Session, address: str | None) -> StrategyBook:
    """The strategy books as the last committed batch left them (strategies and open follows)."""
    book = StrategyBook(address)
    for row in session.execute(select(table(models.Strategy))).mappings():
        book.strategies[row["strategy_id"]] = dict(row)
    f = table(models.StrategyFollow)
    for row in session.execute(select(f).where(f.c.ended_block.is_(None))).mappings():
        book.following[row["vault"]] = {**row, "rule": json.loads(row["rule"])}
    return book


def persist_strategies(session: Session, book: StrategyBook) -> None:
    """Write what changed in the strategy books and clear their outboxes."""
    book.finish()
    upsert(session, models.Strategy, [book.strategies[i] for i in sorted(book.dirty_strategies)])
    upsert(session, models.StrategyFollow, [{**row, "rule": dumps(row["rule"])}
                                            for _, row in sorted(book.dirty_follows.items())])
    insert_rows(session, models.MasterExecution,
                [{**row, "signal": None if row["signal"] is None else dumps(row["signal"])}
                 for row in book.new_executions])
    insert_rows(session, models.StrategyFill, book.new_fills)
    insert_rows(session, models.StrategySkip, book.new_skips)
    book.dirty_strategies.clear()
    book.dirty_follows.clear()
    book.new_executions.clear()
    book.new_fills.clear()
    book.new_skips.clear()


def stored_hashes(session: Session, below_or_at: int, limit: int) -> list[tuple[int, str]]:
    """The stored block hashes at or below a height, newest first."""
    b = table(models.Block).c
    rows = session.execute(select(b.number, b.hash).where(b.number <= below_or_at)
                           .order_by(b.number.desc()).limit(limit))
    return [(r.number, r.hash) for r in rows]
