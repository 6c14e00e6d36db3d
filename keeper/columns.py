"""What fits in the store's SQLite columns, and the queries the signal and master tables share
(used by both tables and the HTTP layer)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from enum import StrEnum
from typing import Any, TypeVar, cast

from keeper.policy import TERMINAL

MAX_SQL_INT = 2**63 - 1  # SQLite's INTEGER; ids, offsets and deadlines beyond it are refused or clamped

R = TypeVar("R")


def clamp_deadline(deadline: int | None) -> int | None:
    """A deadline as stored: past 2**63 - 1 seconds (a signer's "never") it is that, which means the same."""
    return None if deadline is None else min(deadline, MAX_SQL_INT)


class Submission:
    """What a stored signal and a stored master signal (both dataclasses) share: whether their
    state is final, and the view the API shows (every column but the raw payload)."""

    state: str

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    def public(self) -> dict[str, Any]:
        """The record as the API shows it (without the raw payload)."""
        out = asdict(cast(Any, self))
        out.pop("payload")
        return out


def fetch_one(db: sqlite3.Connection, record: Callable[..., R], sql: str, args: Sequence[Any] = ()) -> R | None:
    """The first row of a query as a `record` (built from the row's columns), or None."""
    row = db.execute(sql, args).fetchone()
    return None if row is None else record(**dict(row))


def fetch_page(db: sqlite3.Connection, record: Callable[..., R], table: str, filters: Iterable[tuple[str, Any]],
               limit: int, offset: int) -> list[R]:
    """Rows of `table` as `record`s, newest first, that meet every (SQL condition, argument) whose argument is
    not None; shared by the signal and master listings."""
    sql, args = f"SELECT * FROM {table} WHERE 1=1", list[Any]()
    for condition, arg in filters:
        if arg is not None:
            sql += f" AND {condition}"
            args.append(arg)
    sql += " ORDER BY id DESC LIMIT ? OFFSET ?"
    args += [limit, offset]
    return [record(**dict(r)) for r in db.execute(sql, args).fetchall()]


def fetch_open(db: sqlite3.Connection, record: Callable[..., R], table: str,
               filters: Iterable[tuple[str, Any]] = ()) -> list[R]:
    """Rows of `table` not in a final state, oldest first, that meet every (SQL condition, argument)
    whose argument is not None; shared by the signal and master queues."""
    terminal = [str(s) for s in TERMINAL]
    sql, args = f"SELECT * FROM {table} WHERE state NOT IN ({','.join('?' * len(terminal))})", list[Any](terminal)
    for condition, arg in filters:
        if arg is not None:
            sql += f" AND {condition}"
            args.append(arg)
    return [record(**dict(r)) for r in db.execute(sql + " ORDER BY id", args).fetchall()]


def update_row(db: sqlite3.Connection, table: str, row_id: int, fields: dict[str, Any]) -> None:
    """Set columns of one row of `table` (and its `updated_at`); enum values are stored as their text."""
    fields = {**fields, "updated_at": time.time()}
    cols = ", ".join(f"{k} = ?" for k in fields)
    values = [str(v) if isinstance(v, StrEnum) else v for v in fields.values()]
    db.execute(f"UPDATE {table} SET {cols} WHERE id = ?", (*values, row_id))


def counts_by_state(db: sqlite3.Connection, table: str) -> dict[str, int]:
    rows = db.execute(f"SELECT state, count(*) FROM {table} GROUP BY state").fetchall()
    return {str(r[0]): int(r[1]) for r in rows}
