"""Auditors: the raw event log (JSON pages and CSV) and the reconciliation.

The reconciliation trusts nothing the indexer derived: it replays the vault's raw events
from the log into fresh books (api.ledger) and compares, at the last indexed block, every
quantity the events determine with the vault's own views: supply, escrow, holdings per token,
reserved assets, marks, NAV (event holdings valued by the oracle at that block vs
totalAssets()), fee parameters, listed assets, every epoch's state, and every account's
balance and redemption request. It also checks the replay against the stored projections and
the fee shares of FeesAccrued against the Transfer mints. Every difference is reported.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from api import models
from api.indexer.decoder import checksum
from api.ledger.book import VaultBook, replay
from api.ledger.events import LogEvent
from api.ledger.state import ZERO_ADDRESS
from api.rows import ACCOUNT_FIELDS, BOOK_FIELDS, load_events
from api.schemas.audit import Difference, EventOut, Reconciliation
from api.schemas.common import Page
from api.services.chain import Call, CallFailed, ChainReader, call_many, oracle_fn, vault_fn
from api.services.context import Head, jsonable, load_head
from cohort.errors import ChainUnavailable
from cohort.onchain import EpochState, FeeState, Marks, RedeemRequest

CSV_COLUMNS = ("id", "block_number", "block_hash", "timestamp", "tx_hash", "tx_index", "log_index", "address",
               "vault", "name", "args")


def _filters(vault: str, name: str | None, from_block: int | None, to_block: int | None) -> list[Any]:
    e = models.Event
    where: list[Any] = [e.vault == vault]
    if name is not None:
        where.append(e.name == name)
    if from_block is not None:
        where.append(e.block_number >= from_block)
    if to_block is not None:
        where.append(e.block_number <= to_block)
    return where


def event_out(row: models.Event) -> EventOut:
    return EventOut(id=row.id, block_number=row.block_number, block_hash=row.block_hash, timestamp=row.timestamp,
                    tx_hash=row.tx_hash, tx_index=row.tx_index, log_index=row.log_index, address=row.address,
                    vault=row.vault, name=row.name, args=jsonable(json.loads(row.args)))


def events_page(session: Session, vault: str, name: str | None, from_block: int | None, to_block: int | None,
                limit: int, offset: int) -> Page[EventOut]:
    e = models.Event
    where = _filters(vault, name, from_block, to_block)
    total = session.scalar(select(func.count()).select_from(e).where(*where)) or 0
    rows = session.scalars(select(e).where(*where).order_by(e.block_number, e.log_index).limit(limit).offset(offset))
    return Page[EventOut](items=[event_out(r) for r in rows], total=int(total), limit=limit, offset=offset)


@dataclass(frozen=True)
class Position:
    """Where an event sits in the log: the CSV's paging cursor."""

    block_number: int
    log_index: int


def _after(cursor: Position | None) -> list[Any]:
    if cursor is None:
        return []
    e = models.Event
    return [or_(e.block_number > cursor.block_number,
                and_(e.block_number == cursor.block_number, e.log_index > cursor.log_index))]


def csv_next(session: Session, vault: str, name: str | None, from_block: int | None, to_block: int | None,
             cursor: Position | None, limit: int) -> Position | None:
    """The cursor of the page after this one (its last row's position), or None if this is the last."""
    e = models.Event
    rows = session.execute(select(e.block_number, e.log_index)
                           .where(*_filters(vault, name, from_block, to_block), *_after(cursor))
                           .order_by(e.block_number, e.log_index).limit(2).offset(limit - 1)).all()
    return Position(rows[0].block_number, rows[0].log_index) if len(rows) == 2 else None


def csv_etag(vault: str, block_hash: str | None, reorgs: int, params: tuple[Any, ...]) -> str:
    """One page of the log at one indexed block is always the same bytes."""
    key = json.dumps([vault, block_hash, reorgs, *params], default=str)
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def events_csv(sessions: sessionmaker[Session], vault: str, name: str | None, from_block: int | None,
               to_block: int | None, cursor: Position | None = None, limit: int | None = None) -> Iterator[str]:
    """One page of the filtered log as CSV, streamed in chunks from its own read transaction."""
    e = models.Event
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    with sessions() as session:
        query = (select(e).where(*_filters(vault, name, from_block, to_block), *_after(cursor))
                 .order_by(e.block_number, e.log_index).limit(limit))
        for i, row in enumerate(session.scalars(query.execution_options(yield_per=1_000))):
            writer.writerow([row.id, row.block_number, row.block_hash, row.timestamp, row.tx_hash, row.tx_index,
                             row.log_index, row.address, row.vault, row.name,
                             json.dumps(jsonable(json.loads(row.args)), separators=(",", ":"))])
            if i % 500 == 499:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()


