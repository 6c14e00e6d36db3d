"""Manager commands: sign a trade signal off-chain, verify one, cancel nonces on-chain."""

from __future__ import annotations

import argparse
import json
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from web3 import Web3

from cohort import manifest as mf
from cohort import signals
from cohort import units as u
from cohort.chain import chain_now
from cohort.cli.context import Context, UsageError, account_options, tx_hash
from cohort.onchain import SizeMode
from cohort.uniswap import encode_v2_path, encode_v3_path
from cohort.vault import Vault


def route_options(p: argparse.ArgumentParser) -> None:
    """--route, --via and --fee, which `route` reads (trade and master signals alike)."""
    p.add_argument("--route", choices=["v3", "v2"], default="v3")
    p.add_argument("--via", action="append", help="an intermediate token (repeatable)")
    p.add_argument("--fee", type=int, default=3000, help="V3 pool fee of each hop, in pips (default 3000 = 0.3%%)")


def route(ctx: Context, sell: mf.TokenInfo, buy: mf.TokenInfo) -> tuple[str, bytes, list[str]]:
    """(adapter, path, every token on the way)."""
    a = ctx.args
    hops = [sell.address, *(ctx.token(x).address for x in (a.via or [])), buy.address]
    if a.route == "v2":
        return ctx.manifest.cohort.adapters["uniswap-v2"], encode_v2_path(hops), hops
    return ctx.manifest.cohort.adapters["uniswap-v3"], encode_v3_path(hops, [a.fee] * (len(hops) - 1)), hops


def limit_options(p: argparse.ArgumentParser) -> None:
    """--min-price and --max-price, which `limit_wad` reads (trade and master signals alike)."""
    p.add_argument("--min-price", help="least `buy` received per `sell`, in whole tokens")
    p.add_argument("--max-price", help="most `sell` paid per `buy` (the same limit the other way round)")


def limit_wad(a: argparse.Namespace, sell: str, buy: str) -> int:
    """The signal's limit: whole `buy` per whole `sell`, 18 decimals."""
    if (a.min_price is None) == (a.max_price is None):
        raise UsageError(f"give exactly one of --min-price (least {buy} received per {sell}) or --max-price "
                         f"(most {sell} paid per {buy})")
    if a.min_price is not None:
        limit = signals.limit_price_wad(u.parse_price(a.min_price, "a --min-price"))
    else:
        inverse = u.parse_price(a.max_price, "a --max-price")
        limit = int(Decimal(signals.WAD) * signals.WAD / Decimal(signals.limit_price_wad(inverse)))
    if limit == 0:
        raise UsageError("that limit rounds to zero: the price has more than 18 decimals")
    return limit


def describe(ctx: Context, signal: signals.TradeSignal, now: int | None = None) -> str:
    """The trade in words, with the manifest's token and adapter names (addresses without one)."""
    try:
        return signals.describe(signal, ctx.manifest.symbols(), ctx.manifest.adapter_names(), now)
    except mf.ManifestError:  # offline, without a manifest
        return signals.describe(signal, {}, {}, now)


def _warnings(ctx: Context, v: Vault, sell: mf.TokenInfo, buy: mf.TokenInfo, hops: list[str],
              size_of_holdings: bool) -> list[str]:
    """What would make the vault refuse the trade however the market moves."""
    base = v.asset.address.lower()
    listed = {a.lower() for a in v.listed_assets()} | {base}
    out: list[str] = []
    for token in dict.fromkeys([buy.address, *hops[1:-1]]):
        if token.lower() not in listed:
            out.append(f"the vault cannot hold {ctx.token_symbol(token)} (it is not one of its listed assets), so "
                       "the keeper will refuse this signal (CohortAssetNotListed); the owner lists assets")
    if size_of_holdings and v.holdings(sell.address) == 0:
        out.append(f"the vault holds no {sell.symbol}, so {ctx.args.size} of its {sell.symbol} is nothing and the "
                   "trade cannot execute (CohortZeroAmount) until it holds some")
    return out


