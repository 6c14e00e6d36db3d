"""Durable storage: SQLite in WAL mode.

`signals` holds every submission, accepted or not, with its state, the reason for
it and its timings. `txs` holds every transaction the keeper signed, written *before* it is
broadcast (write-ahead), so a keeper killed at any point finds on restart every transaction
that may be in flight and reconciles it with the chain instead of sending a second one.
`masters` and `master_followers` (keeper.masterstore) hold master signals and each follower's
outcome; a master's transactions are in `txs` too (`master_id`).

The keeper uses one connection from its event-loop thread; the CLI opens its own (WAL lets it
read while the keeper writes).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from keeper.columns import (
    MAX_SQL_INT,
    Submission,
    clamp_deadline,
    counts_by_state,
    fetch_one,
    fetch_open,
    fetch_page,
    update_row,
)
from keeper.masterstore import MASTER_SCHEMA, MasterTables, migrate_txs
from keeper.policy import SignalState

__all__ = ["MAX_SQL_INT", "clamp_deadline"]

SCHEMA_VERSION = "2"  # 2: master signals (keeper.masterstore) and txs.master_id

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS signals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    digest TEXT,
    vault TEXT,
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
    broadcast_at REAL,
    mined_at REAL,
    tx_hash TEXT,
    executed_by TEXT,
    block_number INTEGER,
    gas_used INTEGER,
    effective_gas_price TEXT
);
CREATE INDEX IF NOT EXISTS signals_state ON signals(state);
CREATE INDEX IF NOT EXISTS signals_digest ON signals(digest);
CREATE TABLE IF NOT EXISTS txs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    signal_id INTEGER REFERENCES signals(id),
    kind TEXT NOT NULL,
    vault TEXT,
    sender TEXT NOT NULL,
    nonce INTEGER NOT NULL,
    tx_hash TEXT NOT NULL UNIQUE,
    raw TEXT NOT NULL,
    to_address TEXT NOT NULL,
    data TEXT NOT NULL,
    gas_limit INTEGER NOT NULL,
    max_fee TEXT NOT NULL,
    priority_fee TEXT NOT NULL,
    deadline INTEGER,
    status TEXT NOT NULL,
    error TEXT,
    created_at REAL NOT NULL,
    sent_at REAL,
    sent_block INTEGER,
    mined_block INTEGER,
    receipt_status INTEGER,
    gas_used INTEGER,
    effective_gas_price TEXT
);
CREATE INDEX IF NOT EXISTS txs_signal ON txs(signal_id);
CREATE INDEX IF NOT EXISTS txs_status ON txs(status);
"""

# transaction statuses
TX_SIGNED = "signed"  # recorded, maybe broadcast (a crash may have come in between)
TX_BROADCAST = "broadcast"  # the node accepted it
TX_MINED = "mined"  # its receipt is recorded
TX_REPLACED = "replaced"  # another transaction with the same nonce was mined
TX_REFUSED = "refused"  # the node refused it: never in any mempool
OPEN_TX = (TX_SIGNED, TX_BROADCAST)

@dataclass(frozen=True)
class SignalRecord(Submission):
    id: int
    digest: str | None
    vault: str | None
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
    broadcast_at: float | None
    mined_at: float | None
    tx_hash: str | None
    executed_by: str | None
    block_number: int | None
    gas_used: int | None
    effective_gas_price: str | None


