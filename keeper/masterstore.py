"""The keeper store's master-signal tables: `masters` (one row per submitted master signal, like
`signals`) and `master_followers` (one row per follower of an accepted master: its chunk, its
transaction and its outcome).

A follower row moves pending -> sent (its chunk's transaction is recorded, write-ahead) -> filled
| skipped | zero | filled_by_other | expired. A chunk that did not mine (reverted, replaced, lost)
puts its followers back to pending, so a keeper restarted at any point sends each follower's share
at most once and finishes the others: what is `sent` is settled first, what is `pending` planned.

`Store` (keeper.store) inherits these methods; this module holds no connection of its own.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from keeper.columns import Submission, clamp_deadline, counts_by_state, fetch_one, fetch_open, fetch_page, update_row
from keeper.policy import SignalState

MASTER_SCHEMA = """
CREATE TABLE IF NOT EXISTS masters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    digest TEXT,
    strategies TEXT,
    strategy_id INTEGER,
    chain_id INTEGER,
    nonce TEXT,
    deadline INTEGER,
    payload TEXT NOT NULL,
    source TEXT NOT NULL,
    accepted INTEGER NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    detail TEXT,
    retries INTEGER NOT NULL DEFAULT 0,
    received_at REAL NOT NULL,
    received_block INTEGER,
    updated_at REAL NOT NULL,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS masters_state ON masters(state);
