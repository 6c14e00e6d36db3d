"""MAM commands: create a strategy, follow and unfollow one with a vault, sign and cancel master signals.

    cohort strategy create "Momentum" --manager 0x.. --account owner      # prints the strategy id
    cohort strategy follow alpha 1 --rule multiplier 1.5x --min-lot 10 --tolerance 1% --account owner
    cohort strategy unfollow alpha --account owner
    cohort strategy cancel 1 <nonce> --account manager   # the manager withdraws a signed master signal
    cohort strategy sign 1 --sell USDC --buy WETH --size 25% --max-price 3100 --ref-price 3000 \\
        --account manager --out master.json             # then: cohort-keeper submit master.json

Following is behind the vault's timelock: the first `follow` queues the change and prints when
it can be applied; the same command after that applies it.
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from web3 import Web3

from cohort import signals, strategies
from cohort import units as u
from cohort.chain import chain_now
from cohort.cli.context import Context, UsageError, account_options, tx_hash, utc
from cohort.cli.signal import describe, limit_options, limit_wad, route, route_options
from cohort.errors import ContractRevert
from cohort.onchain import SizeMode
from cohort.strategies import FollowRule, RuleKind

RULE_WORDS = "equity | multiplier 1.5x | fixed-lot 100"


def _strategies(ctx: Context) -> strategies.Strategies:
    address = ctx.args.strategies or ctx.manifest.cohort.strategies
    if not address:
        raise UsageError(f"{ctx.settings.manifest} records no CohortStrategies contract: deploy the protocol with "
                         "MAM (`make devnet`), or give its address with --strategies")
    return strategies.Strategies(ctx.w3, address)


def _known(s: strategies.Strategies, strategy_id: int) -> tuple[str, str]:
    owner, manager = s.strategy_of(strategy_id)
    if int(manager, 16) == 0:
        raise UsageError(f"there is no strategy {strategy_id} (there are {s.count()}): `cohort strategy create` "
                         "makes one")
    return owner, manager


def parse_rule(words: list[str], *, lot_decimals: int, lot_symbol: str) -> tuple[int, int, int]:
    """(kind, multiplierBps, fixedLot) from words: `equity`, `multiplier 1.5x`, `fixed-lot 100`."""
    kind, *rest = [w.lower() for w in " ".join(words).split()] or [""]
    if kind in ("equity", "equity-proportional", "proportional") and not rest:
        return RuleKind.EQUITY, 0, 0
    if kind in ("multiplier", "mult") and len(rest) == 1:
        text = rest[0].removesuffix("x")
        factor = u.parse_decimal(text, "a multiplier (e.g. 0.5x or 1.5x)")
        bps = factor * u.BPS
        if bps != bps.to_integral_value() or not 0 < bps < 2**32:
            raise UsageError(f"a multiplier of {rest[0]} is not a positive factor in whole basis points (0.0001x)")
        return RuleKind.MULTIPLIER, int(bps), 0
    if kind in ("fixed-lot", "fixed", "lot") and len(rest) == 1:
        lot = u.parse_amount(rest[0], lot_decimals, lot_symbol)
        if lot == 0:
            raise UsageError("a fixed lot of zero would never trade: give the amount per master lot")
        return RuleKind.FIXED_LOT, 0, lot
    raise UsageError(f"--rule {' '.join(words)!r} is not a rule: write one of {RULE_WORDS}")


def _tolerance(text: str) -> int:
    if text.strip().lower() in ("none", "0", "0%", "off"):
        return 0
    bps = u.parse_bps(text)
    if bps >= u.BPS:
        raise UsageError(f"a price tolerance of {text} accepts any price: give less than 100%, or none")
    return bps


def cmd_create(ctx: Context) -> None:
    a = ctx.args
    s = _strategies(ctx)
    manager = a.manager or ctx.account.address
    if not Web3.is_address(manager):
        raise UsageError(f"--manager {manager!r} is not an address")
    strategy_id = s.create(Web3.to_checksum_address(manager), a.name, ctx.account.address)
    ctx.emit({"strategyId": strategy_id, "name": a.name, "owner": ctx.account.address, "manager": manager,
              "strategies": s.address},
             [f"created strategy {strategy_id} ({a.name!r}) on {s.address}: managed by {manager}, owned by "
              f"{ctx.account.address}; vaults follow it with `cohort strategy follow VAULT {strategy_id} --rule ...`"])


def cmd_follow(ctx: Context) -> None:
    a = ctx.args
    v = ctx.vault(a.vault)
    s = _strategies(ctx)
    _known(s, a.strategy)
    lot_token = ctx.token(a.lot_token) if a.lot_token else ctx.token(v.asset.address)
    kind, multiplier, fixed = parse_rule(a.rule, lot_decimals=lot_token.decimals, lot_symbol=lot_token.symbol)
    min_lot = u.parse_amount(a.min_lot, lot_token.decimals, lot_token.symbol) if a.min_lot else 1
    if min_lot == 0:
        raise UsageError("--min-lot 0 would allow no fill: give at least the token's smallest unit, or leave it out")
    rule = FollowRule(kind, multiplier, fixed, min_lot, _tolerance(a.tolerance))
    words = rule.describe(lot_token.decimals, lot_token.symbol)
    try:
        change = strategies.follow(v, a.strategy, rule, ctx.account.address)
    except ContractRevert as exc:
        if exc.name == "CohortTimelockPending" and len(exc.error_args) == 2:
            valid_at = int(str(exc.error_args[1]))
            left = valid_at - chain_now(ctx.w3)
            raise UsageError(f"this change is already queued; it can be applied after {utc(valid_at)} (in "
                             f"{u.format_duration(left)}): run the same command again then") from None
        raise
    data: dict[str, Any] = {"vault": v.address, "strategyId": a.strategy, "rule": rule.as_tuple(),
                            "applied": change.applied, "validAt": change.valid_at, "tx": tx_hash(change.receipt)}
    if change.applied:
        lines = [f"{v.address} now follows strategy {a.strategy}: {words}; tx {tx_hash(change.receipt)}"]
    else:
        assert change.valid_at is not None
        lines = [f"queued behind the vault's timelock: {v.address} to follow strategy {a.strategy} ({words}); "
                 f"run the same command again after {utc(change.valid_at)} (in "
                 f"{u.format_duration(change.valid_at - chain_now(ctx.w3))}) to apply it; "
                 f"tx {tx_hash(change.receipt)}"]
    ctx.emit(data, lines)


def cmd_unfollow(ctx: Context) -> None:
    v = ctx.vault(ctx.args.vault)
    followed, _rule = strategies.follow_state(v)
    if followed == 0:
        raise UsageError(f"{v.address} follows no strategy: nothing to unfollow")
    receipt = strategies.unfollow(v, ctx.account.address)
    ctx.emit({"vault": v.address, "strategyId": followed, "tx": tx_hash(receipt)},
             [f"{v.address} no longer follows strategy {followed} (at once: it only lowers risk); "
              f"tx {tx_hash(receipt)}"])


def _ref_price(a: argparse.Namespace) -> int:
    """The master's reference price, written the same way round as its limit."""
    price = u.parse_price(a.ref_price, "a --ref-price")
    if a.max_price is not None:  # sell per buy, like --max-price: invert
        return int(Decimal(signals.WAD) * signals.WAD / Decimal(signals.limit_price_wad(price)))
    return signals.limit_price_wad(price)


