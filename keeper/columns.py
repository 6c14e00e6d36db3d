"""What fits in the store's SQLite columns (shared by the signal and master tables and the HTTP layer)."""

from __future__ import annotations

MAX_SQL_INT = 2**63 - 1  # SQLite's INTEGER; ids, offsets and deadlines beyond it are refused or clamped


def clamp_deadline(deadline: int | None) -> int | None:
    """A deadline as stored: past 2**63 - 1 seconds (a signer's "never") it is that, which means the same."""
    return None if deadline is None else min(deadline, MAX_SQL_INT)