def cmd_signal_sign(ctx: Context) -> None:
    a = ctx.args
    sell, buy = ctx.token(a.sell), ctx.token(a.buy)
    if sell.address == buy.address:
        raise UsageError(f"--sell and --buy are both {sell.symbol}")
    size_bps, slippage_bps = u.parse_bps(a.size), u.parse_bps(a.slippage)
    validity = u.parse_duration(a.expires)
    limit = limit_wad(a, sell.symbol, buy.symbol)
    adapter, path, hops = route(ctx, sell, buy)
    vault_address = a.vault if Web3.is_address(a.vault) else ctx.manifest.vault(a.vault).address
    warnings: list[str] = []
    if a.offline:
        if a.chain_id is None or a.name is None:
            raise UsageError("--offline needs --chain-id and --name (the vault's EIP-712 domain)")
        domain = signals.Domain(a.name, "1", a.chain_id, Web3.to_checksum_address(vault_address))
        now = int(time.time())
        nonce = a.nonce if a.nonce is not None else signals.new_nonce()
    else:
        v = ctx.vault(vault_address)
        domain = v.domain()
        now = chain_now(ctx.w3)  # the clock the vault checks the deadline against
        nonce = a.nonce if a.nonce is not None else signals.new_nonce()
        while a.nonce is None and v.nonce_used(nonce):
            nonce = signals.new_nonce()
        if a.nonce is not None and v.nonce_used(nonce):
            raise UsageError(f"nonce {nonce} is already used or cancelled on this vault: leave --nonce out for a "
                             "fresh one")
        warnings = _warnings(ctx, v, sell, buy, hops, a.of == "holdings")
    signal = signals.TradeSignal(sell.address, buy.address,
                                 SizeMode.NAV if a.of == "nav" else SizeMode.HOLDINGS,
                                 size_bps, limit, slippage_bps, adapter, path, nonce, now + validity)
    signed = signals.sign(signal, domain, ctx.account)
    text = signed.to_json()
    summary = "signed: " + describe(ctx, signal, now)
    if a.out:
        Path(a.out).write_text(text + "\n")
        summary += f"; written to {a.out}"
    else:
        print(text)
    print(summary, file=sys.stderr)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def cmd_signal_verify(ctx: Context) -> None:
    a = ctx.args
    try:
        signed = signals.SignedSignal.from_json_dict(json.loads(Path(a.file).read_text()))
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read {a.file} as a signed signal: {exc}") from None
    checks: dict[str, Any] = {"vault": signed.vault, "nonce": signed.signal.nonce}
    if a.offline:
        if a.name is None or a.manager is None:
            raise UsageError("--offline needs --name (the vault's EIP-712 name) and --manager")
        domain = signals.Domain(a.name, "1", signed.chain_id, signed.vault)
        manager = a.manager
    else:
        v = ctx.vault(signed.vault)
        domain = v.domain()
        manager = a.manager or v.manager()
        checks["onChainDigestMatches"] = v.signal_digest(signed) == signals.digest(signed.signal, domain)
        checks["nonceUnused"] = not v.nonce_used(signed.signal.nonce)
        checks["secondsToDeadline"] = signed.signal.deadline - chain_now(ctx.w3)
    digest = signals.verify(signed, domain, manager)
    checks.update({"digest": "0x" + digest.hex(), "signer": manager, "signatureValid": True})
    ok = checks.get("nonceUnused", True) and checks.get("secondsToDeadline", 1) > 0
    lines = [f"{k}: {v}" for k, v in checks.items()]
    if "secondsToDeadline" in checks:
        lines.append(f"time left: {u.format_duration(checks['secondsToDeadline'])}")
    ctx.emit(checks, [*lines, "trade: " + describe(ctx, signed.signal)])
    if not ok:
        raise UsageError("the signal is signed correctly but cannot execute: its nonce is used or cancelled, or its "
                         "deadline has passed; sign a new one")


def cmd_signal_cancel(ctx: Context) -> None:
    v = ctx.vault(ctx.args.vault)
    for cancelled, receipt in v.invalidate_nonces(ctx.args.nonces, ctx.account.address):
        print(f"cancelled nonce{'s' if len(cancelled) > 1 else ''} {', '.join(map(str, cancelled))}: no signal "
              f"with {'them' if len(cancelled) > 1 else 'it'} can execute now; tx {tx_hash(receipt)}")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    sig = sub.add_parser("signal", help="manager tooling: sign, verify, cancel trade signals")
    ssub = sig.add_subparsers(dest="signal_command", required=True)
    p = ssub.add_parser("sign", parents=[common],
                        help="sign a trade signal (prints or writes JSON; the trade in words on stderr)")
    p.add_argument("vault")
    p.add_argument("--sell", required=True, help="token sold (symbol or address)")
    p.add_argument("--buy", required=True, help="token bought")
    p.add_argument("--size", required=True, help="fraction, e.g. 25%%, 2500bps or 0.25")
    p.add_argument("--of", choices=["holdings", "nav"], default="holdings",
                   help="size as a fraction of the vault's holdings of the sold token, or of NAV")
    limit_options(p)
    p.add_argument("--slippage", default="1%", help="largest shortfall against the oracle (default 1%%)")
    route_options(p)
    p.add_argument("--nonce", type=int, help="default: a fresh random one")
    p.add_argument("--expires", default="1h", help="validity from the chain's clock, e.g. 30m, 1h, 2d (default 1h)")
    p.add_argument("--out", help="write the signed JSON here")
    p.add_argument("--offline", action="store_true", help="sign without a node (needs --chain-id, --name)")
    p.add_argument("--chain-id", type=int)
    p.add_argument("--name", help="the vault's EIP-712 name (its ERC-20 name)")
    account_options(p)
    p.set_defaults(run=cmd_signal_sign)
    p = ssub.add_parser("verify", parents=[common], help="check a signed signal (offline with --offline)")
    p.add_argument("file")
    p.add_argument("--manager", help="expected signer (default: the vault's manager on-chain)")
    p.add_argument("--offline", action="store_true")
    p.add_argument("--name", help="the vault's EIP-712 name (with --offline)")
    p.set_defaults(run=cmd_signal_verify)
    p = ssub.add_parser("cancel", parents=[common], help="invalidate nonces on-chain (manager)")
    p.add_argument("vault")
    p.add_argument("nonces", type=int, nargs="+")
    account_options(p)
    p.set_defaults(run=cmd_signal_cancel)