def cmd_sign(ctx: Context) -> None:
    a = ctx.args
    s = _strategies(ctx)
    _owner, manager = _known(s, a.strategy)
    sell, buy = ctx.token(a.sell), ctx.token(a.buy)
    if sell.address == buy.address:
        raise UsageError(f"--sell and --buy are both {sell.symbol}")
    size_bps = u.parse_bps(a.size) if a.size else 0
    lots = int(u.parse_decimal(a.lots, "a number of lots").scaleb(18)) if a.lots else 0
    if size_bps == 0 and lots == 0:
        raise UsageError("give --size (for equity and multiplier followers), --lots (for fixed-lot followers), "
                         "or both")
    limit = limit_wad(a, sell.symbol, buy.symbol)
    adapter, path, _hops = route(ctx, sell, buy)
    now = chain_now(ctx.w3)
    master = strategies.MasterSignal(
        strategy_id=a.strategy, token_in=sell.address, token_out=buy.address,
        size_mode=SizeMode.NAV if a.of == "nav" else SizeMode.HOLDINGS, size_bps=size_bps, lots=lots,
        limit_price=limit, ref_price=_ref_price(a), max_slippage_bps=u.parse_bps(a.slippage), adapter=adapter,
        path=path, nonce=a.nonce if a.nonce is not None else signals.new_nonce(),
        deadline=now + u.parse_duration(a.expires))
    signed = strategies.sign(master, s.domain(), ctx.account)
    if ctx.account.address.lower() != manager.lower():
        print(f"warning: strategy {a.strategy}'s manager is {manager}, not {ctx.account.address}: keepers will "
              "refuse this signature (bad_signature)", file=sys.stderr)
    summary = "signed master signal: " + describe_master(ctx, master, now)
    if a.out:
        Path(a.out).write_text(signed.to_json() + "\n")
        summary += f"; written to {a.out} (submit it with `cohort-keeper submit {a.out}`)"
    else:
        print(signed.to_json())
    print(summary, file=sys.stderr)


