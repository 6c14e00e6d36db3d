"""The indexer loop: one batch of blocks at a time, from the factory's deployment to the head
less the confirmation depth.

One batch:
1. read the headers of its first and last block; the first block's parent must be the stored
   cursor hash, else the chain reorganised under us (rollback, then go on);
2. eth_getLogs the factory's VaultCreated in the range, then every known vault's logs (new
   vaults included: their constructor logs sit in the same transaction as VaultCreated);
3. read the last block's header again: if its hash changed, the logs may mix two forks, so
   the batch is dropped and retried;
4. apply the logs to the in-memory books in chain order, skipping any (tx hash, log index)
   already stored, and write events, block hashes, projections and the new cursor in one
   database transaction.

A reorg is found by comparing stored block hashes (each batch's last block and every block
with a stored log) with the chain, newest first; the newest one still on the chain is the
common ancestor. Everything above it is deleted and the projections are rebuilt by replaying
the stored events, so the result is what a fresh index of the new chain gives.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from eth_abi import decode as abi_decode
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api import models
from api.errors import IndexerError, ReorgTooDeep
from api.indexer import store
from api.indexer.batching import BatchPolicy, looks_like_limit
from api.indexer.decoder import EventDecoder, checksum, cohort_decoder
from api.indexer.rpc import Header, Rpc, RpcError
from api.ledger.book import VAULT_CREATED, VaultBook
from api.ledger.events import LogEvent
from api.ledger.strategies import StrategyBook
from api.settings import Settings
from cohort import manifest as mf
from cohort.errors import ChainUnavailable

log = logging.getLogger("cohort.api.indexer")
# how stale the stored "head seen at" stamp may get while nothing happens (for /health)
HEAD_STAMP_REFRESH_S = 5.0

_DECIMALS = "0x313ce567"
_SYMBOL = "0x95d89b41"


@dataclass
class SyncReport:
    from_block: int
    to_block: int
    events: int = 0
    batches: int = 0
    reorgs: int = 0
    seconds: float = 0.0

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Progress:
    emit: Callable[[str], None] | None
    interval: float
    started: float = field(default_factory=time.monotonic)
    last: float = 0.0
    shown: bool = False

    def update(self, block: int, target: int, first: int, events: int, batch: int) -> None:
        if self.emit is None:
            return
        now = time.monotonic()
        if now - self.last < self.interval and block < target:
            return
        if not self.shown and block >= target:
            return  # caught up in one go: nothing worth a progress line
        self.last, self.shown = now, True
        done = (block - first + 1) / max(1, target - first + 1)
        rate = events / max(1e-9, now - self.started)
        self.emit(f"indexing: block {block:,}/{target:,} ({done:.0%}), {events:,} events, "
                  f"{rate:,.0f} events/s, batch {batch:,} blocks")


class Indexer:
    def __init__(self, settings: Settings, engine: Engine, *, rpc: Rpc | None = None,
                 progress: Callable[[str], None] | None = None, decoder: EventDecoder | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self.rpc = rpc or Rpc(settings.rpc_url, settings.rpc_timeout)
        self.progress = progress
        self.decoder = decoder or cohort_decoder()
        self.policy = BatchPolicy(settings.min_batch_blocks, max(settings.min_batch_blocks, settings.max_batch_blocks),
                                  settings.target_logs_per_request)
        self.batch = min(max(settings.batch_blocks, self.policy.minimum), self.policy.maximum)
        self.ceiling: int | None = None  # the size the provider last accepted after refusing a bigger one
        self.factory, self.start_block, self.strategies = self._origin()
        self.books: dict[str, VaultBook] | None = None
        self.strategy_book: StrategyBook | None = None
        self._vault_created = self.decoder.topic("VaultCreated")
        self._tokens_known: set[str] = set()
        self._chain: tuple[int, str] | None = None  # (chain id, genesis hash), read once

    # ------------------------------------------------------------------ setup
    def _origin(self) -> tuple[str, int, str | None]:
        """The factory, its first block and the strategies contract (None: no MAM side deployed)."""
        factory, start, strategies = self.settings.factory, self.settings.start_block, self.settings.strategies
        if factory is None or start is None or strategies is None:
            path = self.settings.manifest_path()
            m = mf.load(path) if path.exists() or factory is None or start is None else None
            if m is not None:
                factory = factory or m.cohort.factory
                start = start if start is not None else m.cohort.factory_block
                strategies = strategies or m.cohort.strategies
        if factory is None:
            raise IndexerError("no factory: set API_FACTORY or deploy Cohort (the manifest has none)")
        return checksum(factory), int(start or 0), None if strategies is None else checksum(strategies)

    def _identity(self) -> tuple[int, str]:
        if self._chain is None:
            genesis = self.rpc.header(0)
            if genesis is None:
                raise IndexerError("the node has no genesis block")
            self._chain = (self.rpc.chain_id(), genesis.hash)
        return self._chain

    def _state(self, session: Session) -> models.IndexerState:
        state = session.get(models.IndexerState, 1)
        chain_id, genesis = self._identity()
        if state is None:
            state = models.IndexerState(id=1, chain_id=chain_id, genesis_hash=genesis, factory=self.factory,
                                        start_block=self.start_block,
                                        cursor_block=self.start_block - 1, cursor_hash=None, head_block=0,
                                        head_seen_at=0.0, confirmations=self.settings.confirmations,
                                        reorg_count=0, last_reorg_block=None, updated_at=time.time())
            session.add(state)
            session.flush()
        elif (state.chain_id, state.genesis_hash, state.factory) != (chain_id, genesis, self.factory):
            raise IndexerError(f"the database indexes factory {state.factory} on chain {state.chain_id} (genesis "
                               f"{state.genesis_hash[:10]}), not {self.factory} on chain {chain_id} (genesis "
                               f"{genesis[:10]}): use another database")
        return state

    def _books(self, session: Session) -> dict[str, VaultBook]:
        if self.books is None:
            self.books = store.load_books(session)
        return self.books

    def _strategy_book(self, session: Session) -> StrategyBook:
        if self.strategy_book is None:
            self.strategy_book = store.load_strategy_book(session, self.strategies)
        return self.strategy_book

    def _forget_books(self) -> None:
        """The books ran ahead of a rolled-back transaction: reload them from the database."""
        self.books = self.strategy_book = None

    # ------------------------------------------------------------------ public
    def sync(self, to_block: int | None = None, *, max_batches: int | None = None) -> SyncReport:
        """Index until the confirmed head (or `to_block`) is reached."""
        started = time.monotonic()
        with Session(self.engine) as session:
            first = self._state(session).cursor_block + 1
            session.commit()
        report = SyncReport(from_block=first, to_block=first - 1)
        progress = _Progress(self.progress, self.settings.progress_interval)
        while max_batches is None or report.batches < max_batches:
            outcome = self.step(to_block)
            if outcome is None:
                break
            report.batches += 1
            if outcome.reorg:
                report.reorgs += 1
            report.events += outcome.events
            report.to_block = outcome.cursor
            progress.update(outcome.cursor, outcome.target, first, report.events, self.batch)
        report.seconds = time.monotonic() - started
        return report

    def run_forever(self, stop: threading.Event) -> None:
        """Follow the chain until `stop` is set; RPC outages are waited out."""
        delay = self.settings.poll_interval
        while not stop.is_set():
            try:
                self.sync()
                delay = self.settings.poll_interval
            except ChainUnavailable as exc:
                log.warning("RPC unavailable, retrying in %.1fs: %s", delay, exc)
                delay = min(30.0, delay * 2)
            except Exception:
                log.exception("indexer batch failed; retrying")
                self._forget_books()
                delay = min(30.0, delay * 2)
            stop.wait(delay)

    # ------------------------------------------------------------------ one batch
    @dataclass
    class Outcome:
        cursor: int
        target: int
        events: int = 0
        reorg: bool = False

    def step(self, to_block: int | None = None) -> Indexer.Outcome | None:
        """Index one batch; None when there is nothing to do."""
        rpc = self.rpc
        with Session(self.engine) as session:
            state = self._state(session)
            head = rpc.block_number()
            now = time.time()
            # an idle poll writes nothing unless the head moved or its stamp is getting old: a
            # commit per poll grew the SQLite WAL forever while the chain stood still
            if state.head_block != head or now - (state.head_seen_at or 0) >= HEAD_STAMP_REFRESH_S:
                state.head_block, state.head_seen_at = head, now
            if state.confirmations != self.settings.confirmations:
                state.confirmations = self.settings.confirmations
            target = head - self.settings.confirmations
            if to_block is not None:
                target = min(target, to_block)
            cursor, cursor_hash = state.cursor_block, state.cursor_hash
            first = cursor + 1
            if first > target:
                if cursor_hash is not None:
                    current = rpc.header(cursor)
                    if current is None or current.hash != cursor_hash:
                        return self._rollback(session, state, head)
                session.commit()
                return None
            last = min(first + self.batch - 1, target)
            end = rpc.header(last)
            start = end if first == last else rpc.header(first)
            if end is None or start is None:
                return self._rollback(session, state, head)  # the chain got shorter under us
            if cursor_hash is not None and start.parent_hash != cursor_hash:
                return self._rollback(session, state, head)
            books = self._books(session)
            try:
                raw = self._fetch(first, last, list(books))
            except (RpcError, ChainUnavailable) as exc:
                if isinstance(exc, RpcError) or looks_like_limit(str(exc)):
                    smaller = self.policy.after_refusal(self.batch)
                    if smaller is None:
                        raise IndexerError(f"eth_getLogs refuses even {self.batch} block(s) at {first}: {exc}") from exc
                    log.info("eth_getLogs refused %d blocks (%s): trying %d", self.batch, exc, smaller)
                    self.batch = self.ceiling = smaller
                    session.commit()
                    return Indexer.Outcome(cursor=cursor, target=target)
                raise
            again = rpc.header(last)
            if again is None or again.hash != end.hash:
                session.commit()
                return Indexer.Outcome(cursor=cursor, target=target)  # a reorg while we read: retry
            try:
                events = self._apply(session, raw, first, last, end)
                state.cursor_block, state.cursor_hash, state.updated_at = last, end.hash, time.time()
                session.commit()
            except BaseException:
                self._forget_books()
                raise
        self.batch = self.policy.after_success(self.batch, len(raw), self.ceiling)
        return Indexer.Outcome(cursor=last, target=target, events=events)

    def _fetch(self, first: int, last: int, vaults: list[str]) -> list[dict[str, Any]]:
        """The factory's VaultCreated logs, the strategies contract's logs, then every known and new
        vault's logs, in the range."""
        raw = self.rpc.get_logs(first, last, self.factory, [self._vault_created])
        vaults += [checksum("0x" + str(r["topics"][1])[-40:]) for r in raw if len(r.get("topics", [])) > 1]
        if self.strategies is not None:  # after the new vaults: its topics name strategies, not vaults
            raw += self.rpc.get_logs(first, last, self.strategies)
        chunk = self.settings.address_chunk
        for i in range(0, len(vaults), chunk):
            raw += self.rpc.get_logs(first, last, vaults[i:i + chunk])
        return raw

    def _apply(self, session: Session, raw: list[dict[str, Any]], first: int, last: int, end: Header) -> int:
        books = self._books(session)
        decoded = [ev for ev in (self.decoder.decode(r) for r in raw) if ev is not None]
        decoded.sort(key=lambda ev: ev.position)
        decoded = self._with_timestamps(decoded, end)
        if decoded:
            seen = store.existing_keys(session, first, last)
            if seen:
                decoded = [ev for ev in decoded if ev.key not in seen]
        created = [ev for ev in decoded if ev.name == VAULT_CREATED and ev.address == self.factory]
        for ev in created:
            vault = ev.args["vault"]
            books.setdefault(vault, VaultBook.created(vault, ev.args["params"]))
        vault_of: dict[tuple[str, int], str] = {ev.key: ev.args["vault"] for ev in created}
        strategy_book = self._strategy_book(session)
        decoded = self._with_master_signals(decoded)
        stored: list[LogEvent] = []
        touched: set[str] = set()
        for ev in decoded:
            if ev.key in vault_of:
                stored.append(ev)
                continue
            if strategy_book.reads(ev, books):
                strategy_book.apply(ev)
                if ev.address == self.strategies:
                    stored.append(ev)
                    vault_of[ev.key] = ev.args.get("follower", ev.address)  # a skip belongs to its follower
                    continue
            book = books.get(ev.address)
            if book is None:
                continue  # not a vault of this factory
            book.apply(ev)
            touched.add(ev.address)
            stored.append(ev)
        for address in touched:
            books[address].finish()
        store.save_vaults(session, created)
        store.insert_events(session, stored, vault_of)
        blocks = {ev.block_number: (ev.block_hash, ev.timestamp) for ev in stored}
        blocks[end.number] = (end.hash, end.timestamp)
        store.save_blocks(session, blocks)
        store.persist(session, [books[a] for a in touched | {ev.args["vault"] for ev in created}])
        self._learn_tokens(session, [books[a] for a in touched | {ev.args["vault"] for ev in created}])
        store.persist_strategies(session, strategy_book)
        return len(stored)

    def _with_master_signals(self, events: list[LogEvent]) -> list[LogEvent]:
        """MasterExecuted with `signal`: the MasterSignal of the MasterTerms event CohortStrategies
        emits just before it in the same transaction (events alone: whoever made the call). Stored
        with the event, so a rebuild after a reorg reads it back."""
        terms: dict[tuple[str, int, int], dict[str, Any]] = {}
        out = []
        for ev in events:
            if ev.name == "MasterTerms" and ev.address == self.strategies:
                terms[(ev.tx_hash, int(ev.args["strategyId"]), int(ev.args["nonce"]))] = dict(ev.args["master"])
                continue
            if ev.name == "MasterExecuted" and ev.address == self.strategies and "signal" not in ev.args:
                key = (ev.tx_hash, int(ev.args["strategyId"]), int(ev.args["nonce"]))
                ev = replace(ev, args={**ev.args, "signal": terms.get(key)})
            out.append(ev)
        return out

    def _with_timestamps(self, events: list[LogEvent], end: Header) -> list[LogEvent]:
        """Fill block timestamps from headers when the node leaves `blockTimestamp` out of logs."""
        missing = {ev.block_number for ev in events if ev.timestamp is None}
        if not missing:
            return events
        times = {end.number: end.timestamp}
        for number in sorted(missing - times.keys()):
            header = self.rpc.header(number)
            if header is not None:
                times[number] = header.timestamp
        return [ev if ev.timestamp is not None else replace(ev, timestamp=times.get(ev.block_number))
                for ev in events]

    # ------------------------------------------------------------------ reorgs
    def _rollback(self, session: Session, state: models.IndexerState, head: int) -> Indexer.Outcome:
        ancestor = self._common_ancestor(session, state, head)
        gone = store.delete_after(session, ancestor.number if ancestor else state.start_block - 1)
        state.cursor_block = ancestor.number if ancestor else state.start_block - 1
        state.cursor_hash = ancestor.hash if ancestor else None
        state.reorg_count += 1
        state.last_reorg_block = state.cursor_block + 1
        state.updated_at = time.time()
        session.flush()
        self.books, self.strategy_book = store.rebuild_projections(session, self.factory, self.strategies)
        session.commit()
        log.warning("reorg: rolled back to block %d (%d events dropped)", state.cursor_block, gone)
        if self.progress:
            self.progress(f"reorg detected: rolled back to block {state.cursor_block:,} ({gone:,} events dropped)")
        return Indexer.Outcome(cursor=state.cursor_block, target=head - self.settings.confirmations, reorg=True)

    def _common_ancestor(self, session: Session, state: models.IndexerState, head: int) -> Header | None:
        """The newest stored block still on the chain (None: nothing stored survives)."""
        floor = state.cursor_block - self.settings.max_reorg_depth
        top = min(state.cursor_block, head)
        while True:
            rows = store.stored_hashes(session, top, 256)
            if not rows:
                return None
            for number, stored_hash in rows:
                if number < floor:
                    raise ReorgTooDeep(f"no stored block within {self.settings.max_reorg_depth} blocks of "
                                       f"{state.cursor_block} is still on the chain")
                current = self.rpc.header(number)
                if current is not None and current.hash == stored_hash:
                    return current
            top = rows[-1][0] - 1

    # ------------------------------------------------------------------ token metadata
    def _learn_tokens(self, session: Session, books: list[VaultBook]) -> None:
        wanted = {t for b in books for t in (b.asset, *b.config.get("listedAssets", []), *b.holdings)}
        wanted -= self._tokens_known
        if not wanted:
            return
        known = set(session.scalars(select(models.Token.address).where(models.Token.address.in_(wanted))))
        rows = []
        for token in sorted(wanted - known):
            rows.append(self._token_metadata(token))
        store.upsert(session, models.Token, rows)
        self._tokens_known |= wanted

    def _token_metadata(self, token: str) -> dict[str, Any]:
        try:
            decimals = int(self.rpc.call(token, _DECIMALS), 16)
            raw = bytes.fromhex(self.rpc.call(token, _SYMBOL)[2:])
            try:
                symbol = str(abi_decode(["string"], raw)[0])
            except Exception:
                symbol = raw[:32].rstrip(b"\0").decode("utf-8", "replace")
            return {"address": token, "symbol": symbol, "decimals": decimals, "known": True}
        except (RpcError, ValueError):  # not an ERC-20 with metadata; an outage propagates
            return {"address": token, "symbol": token[:10], "decimals": 18, "known": False}