# ---------------------------------------------------------------------------- reconciliation
class _Report:
    def __init__(self) -> None:
        self.compared: list[Difference] = []
        self.differences: list[Difference] = []
        self.checks = 0

    def check(self, item: str, key: str, from_events: Any, from_chain: Any, *, keep: bool = True) -> None:
        self.checks += 1
        delta = ""
        if isinstance(from_events, int) and isinstance(from_chain, int) and not isinstance(from_events, bool):
            delta = str(from_events - from_chain)
        d = Difference(item=item, key=key, from_events=_text(from_events), from_chain=_text(from_chain), delta=delta)
        if keep:
            self.compared.append(d)
        if _text(from_events) != _text(from_chain):
            self.differences.append(d)


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(_text(v) for v in value)
    return str(value)


def _fee_mints(events: list[LogEvent], vault: str) -> int:
    """Share mints that are not deposits, from the Transfer log alone."""
    mints = sum(int(ev.args["value"]) for ev in events if ev.name == "Transfer" and ev.address == vault
                and ev.args["from"] == ZERO_ADDRESS)
    deposits = sum(int(ev.args["shares"]) for ev in events if ev.name == "Deposit" and ev.address == vault)
    return mints - deposits


def reconcile(session: Session, chain: ChainReader, factory: str | None, vault: str,
              check_accounts: bool = True, *, accounts_limit: int | None = None, accounts_offset: int = 0,
              memo: dict[str, Any] | None = None) -> Reconciliation:
    """The reconciliation at the indexed head: every vault-level quantity, and the accounts of one
    page (`accounts_offset`, `accounts_limit`; None: all). `memo`, a cache that lives as long as
    the indexed head (a vault context's), keeps the replay of the log between pages."""
    head = load_head(session)
    replayed: _Replay | None = None if memo is None else memo.get("reconciliation.replay")
    if replayed is None:
        events = load_events(session, vault)
        replayed = _Replay(len(events), replay(events, factory).get(vault), _fee_mints(events, vault))
        if memo is not None:
            memo["reconciliation.replay"] = replayed
    book = replayed.book
    report = _Report()
    if book is None or head.block_hash is None:
        report.check("vault", vault, "not in the event log", "?")
        return _result(vault, head, replayed.events, [], 0, accounts_offset, accounts_limit, report)
    everyone = sorted(a for a in book.accounts if a not in (vault, ZERO_ADDRESS)) if check_accounts else []
    end = None if accounts_limit is None else accounts_offset + accounts_limit
    page = everyone[accounts_offset:end]
    special = [a for a in (vault, ZERO_ADDRESS) if a in book.accounts] if accounts_offset == 0 else []
    _check_projections(session, book, report, page + special, whole=end is None and accounts_offset == 0)
    report.check("fee_shares", "FeesAccrued vs Transfer mints", book.management_shares + book.performance_shares,
                 replayed.fee_mints)
    try:
        _check_chain(chain, book, head, page, report)
    except ChainUnavailable as exc:
        report.check("chain", "reads at the indexed block", "available", f"unavailable: {exc}")
    return _result(vault, head, replayed.events, page, len(everyone), accounts_offset, accounts_limit, report)


@dataclass(frozen=True)
class _Replay:
    events: int
    book: VaultBook | None
    fee_mints: int


def _result(vault: str, head: Head, replayed: int, page: list[str], total: int, offset: int, limit: int | None,
            report: _Report) -> Reconciliation:
    return Reconciliation(vault=vault, block_number=head.block_number, block_hash=head.block_hash,
                          events_replayed=replayed, checks=report.checks, accounts_checked=len(page),
                          accounts_total=total, accounts_offset=offset, accounts_limit=limit,
                          ok=not report.differences, differences=report.differences, compared=report.compared)


def _check_projections(session: Session, book: VaultBook, report: _Report, accounts: list[str],
                       whole: bool) -> None:
    """The indexer's stored books must equal a replay of the raw log (vault totals, and `accounts`)."""
    state = session.get(models.VaultState, book.address)
    if state is None:
        report.check("projection", "vault_state", "present", "missing")
        return
    for name in BOOK_FIELDS:
        report.check(f"projection.{name}", "", getattr(book, name), int(getattr(state, name)), keep=False)
    a = models.Account
    count = session.scalar(select(func.count()).select_from(a).where(a.vault == book.address)) or 0
    report.check("projection.accounts", "count", len(book.accounts), int(count), keep=False)
    query = select(a).where(a.vault == book.address)
    stored: dict[str, models.Account] = {}
    if whole:
        stored = {row.address: row for row in session.scalars(query)}
    else:
        for first in range(0, len(accounts), 500):
            chunk = accounts[first:first + 500]
            stored.update({row.address: row for row in session.scalars(query.where(a.address.in_(chunk)))})
    for address in accounts:
        acc, row = book.accounts[address], stored.get(address)
        for name in ACCOUNT_FIELDS:
            report.check(f"projection.account.{name}", address, getattr(acc, name),
                         None if row is None else getattr(row, name), keep=False)