def describe_master(ctx: Context, m: strategies.MasterSignal, now: int | None = None) -> str:
    """A master signal in words: the trade (as a signal of the same fields), its lots and reference price."""
    trade = signals.TradeSignal(m.token_in, m.token_out, m.size_mode, m.size_bps, m.limit_price, m.max_slippage_bps,
                                m.adapter, m.path, m.nonce, m.deadline)
    words = describe(ctx, trade, now)
    sell, buy = ctx.token_symbol(m.token_in), ctx.token_symbol(m.token_out)
    extra = f"; reference price {u.format_price(u.to_decimal(m.ref_price, 18))} {buy} per {sell}"
    if m.lots:
        extra += f"; {u.to_decimal(m.lots, 18).normalize():f} lot(s) for fixed-lot followers"
    return f"strategy {m.strategy_id}: {words}{extra}"


def cmd_cancel(ctx: Context) -> None:
    s = _strategies(ctx)
    _owner, manager = _known(s, ctx.args.strategy)
    if manager.lower() != ctx.account.address.lower():
        raise UsageError(f"only the strategy's manager ({manager}) may cancel its master signals, not "
                         f"{ctx.account.address}: sign with the manager's account")
    for cancelled, receipt in s.cancel(ctx.args.strategy, ctx.args.nonces, ctx.account.address):
        print(f"cancelled master nonce{'s' if len(cancelled) > 1 else ''} {', '.join(map(str, cancelled))} of strategy "
              f"{ctx.args.strategy}: no follower share not yet filled can run now; tx {tx_hash(receipt)}")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    top = sub.add_parser("strategy", help="MAM: create strategies, follow them with a vault, sign master signals")
    ssub = top.add_subparsers(dest="strategy_command", required=True)

    def strategies_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--strategies", help="the CohortStrategies contract (default: the manifest's)")

    p = ssub.add_parser("create", parents=[common], help="create a strategy (you own it; --manager signs for it)")
    p.add_argument("name")
    p.add_argument("--manager", help="the address that signs its master signals (default: you)")
    strategies_option(p)
    account_options(p)
    p.set_defaults(run=cmd_create)

    p = ssub.add_parser("follow", parents=[common],
                        help="make a vault follow a strategy with a rule (owner; behind the vault's timelock)")
    p.add_argument("vault")
    p.add_argument("strategy", type=int)
    p.add_argument("--rule", nargs="+", required=True, metavar="WORD", help=f"the allocation rule: {RULE_WORDS}")
    p.add_argument("--min-lot", help="fills are whole multiples of this amount of the input token (default: any)")
    p.add_argument("--tolerance", default="none",
                   help="largest adverse deviation of a fill from the master's reference price, e.g. 1%% "
                        "(default none)")
    p.add_argument("--lot-token", help="the token fixed and minimum lots are counted in (default: the vault's asset)")
    strategies_option(p)
    account_options(p)
    p.set_defaults(run=cmd_follow)

    p = ssub.add_parser("unfollow", parents=[common], help="stop following (owner or guardian; at once)")
    p.add_argument("vault")
    account_options(p)
    p.set_defaults(run=cmd_unfollow)

    p = ssub.add_parser("sign", parents=[common], help="sign a master signal (JSON for any keeper: POST /masters)")
    p.add_argument("strategy", type=int)
    p.add_argument("--sell", required=True, help="token sold (symbol or address)")
    p.add_argument("--buy", required=True, help="token bought")
    p.add_argument("--size", help="for equity and multiplier followers: a fraction, e.g. 25%%")
    p.add_argument("--of", choices=["holdings", "nav"], default="holdings",
                   help="size as a fraction of each follower's holdings of the sold token, or of its NAV")
    p.add_argument("--lots", help="for fixed-lot followers: the master's trade in lots, e.g. 1.5")
    limit_options(p)
    p.add_argument("--ref-price", required=True,
                   help="the master's reference price, written the same way round as the limit (followers' "
                        "price tolerance is measured from it)")
    p.add_argument("--slippage", default="1%", help="largest shortfall against each follower's oracle (default 1%%)")
    route_options(p)
    p.add_argument("--nonce", type=int, help="default: a fresh random one")
    p.add_argument("--expires", default="1h", help="validity from the chain's clock, e.g. 30m, 1h (default 1h)")
    p.add_argument("--out", help="write the signed JSON here")
    strategies_option(p)
    account_options(p)
    p.set_defaults(run=cmd_sign)

    p = ssub.add_parser("cancel", parents=[common], help="cancel master signals on-chain by nonce (the manager)")
    p.add_argument("strategy", type=int)
    p.add_argument("nonces", type=int, nargs="+")
    strategies_option(p)
    account_options(p)
    p.set_defaults(run=cmd_cancel)

