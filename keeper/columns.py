"""What fits in the store's SQLite columns, and the queries the signal and master tables share
(used by both tables and the HTTP layer)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

MAX_SQL_INT = 2**63 - 1  # SQLite's INTEGER; ids, offsets and deadlines beyond it are refused or clamped

R = TypeVar("R")


def clamp_deadline(deadline: int | None) -> int | None:
    """A deadline as stored: past 2**63 - 1 seconds (a signer's "never") it is that, which means the same."""
    return None if deadline is None else min(deadline, MAX_SQL_INT)


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