@dataclass(frozen=True)
class TxRecord:
    id: int
    signal_id: int | None
    kind: str
    vault: str | None
    sender: str
    nonce: int
    tx_hash: str
    raw: str
    to_address: str
    data: str
    gas_limit: int
    max_fee: str
    priority_fee: str
    deadline: int | None
    status: str
    error: str | None
    created_at: float
    sent_at: float | None
    sent_block: int | None
    mined_block: int | None
    receipt_status: int | None
    gas_used: int | None
    effective_gas_price: str | None
    master_id: int | None = None

    def public(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("raw", "data"):
            out.pop(key)
        return out


@dataclass(frozen=True)
class NewTx:
    """A signed transaction about to be recorded (and then broadcast)."""

    kind: str
    sender: str
    nonce: int
    tx_hash: str
    raw: str
    to_address: str
    data: str
    gas_limit: int
    max_fee: int
    priority_fee: int
    signal_id: int | None = None
    vault: str | None = None
    deadline: int | None = None
    master_id: int | None = None


class Store(MasterTables):
    """The keeper's SQLite database (WAL mode; `synchronous` FULL by default)."""

    def __init__(self, path: Path | str, *, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # built in one thread, used from the event loop's: one thread at a time, never two
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=10.0, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise RuntimeError(f"{self.path}: SQLite refused WAL mode (got {mode})")
        self._db.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'FULL' else 'NORMAL'}")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA + MASTER_SCHEMA)
        migrate_txs(self._db)
        if self.meta("schema_version") != SCHEMA_VERSION:
            self.set_meta("schema_version", SCHEMA_VERSION)

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One atomic, durable write (BEGIN IMMEDIATE ... COMMIT)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def journal_mode(self) -> str:
        return str(self._db.execute("PRAGMA journal_mode").fetchone()[0])

    # ---------------------------------------------------------------- meta
    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as db:
            db.execute("INSERT INTO meta(key, value) VALUES (?, ?) "
                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    # ---------------------------------------------------------------- signals
    def insert_signal(self, *, payload: str, source: str, state: SignalState, received_at: float,
                      digest: str | None = None, vault: str | None = None, chain_id: int | None = None,
                      nonce: int | None = None, deadline: int | None = None,
                      received_block: int | None = None, reason: str | None = None,
                      detail: str | None = None) -> int:
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO signals(digest, vault, chain_id, nonce, deadline, payload, source, accepted, state,"
                " reason, detail, received_at, received_block, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (digest, vault, chain_id, None if nonce is None else str(nonce), clamp_deadline(deadline), payload,
                 source,
                 int(state != SignalState.REJECTED), str(state), reason, detail, received_at, received_block,
                 time.time()))
            return int(cur.lastrowid or 0)

    def get(self, signal_id: int) -> SignalRecord | None:
        return fetch_one(self._db, SignalRecord, "SELECT * FROM signals WHERE id = ?", (signal_id,))

    def find_accepted(self, digest: str) -> SignalRecord | None:
        """The accepted (not rejected at intake) signal with `digest`, if any."""
        return fetch_one(self._db, SignalRecord,
                         "SELECT * FROM signals WHERE digest = ? AND accepted = 1 ORDER BY id LIMIT 1", (digest,))

    def list_signals(self, *, state: str | None = None, vault: str | None = None, limit: int = 100,
             offset: int = 0) -> list[SignalRecord]:
        return fetch_page(self._db, SignalRecord, "signals",
                          [("state = ?", state or None), ("lower(vault) = lower(?)", vault or None)], limit, offset)

    def pending(self, after_id: int = 0, state: str | None = None) -> list[SignalRecord]:
        """Signals not in a terminal state (optionally only `state`), oldest first."""
        return fetch_open(self._db, SignalRecord, "signals", [("id > ?", after_id), ("state = ?", state or None)])

    def update_signal(self, signal_id: int, **fields: Any) -> None:
        """Set columns of one signal (state, reason, detail, timings, outcome)."""
        with self._write() as db:
            update_row(db, "signals", signal_id, fields)

    def counts_by_state(self) -> dict[str, int]:
        return counts_by_state(self._db, "signals")

    def max_signal_id(self) -> int:
        row = self._db.execute("SELECT max(id) FROM signals").fetchone()
        return int(row[0] or 0)

    # ---------------------------------------------------------------- transactions
    def insert_tx(self, tx: NewTx, *, signal_state: SignalState | None = None) -> TxRecord:
        """Record a signed transaction before it is broadcast (and move its signal along)."""
        now = time.time()
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO txs(signal_id, kind, vault, sender, nonce, tx_hash, raw, to_address, data, gas_limit,"
                " max_fee, priority_fee, deadline, status, created_at, master_id)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                # the same bytes signed again (after the node refused them) are the same transaction
                " ON CONFLICT(tx_hash) DO UPDATE SET status = excluded.status, error = NULL"
                " RETURNING id",
                (tx.signal_id, tx.kind, tx.vault, tx.sender, tx.nonce, tx.tx_hash, tx.raw, tx.to_address, tx.data,
                 tx.gas_limit, str(tx.max_fee), str(tx.priority_fee), clamp_deadline(tx.deadline), TX_SIGNED, now,
                 tx.master_id))
            tx_id = int(cur.fetchone()[0])
            if tx.signal_id is not None and signal_state is not None:
                db.execute("UPDATE signals SET state = ?, updated_at = ? WHERE id = ?",
                           (str(signal_state), now, tx.signal_id))
        record = self.tx(tx_id)
        assert record is not None
        return record

    def tx(self, tx_id: int) -> TxRecord | None:
        row = self._db.execute("SELECT * FROM txs WHERE id = ?", (tx_id,)).fetchone()
        return None if row is None else TxRecord(**dict(row))

    def mark_broadcast(self, tx_id: int, *, sent_at: float, sent_block: int | None) -> TxRecord:
        """The node accepted the transaction; its signal (if any) is now `submitted`."""
        with self._write() as db:
            db.execute("UPDATE txs SET status = ?, sent_at = ?, sent_block = ? WHERE id = ?",
                       (TX_BROADCAST, sent_at, sent_block, tx_id))
            db.execute("UPDATE signals SET state = ?, updated_at = ?, broadcast_at = coalesce(broadcast_at, ?) "
                       "WHERE id = (SELECT signal_id FROM txs WHERE id = ?) AND state IN (?, ?, ?)",
                       (str(SignalState.SUBMITTED), sent_at, sent_at, tx_id, str(SignalState.VERIFIED),
                        str(SignalState.SIMULATED), str(SignalState.SUBMITTED)))
        record = self.tx(tx_id)
        assert record is not None
        return record

    def mark_refused(self, tx_id: int, error: str) -> None:
        with self._write() as db:
            db.execute("UPDATE txs SET status = ?, error = ? WHERE id = ?", (TX_REFUSED, error[:500], tx_id))

    def record_mined(self, tx_id: int, *, block: int, status: int, gas_used: int,
                     effective_gas_price: int) -> None:
        """Record a receipt; the other open transactions with the same nonce were replaced."""
        with self._write() as db:
            row = db.execute("SELECT sender, nonce FROM txs WHERE id = ?", (tx_id,)).fetchone()
            db.execute("UPDATE txs SET status = ?, mined_block = ?, receipt_status = ?, gas_used = ?,"
                       " effective_gas_price = ? WHERE id = ?",
                       (TX_MINED, block, status, gas_used, str(effective_gas_price), tx_id))
            db.execute("UPDATE txs SET status = ? WHERE sender = ? AND nonce = ? AND id != ? AND status IN (?, ?)",
                       (TX_REPLACED, row["sender"], row["nonce"], tx_id, *OPEN_TX))

    def mark_nonce_lost(self, sender: str, nonce: int, error: str) -> None:
        """Another transaction took `nonce`: none of ours with it can be mined any more."""
        with self._write() as db:
            db.execute("UPDATE txs SET status = ?, error = ? WHERE sender = ? AND nonce = ? AND status IN (?, ?)",
                       (TX_REPLACED, error[:500], sender, nonce, *OPEN_TX))

    def txs_for_signal(self, signal_id: int) -> list[TxRecord]:
        rows = self._db.execute("SELECT * FROM txs WHERE signal_id = ? ORDER BY id", (signal_id,)).fetchall()
        return [TxRecord(**dict(r)) for r in rows]

    def txs_for_master(self, master_id: int) -> list[TxRecord]:
        rows = self._db.execute("SELECT * FROM txs WHERE master_id = ? ORDER BY id", (master_id,)).fetchall()
        return [TxRecord(**dict(r)) for r in rows]

    def master_view(self, master_id: int) -> dict[str, Any] | None:
        """A master signal as the API and the CLI show it: with each follower's outcome and its
        transactions (None: no such master)."""
        record = self.master(master_id)
        if record is None:
            return None
        return {**record.public(), "followers": [f.public() for f in self.followers(master_id)],
                "transactions": [t.public() for t in self.txs_for_master(master_id)]}

    def open_txs(self, sender: str) -> list[TxRecord]:
        rows = self._db.execute("SELECT * FROM txs WHERE sender = ? AND status IN (?, ?) ORDER BY nonce, id",
                                (sender, *OPEN_TX)).fetchall()
        return [TxRecord(**dict(r)) for r in rows]

    def txs(self, *, kind_prefix: str | None = None, limit: int = 1000) -> list[TxRecord]:
        sql, args = "SELECT * FROM txs", list[Any]()
        if kind_prefix:
            sql += " WHERE kind LIKE ?"
            args.append(kind_prefix + "%")
        rows = self._db.execute(sql + " ORDER BY id LIMIT ?", (*args, limit)).fetchall()
        return [TxRecord(**dict(r)) for r in rows]
