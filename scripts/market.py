"""The devnet's market: move real Uniswap V3 prices with swaps from a whale dev account.

    python -m scripts.market [--rpc-url URL] [--manifest FILE] price [WETH WBTC ...]
    python -m scripts.market ... move WETH +8 [LINK -5 ...]   # percent, against USDC
    python -m scripts.market ... swap USDC WETH 100000         # whole tokens of the first
    python -m scripts.market ... twap 3600                     # let chain time pass (TWAP catches up)

Vaults value their holdings with TWAPs of these pools, so a move shows in their NAV once the
oracle window has passed (`twap`, or any other `evm_increaseTime`). The logic lives in
`cohort.dev.market`; this is its command line (`make demo` runs it as a separate process).
Exit codes: 0 done, 1 the market could not do it, 2 bad usage or no chain.
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from cohort import manifest as mf
from cohort.chain import connect, rpc_alive
from cohort.dev.market import WHALE, Market
from cohort.errors import CohortError
from cohort.settings import CohortSettings, resolve_rpc_url
from cohort.units import format_price, parse_amount, to_decimal


def _moves(words: list[str]) -> list[tuple[str, Decimal]]:
    """`["WETH", "+8", "LINK", "-5"]` -> [("WETH", 8), ("LINK", -5)]."""
    if not words or len(words) % 2:
        raise ValueError("move takes SYMBOL PERCENT pairs, e.g. `move WETH +8 LINK -5`")
    out = []
    for symbol, pct in zip(words[::2], words[1::2], strict=True):
        try:
            out.append((symbol.upper(), Decimal(pct.rstrip("%"))))
        except InvalidOperation:
            raise ValueError(f"{pct!r} is not a percentage") from None
    return out


def run(args: argparse.Namespace) -> int:
    m = mf.load(args.manifest)
    rpc_url = resolve_rpc_url(args.rpc_url or CohortSettings().rpc_url, args.manifest)
    if not rpc_alive(rpc_url):
        print(f"market: no chain answers at {rpc_url}", file=sys.stderr)
        return 2
    market = Market(connect(rpc_url), m)
    if args.command == "price":
        for symbol in [s.upper() for s in args.symbols] or [s for s in m.tokens if s != "USDC"]:
            print(f"{symbol}/USDC spot {format_price(market.spot_price(symbol))}")
    elif args.command == "move":
        for symbol, pct in _moves(args.moves):
            move = market.move(symbol, pct)
            paid = ", ".join(f"{format_price(to_decimal(wei, m.token(s).decimals))} {s}"
                             for s, wei in move.sold.items())
            print(f"{symbol}/USDC {format_price(move.before)} -> {format_price(move.after)} ({move.change_pct:+.2f}%) "
                  f"with {move.swaps} swap(s) from the whale: {paid or 'nothing'} in")
    elif args.command == "swap":
        tin, tout = args.token_in.upper(), args.token_out.upper()
        out = market.swap(tin, tout, parse_amount(args.amount, m.token(tin).decimals, tin))
        print(f"swapped {args.amount} {tin} for {format_price(to_decimal(out, m.token(tout).decimals))} {tout}; "
              f"{tout}/USDC spot now {format_price(market.spot_price(tout if tout != 'USDC' else tin))}")
    else:
        market.settle_twap(args.seconds)
        print(f"chain time moved {args.seconds} s")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m scripts.market", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rpc-url", help="JSON-RPC URL (default: COHORT_RPC_URL, else the manifest's rpcUrl)")
    p.add_argument("--manifest", type=Path, default=mf.default_path(), help="deployment manifest (default %(default)s)")
    sub = p.add_subparsers(dest="command", required=True)
    price = sub.add_parser("price", help="spot prices against USDC")
    price.add_argument("symbols", nargs="*")
    move = sub.add_parser("move", help=f"move prices with swaps from dev account {WHALE}")
    move.add_argument("moves", nargs="+", metavar="SYMBOL PERCENT")
    swap = sub.add_parser("swap", help="one swap from the whale")
    swap.add_argument("token_in")
    swap.add_argument("token_out")
    swap.add_argument("amount", help="whole tokens of token_in")
    twap = sub.add_parser("twap", help="let chain time pass so TWAPs catch up")
    twap.add_argument("seconds", type=int, nargs="?", default=3600)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return run(args)
    except ValueError as exc:  # bad usage (CohortError subclasses that are ValueErrors land here too)
        print(f"market: {exc}", file=sys.stderr)
        return 2
    except (CohortError, ConnectionError) as exc:
        print(f"market: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