def _check_chain(chain: ChainReader, book: VaultBook, head: Head, accounts: list[str], report: _Report) -> None:
    assert head.block_hash is not None
    v, base, config = book.address, book.asset, book.config
    oracle = config.get("oracle") or ""
    window = int((config.get("riskLimits") or {}).get("twapWindow", 1800))
    tokens = [base, *sorted(t for t in book.holdings if t != base)]
    held = [(t, book.holdings[t]) for t in tokens[1:] if book.holdings.get(t, 0) > 0]
    epochs = sorted(book.epochs)
    calls = [Call(v, vault_fn("totalSupply")), Call(v, vault_fn("balanceOf"), (v,)),
             Call(v, vault_fn("reservedAssets")), Call(v, vault_fn("marks")), Call(v, vault_fn("totalAssets")),
             Call(v, vault_fn("feeState")), Call(v, vault_fn("listedAssets"))]
    calls += [Call(v, vault_fn("holdings"), (t,)) for t in tokens]
    calls += [Call(v, vault_fn("epochState"), (e,)) for e in epochs]
    if held:
        calls.append(Call(oracle, oracle_fn("quoteMany"), ([(t, a, base) for t, a in held], window)))
    for a in accounts:
        calls += [Call(v, vault_fn("balanceOf"), (a,)), Call(v, vault_fn("redeemRequestOf"), (a,))]
    out = call_many(chain.rpc, calls, head.block_hash)

    def value(i: int) -> Any:
        r = out[i]
        return f"reverted: {r}" if isinstance(r, CallFailed) else r

    def first(i: int) -> Any:
        r = value(i)
        return r[0] if isinstance(r, tuple) else r

    report.check("supply", "", book.supply, first(0))
    report.check("escrow", "", book.escrow, first(1))
    report.check("reserved_assets", "", book.reserved, first(2))
    marks = value(3)
    if isinstance(marks, tuple):
        read = Marks.decode(marks)
        report.check("high_water_mark", "", book.high_water_mark, read.high_water_mark)
        report.check("drawdown_reference", "", book.drawdown_reference, read.drawdown_reference)
    else:
        report.check("high_water_mark", "", book.high_water_mark, marks)
        report.check("drawdown_reference", "", book.drawdown_reference, marks)
    fee_state = value(5)
    if isinstance(fee_state, tuple):
        fees = FeeState.decode(fee_state)
        report.check("fee_recipient", "", config.get("feeRecipient"), fees.recipient)
        report.check("management_fee_bps", "", config.get("managementFeeBps"), fees.management_fee_bps)
        report.check("performance_fee_bps", "", config.get("performanceFeeBps"), fees.performance_fee_bps)
    listed = first(6)
    report.check("listed_assets", "", sorted(config.get("listedAssets", [])),
                 sorted(_cs(a) for a in listed) if isinstance(listed, list | tuple) else listed)
    i = 7
    for t in tokens:
        report.check("holdings", t, book.holdings.get(t, 0), first(i))
        i += 1
    for e in epochs:
        ep, st = book.epochs[e], value(i)
        if isinstance(st, tuple):
            epoch = EpochState.decode(st)
            report.check("epoch.units", str(e), ep.units, epoch.units)
            report.check("epoch.escrow", str(e), ep.escrow, epoch.escrow)
            report.check("epoch.remaining_ray", str(e), ep.remaining_ray, epoch.remaining_ray)
            report.check("epoch.assets_per_unit_ray", str(e), ep.assets_per_unit_ray, epoch.assets_per_unit_ray)
        else:
            report.check("epoch", str(e), "state", st)
        i += 1
    nav = book.holdings.get(base, 0)
    if held:
        quoted = value(i)
        i += 1
        if isinstance(quoted, tuple):
            nav += sum(int(amount) for amount in quoted[0])
        else:
            nav = -1
    report.check("nav", "base holdings + oracle value of event holdings vs totalAssets()", nav, first(4))
    for a in accounts:
        acc = book.accounts[a]
        report.check("account.wallet", a, acc.wallet, first(i), keep=False)
        request = value(i + 1)
        claimable_shares, claimable_assets = acc.claimable(book.epochs)
        mine = [acc.request_epoch, acc.request_units, acc.pending(book.epochs), claimable_shares, claimable_assets]
        if isinstance(request, tuple):
            r = RedeemRequest.decode(request)
            request = [r.epoch, r.requested, r.pending, r.claimable_shares, r.claimable_assets]
        report.check("account.redeem_request", a, mine, request, keep=False)
        i += 2


def _cs(address: Any) -> str:
    return checksum(str(address))
