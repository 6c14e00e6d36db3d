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
import io
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api import models
from api.indexer.decoder import checksum
from api.indexer.store import ACCOUNT_FIELDS, BOOK_FIELDS, load_events
from api.ledger import book as lb
from api.ledger.book import ZERO_ADDRESS
from api.schemas.audit import Difference, EventOut, Reconciliation
from api.schemas.common import Page
from api.services.chain import Call, CallFailed, ChainReader, call_many, oracle_fn, vault_fn
from api.services.context import Head, jsonable, load_head
from cohort.errors import ChainUnavailable

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


def events_csv(sessions: sessionmaker[Session], vault: str, name: str | None, from_block: int | None,
               to_block: int | None) -> Iterator[str]:
    """The whole filtered log as CSV, streamed in chunks from its own read transaction."""
    e = models.Event
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    with sessions() as session:
        query = select(e).where(*_filters(vault, name, from_block, to_block)).order_by(e.block_number, e.log_index)
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


def _fee_mints(events: list[lb.LogEvent], vault: str) -> int:
    """Share mints that are not deposits, from the Transfer log alone."""
    mints = sum(int(ev.args["value"]) for ev in events if ev.name == "Transfer" and ev.address == vault
                and ev.args["from"] == ZERO_ADDRESS)
    deposits = sum(int(ev.args["shares"]) for ev in events if ev.name == "Deposit" and ev.address == vault)
    return mints - deposits


def reconcile(session: Session, chain: ChainReader, factory: str | None, vault: str,
              check_accounts: bool = True) -> Reconciliation:
    head = load_head(session)
    events = load_events(session, vault)
    book = lb.replay(events, factory).get(vault)
    report = _Report()
    if book is None or head.block_hash is None:
        report.check("vault", vault, "not in the event log", "?")
        return _result(vault, head, len(events), 0, report)
    _check_projections(session, book, report)
    report.check("fee_shares", "FeesAccrued vs Transfer mints", book.management_shares + book.performance_shares,
                 _fee_mints(events, vault))
    accounts = sorted(a for a in book.accounts if a not in (vault, ZERO_ADDRESS)) if check_accounts else []
    try:
        _check_chain(chain, book, head, accounts, report)
    except ChainUnavailable as exc:
        report.check("chain", "reads at the indexed block", "available", f"unavailable: {exc}")
    return _result(vault, head, len(events), len(accounts), report)


def _result(vault: str, head: Head, replayed: int, accounts: int, report: _Report) -> Reconciliation:
    return Reconciliation(vault=vault, block_number=head.block_number, block_hash=head.block_hash,
                          events_replayed=replayed, checks=report.checks, accounts_checked=accounts,
                          ok=not report.differences, differences=report.differences, compared=report.compared)


def _check_projections(session: Session, book: lb.VaultBook, report: _Report) -> None:
    """The indexer's stored books must equal a replay of the raw log."""
    state = session.get(models.VaultState, book.address)
    if state is None:
        report.check("projection", "vault_state", "present", "missing")
        return
    for name in BOOK_FIELDS:
        report.check(f"projection.{name}", "", getattr(book, name), int(getattr(state, name)), keep=False)
    stored = {row.address: row for row in session.scalars(select(models.Account)
                                                          .where(models.Account.vault == book.address))}
    report.check("projection.accounts", "count", len(book.accounts), len(stored), keep=False)
    for address, acc in book.accounts.items():
        row = stored.get(address)
        for name in ACCOUNT_FIELDS:
            report.check(f"projection.account.{name}", address, getattr(acc, name),
                         None if row is None else getattr(row, name), keep=False)


def _check_chain(chain: ChainReader, book: lb.VaultBook, head: Head, accounts: list[str], report: _Report) -> None:
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
    marks = first(3)
    report.check("high_water_mark", "", book.high_water_mark, marks[0] if isinstance(marks, tuple) else marks)
    report.check("drawdown_reference", "", book.drawdown_reference, marks[1] if isinstance(marks, tuple) else marks)
    fee_state = first(5)
    if isinstance(fee_state, tuple):
        report.check("fee_recipient", "", config.get("feeRecipient"), _cs(fee_state[0]))
        report.check("management_fee_bps", "", config.get("managementFeeBps"), fee_state[1])
        report.check("performance_fee_bps", "", config.get("performanceFeeBps"), fee_state[2])
    listed = first(6)
    report.check("listed_assets", "", sorted(config.get("listedAssets", [])),
                 sorted(_cs(a) for a in listed) if isinstance(listed, list | tuple) else listed)
    i = 7
    for t in tokens:
        report.check("holdings", t, book.holdings.get(t, 0), first(i))
        i += 1
    for e in epochs:
        ep, st = book.epochs[e], first(i)
        if isinstance(st, tuple):
            report.check("epoch.units", str(e), ep.units, st[0])
            report.check("epoch.escrow", str(e), ep.escrow, st[1])
            report.check("epoch.remaining_ray", str(e), ep.remaining_ray, st[2])
            report.check("epoch.assets_per_unit_ray", str(e), ep.assets_per_unit_ray, st[4])
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
        report.check("account.redeem_request", a, mine, list(request) if isinstance(request, tuple) else request,
                     keep=False)
        i += 2


def _cs(address: Any) -> str:
    return checksum(str(address))
