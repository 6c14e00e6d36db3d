"""The demo's output: amounts and prices as the scenario prints them, the step console, and the
demo's own record of what each investor put in and took out."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable, Container, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from cohort import signals, units
from scripts.demo_cast import BPS, DAY, STEPS


def short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"


amount = units.format_amount


def signed_amount(wei: int, decimals: int) -> str:
    return ("+" if wei > 0 else "") + amount(wei, decimals)


def pct(bps: int) -> str:
    return f"{Decimal(bps) / 100:.2f}%"


def days(seconds: int) -> str:
    return f"{seconds / DAY:g} day{'s' if seconds != DAY else ''}"


price = units.format_price


def compact_signal(signed: signals.SignedSignal, symbols: dict[str, str], adapters: dict[str, str]) -> str:
    """The signed signal's JSON on one line, with token and adapter names beside addresses."""
    data = signed.to_json_dict()
    sig = data["signal"]
    sig["tokenIn"] = symbols.get(sig["tokenIn"], sig["tokenIn"])
    sig["tokenOut"] = symbols.get(sig["tokenOut"], sig["tokenOut"])
    sig["adapter"] = adapters.get(sig["adapter"], sig["adapter"])
    sig["path"] = sig["path"][:10] + "…"
    data["vault"] = short(data["vault"])
    data["digest"] = data["digest"][:10] + "…"
    data["signature"] = data["signature"][:10] + "…"
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def table(rows: Sequence[Sequence[str]], left: Container[int], *, rule: bool = False) -> list[str]:
    """Rows of cells as aligned lines, two spaces apart: the columns in `left` left-aligned, the
    others right-aligned; `rule`: a line of dashes under the first row (the header)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i in left else c.rjust(w)
                       for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip() for row in rows]
    if rule:
        lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def limit_prices(spot: Decimal, margin_bps: int, buying: bool) -> tuple[Decimal, Decimal]:
    """The worst price a manager accepts, `margin_bps` off the spot price (USDC per asset), and the
    same as the signal's limit (whole tokenOut per whole tokenIn)."""
    margin = Decimal(margin_bps) / BPS
    worst = spot * (1 + margin) if buying else spot * (1 - margin)
    return worst, (1 / worst if buying else worst)


def base_per_asset(token_out_per_in: str | None, buying: bool) -> Decimal | None:
    """API prices are whole tokenOut per whole tokenIn; quote them as base per asset."""
    if token_out_per_in is None:
        return None
    value = Decimal(token_out_per_in)
    return (1 / value if value else Decimal(0)) if buying else value


class Console:
    def __init__(self) -> None:
        self.step_no = 0
        self.tty = sys.stdout.isatty()

    def step(self, title: str) -> None:
        self.step_no += 1
        print(f"\n[{self.step_no:>2}/{len(STEPS)}] {title}", flush=True)

    def line(self, text: str = "", indent: int = 2) -> None:
        print(" " * indent + text if text else "", flush=True)

    @contextlib.contextmanager
    def progress(self, what: str) -> Iterator[Callable[[], None]]:
        """A progress line for a step that may take a while: `tick()` refreshes it. Nothing is
        shown for waits under a second; on a terminal the line counts the seconds in place."""
        started = time.monotonic()
        shown = [False, 0.0]  # printed anything, when the last line was printed

        def tick() -> None:
            elapsed = time.monotonic() - started
            if elapsed < 1:
                return
            if self.tty:
                print(f"\r\033[K  … {what} ({elapsed:.0f} s)", end="", flush=True)
                shown[0] = True
            elif not shown[0] or elapsed - shown[1] >= 10:
                print(f"  … {what}" + (f" ({elapsed:.0f} s)" if shown[0] else ""), flush=True)
                shown[0], shown[1] = True, elapsed

        yield tick
        elapsed = time.monotonic() - started
        tick()
        if shown[0]:
            print(("\r\033[K" if self.tty else "") + f"  … {what}: done in {elapsed:.1f} s", flush=True)


@dataclass
class Ledger:
    """What the demo itself did: assets each investor put in and took out, per vault."""

    deposited: dict[tuple[str, str], int] = field(default_factory=dict)
    claimed: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, book: dict[tuple[str, str], int], vault: str, address: str, assets: int) -> None:
        book[(vault, address)] = book.get((vault, address), 0) + assets

    def net(self, vault: str, address: str) -> int:
        return self.deposited.get((vault, address), 0) - self.claimed.get((vault, address), 0)


