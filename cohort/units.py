"""Numbers as people type and read them: token amounts, prices, fractions and durations.

One parser and one formatter for each, used by the `cohort` command line, the scripts and the
demo, so `1000.5` means the same thing everywhere.

Typed amounts and prices take one format: digits, a dot before the decimals, and optionally
underscores between groups of digits (`1234.56`, `1_234.56`). Commas are refused: `1,5` is
one and a half in much of the world and fifteen in the rest, and `1.000,50` reads either way, so
a comma is never guessed at. `nan`, `inf`, exponents and signs are refused too. Printed amounts
group thousands with commas (`1,234.56 USDC`): easy to read, and never mistaken for input.
"""

from __future__ import annotations

import re
import time
from decimal import Decimal

from cohort.errors import CohortError

BPS = 10_000
AMOUNT_FORMAT = "digits with a dot before the decimals, e.g. 1234.56 or 1_234.56 (no commas)"
_NUMBER = re.compile(r"\d+(?:_\d+)*(?:\.\d+)?")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}  # smallest first


class UnitsError(CohortError, ValueError):
    """A typed number is malformed or out of range; the message says what to type instead."""


# ---------------------------------------------------------------------------------------- parsing

def parse_decimal(text: str, what: str = "an amount") -> Decimal:
    """`1234.56` or `1_234.56` -> Decimal. Anything else is refused with a sentence."""
    t = text.strip()
    if not _NUMBER.fullmatch(t):
        why = ("commas are ambiguous (is 1,500 one and a half, or fifteen hundred?)" if "," in t
               else "a negative number makes no sense here" if t.startswith("-")
               else "it is not a plain number")
        raise UnitsError(f"{text!r} is not {what}: {why}; write {AMOUNT_FORMAT}")
    return Decimal(t.replace("_", ""))


def parse_amount(text: str, decimals: int, symbol: str = "tokens") -> int:
    """Whole tokens (`1000.5`) -> integer units of a token with `decimals` decimals."""
    value = parse_decimal(text, f"an amount of {symbol}")
    units = value.scaleb(decimals)
    if units != units.to_integral_value():
        raise UnitsError(f"{text} has more than {decimals} decimals, the most {symbol} can have")
    return int(units)


def parse_price(text: str, what: str = "a price") -> Decimal:
    """A positive price in whole tokens (`3100`, `0.00031`)."""
    value = parse_decimal(text, what)
    if value == 0:
        raise UnitsError(f"{what} must be above zero, got {text!r}")
    return value


def parse_bps(text: str) -> int:
    """A fraction: `25%`, `2500bps` or `0.25` -> basis points, in (0, 100%]."""
    t = text.strip().lower()
    if t.endswith("%"):
        bps = parse_decimal(t[:-1], "a percentage") * 100
    elif t.endswith("bps"):
        bps = parse_decimal(t[:-3], "a number of basis points")
    else:
        bps = parse_decimal(t, "a fraction (use 25%, 2500bps or 0.25)") * BPS
    if bps != bps.to_integral_value() or not 0 < bps <= BPS:
        raise UnitsError(f"{text!r} is not a fraction between 0.01% and 100% in whole basis points")
    return int(bps)


def parse_duration(text: str) -> int:
    """`90s`, `30m`, `1h`, `2d`, `1w`, or plain seconds -> seconds. A leading `+` is allowed."""
    t = text.strip().lower().removeprefix("+")
    unit = _DURATION_UNITS.get(t[-1:], 0)
    number = t[:-1] if unit else t
    try:
        seconds = parse_decimal(number, "a duration") * (unit or 1)
    except UnitsError:
        raise UnitsError(f"{text!r} is not a duration: write 90s, 30m, 1h, 2d, 1w or a number of seconds") from None
    if seconds != seconds.to_integral_value() or seconds <= 0:
        raise UnitsError(f"{text!r} is not a positive whole number of seconds")
    return int(seconds)


# ---------------------------------------------------------------------------------------- formatting

def to_decimal(units: int, decimals: int) -> Decimal:
    return Decimal(units).scaleb(-decimals)


def format_amount(units: int, decimals: int, places: int = 2) -> str:
    """Integer units -> whole tokens with thousands grouped: `1,234.50`."""
    return f"{to_decimal(units, decimals):,.{places}f}"


def format_price(value: Decimal) -> str:
    """A price in whole tokens: two decimals from 10 up, else up to six significant digits (and
    at least two decimals)."""
    if value >= 10:
        return f"{value:,.2f}"
    text = f"{value:,.6g}"
    if "e" in text:
        return text
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"


def format_bps(bps: int) -> str:
    return f"{Decimal(bps) / 100:g}%"


def format_duration(seconds: int) -> str:
    """Seconds -> its two largest units: `2d`, `1h 30m`, `59m 58s`, `45s`; negative: `-1m 5s`."""
    sign, left = ("-" if seconds < 0 else ""), abs(seconds)
    parts = []
    for unit, size in reversed(_DURATION_UNITS.items()):
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
    return sign + (" ".join(parts[:2]) or "0s")


def format_utc(timestamp: int) -> str:
    """A unix time as `2026-01-31 12:00:00 UTC` (chain times are UTC)."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))
