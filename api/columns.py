"""Column types for 256-bit integers, stored the same way on SQLite and PostgreSQL.

SQLite has no integer wider than 64 bits, so amounts are kept as fixed-width decimal text:
unsigned values zero-padded to 78 digits, signed values offset by 10**78 and padded to 79.
Text order is then numeric order, so `ORDER BY` and range filters work in SQL on both
backends, and both return exactly the same numbers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

_U_WIDTH = 78  # len(str(2**256 - 1))
_S_OFFSET = 10**78
_S_WIDTH = 79


class UInt256(TypeDecorator[int]):
    impl = String(_U_WIDTH)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        v = int(value)
        if v < 0 or v >= 2**256:
            raise ValueError(f"{v} does not fit an unsigned 256-bit column")
        return f"{v:0{_U_WIDTH}d}"

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value)


class Int256(TypeDecorator[int]):
    impl = String(_S_WIDTH)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        v = int(value)
        if not -(2**255) <= v < 2**256:
            raise ValueError(f"{v} does not fit a signed 256-bit column")
        return f"{v + _S_OFFSET:0{_S_WIDTH}d}"

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value) - _S_OFFSET