CREATE INDEX IF NOT EXISTS masters_digest ON masters(digest);
CREATE TABLE IF NOT EXISTS master_followers (
    master_id INTEGER NOT NULL REFERENCES masters(id),
    follower TEXT NOT NULL,
    position INTEGER NOT NULL,
    state TEXT NOT NULL,
    chunk INTEGER,
    tx_id INTEGER,
    tx_hash TEXT,
    block_number INTEGER,
    amount_in TEXT,
    amount_out TEXT,
    reason TEXT,
    detail TEXT,
    updated_at REAL NOT NULL,
    PRIMARY KEY (master_id, follower)
);
"""


class FollowerState(StrEnum):
    PENDING = "pending"  # planned, not in a transaction yet (or its chunk did not mine)
    SENT = "sent"  # in a chunk whose transaction is recorded and maybe broadcast
    FILLED = "filled"  # its TradeExecuted is in this keeper's mined chunk
    ZERO = "zero"  # allocated, but its share rounded to no lot (the residual carries)
    SKIPPED = "skipped"  # FollowerSkipped: its own check failed (reason decoded)
    FILLED_BY_OTHER = "filled_by_other"  # shareFilled on-chain, not by this keeper's chunk
    EXPIRED = "expired"  # the master's deadline came before its chunk could be sent


def follower_summary(states: Iterable[str]) -> str:
    """How many followers are in each state, in words: `2 filled, 1 filled by other` ('' for none)."""
    counts = Counter(states)
    return ", ".join(f"{n} {state.replace('_', ' ')}" for state, n in sorted(counts.items()))


@dataclass(frozen=True)
class MasterRecord(Submission):
    id: int
    digest: str | None
    strategies: str | None
    strategy_id: int | None
    chain_id: int | None
    nonce: str | None
    deadline: int | None
    payload: str
    source: str
    accepted: int
    state: str
    reason: str | None
    detail: str | None
    retries: int
    received_at: float
    received_block: int | None
    updated_at: float
    finished_at: float | None


@dataclass(frozen=True)
class FollowerRecord:
    master_id: int
    follower: str
    position: int
    state: str
    chunk: int | None
    tx_id: int | None
    tx_hash: str | None
    block_number: int | None
    amount_in: str | None
    amount_out: str | None
    reason: str | None
    detail: str | None
    updated_at: float

    def public(self) -> dict[str, Any]:
        return asdict(self)


class MasterTables:
    """Methods `Store` gains for master signals (it provides `_db` and `_write`)."""

    _db: sqlite3.Connection

    def _write(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    # ---------------------------------------------------------------- masters
    def insert_master(self, *, payload: str, source: str, state: SignalState, received_at: float,
                      digest: str | None = None, strategies: str | None = None, strategy_id: int | None = None,
                      chain_id: int | None = None, nonce: int | None = None, deadline: int | None = None,
                      received_block: int | None = None, reason: str | None = None,
                      detail: str | None = None) -> int:
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO masters(digest, strategies, strategy_id, chain_id, nonce, deadline, payload, source,"
                " accepted, state, reason, detail, received_at, received_block, updated_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (digest, strategies, strategy_id, chain_id, None if nonce is None else str(nonce),
                 clamp_deadline(deadline), payload, source, int(state != SignalState.REJECTED), str(state), reason,
                 detail, received_at, received_block, time.time()))
            return int(cur.lastrowid or 0)

    def master(self, master_id: int) -> MasterRecord | None:
        return fetch_one(self._db, MasterRecord, "SELECT * FROM masters WHERE id = ?", (master_id,))

    def find_accepted_master(self, digest: str) -> MasterRecord | None:
        return fetch_one(self._db, MasterRecord,
                         "SELECT * FROM masters WHERE digest = ? AND accepted = 1 ORDER BY id LIMIT 1", (digest,))

    def list_masters(self, *, state: str | None = None, strategy_id: int | None = None, limit: int = 100,
                     offset: int = 0) -> list[MasterRecord]:
        return fetch_page(self._db, MasterRecord, "masters",
                          [("state = ?", state or None), ("strategy_id = ?", strategy_id)], limit, offset)

    def pending_masters(self) -> list[MasterRecord]:
        return fetch_open(self._db, MasterRecord, "masters")

    def update_master(self, master_id: int, **fields: Any) -> None:
        with self._write() as db:
            update_row(db, "masters", master_id, fields)

    def master_counts(self) -> dict[str, int]:
        return counts_by_state(self._db, "masters")

    # ---------------------------------------------------------------- followers
    def plan_followers(self, master_id: int, followers: list[str]) -> None:
        """Add followers of a master as pending (those already known keep their row)."""
        now = time.time()
        with self._write() as db:
            start = int(db.execute("SELECT count(*) FROM master_followers WHERE master_id = ?",
                                   (master_id,)).fetchone()[0])
            for i, follower in enumerate(followers):
                db.execute("INSERT OR IGNORE INTO master_followers(master_id, follower, position, state, updated_at)"
                           " VALUES (?,?,?,?,?)", (master_id, follower, start + i, str(FollowerState.PENDING), now))

    def followers(self, master_id: int, state: FollowerState | None = None) -> list[FollowerRecord]:
        sql, args = "SELECT * FROM master_followers WHERE master_id = ?", list[Any]([master_id])
        if state is not None:
            sql += " AND state = ?"
            args.append(str(state))
        rows = self._db.execute(sql + " ORDER BY position", args).fetchall()
        return [FollowerRecord(**dict(r)) for r in rows]

    def assign_chunk(self, master_id: int, followers: list[str], *, chunk: int, tx_id: int, tx_hash: str) -> None:
        """The chunk's transaction is recorded: its followers are `sent` with it."""
        now = time.time()
        with self._write() as db:
            for follower in followers:
                db.execute("UPDATE master_followers SET state = ?, chunk = ?, tx_id = ?, tx_hash = ?, updated_at = ?"
                           " WHERE master_id = ? AND follower = ?",
                           (str(FollowerState.SENT), chunk, tx_id, tx_hash, now, master_id, follower))

    def set_follower(self, master_id: int, follower: str, state: FollowerState, **fields: Any) -> None:
        fields.update(state=str(state), updated_at=time.time())
        for key in ("amount_in", "amount_out"):
            if fields.get(key) is not None:
                fields[key] = str(fields[key])
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self._write() as db:
            db.execute(f"UPDATE master_followers SET {cols} WHERE master_id = ? AND follower = ?",
                       (*fields.values(), master_id, follower))

    def unsend_chunk(self, master_id: int, tx_ids: list[int]) -> None:
        """The chunk's transaction did not execute it (reverted, replaced): its followers are pending."""
        with self._write() as db:
            for tx_id in tx_ids:
                db.execute("UPDATE master_followers SET state = ?, chunk = NULL, tx_id = NULL, tx_hash = NULL,"
                           " updated_at = ? WHERE master_id = ? AND tx_id = ? AND state = ?",
                           (str(FollowerState.PENDING), time.time(), master_id, tx_id, str(FollowerState.SENT)))

    def next_chunk_number(self, master_id: int) -> int:
        row = self._db.execute("SELECT max(chunk) FROM master_followers WHERE master_id = ?", (master_id,)).fetchone()
        return int(row[0] or 0) + 1


def migrate_txs(db: sqlite3.Connection) -> None:
    """Schema 1 -> 2: transactions may belong to a master signal (`txs.master_id`)."""
    columns = {str(r[1]) for r in db.execute("PRAGMA table_info(txs)").fetchall()}
    if "master_id" not in columns:
        db.execute("ALTER TABLE txs ADD COLUMN master_id INTEGER REFERENCES masters(id)")
    db.execute("CREATE INDEX IF NOT EXISTS txs_master ON txs(master_id)")
