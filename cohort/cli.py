"""`cohort`: the command line of investors and managers.

Investors (any account: an Ape account alias, a keyfile, COHORT_PRIVATE_KEY, or a devnet index):

    cohort deposit alpha 1000 --account alice        # 1000 USDC into vault `alpha`
    cohort status alpha --of 0xAbc...               # shares, value, pending and claimable
    cohort request alpha all --account alice         # notice-period withdrawal of every share
    cohort cancel alpha --account alice              # take back the unsettled part
    cohort claim alpha --account alice               # after settlement: collect the assets

Managers sign trade signals off-chain (sizes are fractions, so one signal fits any vault size):

    cohort signal sign alpha --sell USDC --buy WETH --size 25% --min-price 0.00031 \\
        --slippage 1% --account manager --out signal.json
    cohort signal verify signal.json                 # offline: digest and signature
    cohort signal cancel alpha 1763712000 --account manager   # invalidate a nonce on-chain

VAULT is a label from the deployment manifest or an address. Amounts are in whole tokens
(`1000.5`); shares in whole shares, or `all`. Errors from the chain are printed by name.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from cohort import manifest as mf
from cohort import signals
from cohort.accounts import load as load_account
from cohort.chain import connect
from cohort.errors import CohortError, ContractRevert
from cohort.settings import CohortSettings
from cohort.tx import call, transact
from cohort.uniswap import encode_v2_path, encode_v3_path
from cohort.vault import Vault

BPS = 10_000


class UsageError(CohortError, ValueError):
    """A command-line argument is malformed."""


# ---------------------------------------------------------------------------------------- parsing

def parse_units(text: str, decimals: int) -> int:
    """`1,000.5` whole tokens -> integer units."""
    try:
        value = Decimal(text.replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise UsageError(f"not an amount: {text!r}") from None
    if value < 0:
        raise UsageError(f"amounts are positive: {text!r}")
    units = value * Decimal(10**decimals)
    if units != units.to_integral_value():
        raise UsageError(f"{text} has more than {decimals} decimals")
    return int(units)


def parse_bps(text: str) -> int:
    """`25%` or `2500bps` or `0.25` -> basis points."""
    t = text.strip().lower()
    try:
        if t.endswith("%"):
            bps = Decimal(t[:-1]) * 100
        elif t.endswith("bps"):
            bps = Decimal(t[:-3])
        else:
            bps = Decimal(t) * BPS
    except InvalidOperation:
        raise UsageError(f"not a fraction: {text!r} (use 25%, 2500bps or 0.25)") from None
    if bps != bps.to_integral_value() or not 0 < bps <= BPS:
        raise UsageError(f"fraction out of range (0, 100%] in whole bps: {text!r}")
    return int(bps)


def parse_duration(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
    t = text.strip().lower()
    try:
        return int(Decimal(t[:-1]) * units[t[-1]]) if t[-1] in units else int(t)
    except (InvalidOperation, ValueError, IndexError):
        raise UsageError(f"not a duration: {text!r} (use 30m, 1h, 2d or seconds)") from None


def fmt_units(units: int, decimals: int, places: int = 6) -> str:
    value = Decimal(units) / Decimal(10**decimals)
    return f"{value:,.{places}f}"


# ---------------------------------------------------------------------------------------- context

class Context:
    """What every command needs: settings, the manifest, a chain connection, an account."""

    def __init__(self, args: argparse.Namespace, settings: CohortSettings) -> None:
        self.args = args
        self.settings = settings
        self._manifest: mf.Manifest | None = None
        self._w3: Web3 | None = None
        self._account: LocalAccount | None = None

    @property
    def manifest(self) -> mf.Manifest:
        if self._manifest is None:
            self._manifest = mf.load(self.settings.manifest)
        return self._manifest

    @property
    def account(self) -> LocalAccount:
        if self._account is None:
            a = self.args
            key = None
            if getattr(a, "key_env", False):
                if self.settings.private_key is None:
                    raise UsageError("--key-env: set COHORT_PRIVATE_KEY")
                key = self.settings.private_key.get_secret_value()
            passphrase = self.settings.passphrase.get_secret_value() if self.settings.passphrase else None
            self._account = load_account(alias=a.account, keyfile=a.keyfile, private_key=key, dev_index=a.dev_account,
                                         passphrase=passphrase, ape_data_folder=self.settings.ape_data_folder)
        return self._account

    @property
    def w3(self) -> Web3:
        if self._w3 is None:
            signing = (self.account,) if self.has_account() else ()
            self._w3 = connect(self.settings.rpc_url, accounts=signing)
        return self._w3

    def has_account(self) -> bool:
        a = self.args
        return any(getattr(a, k, None) not in (None, False) for k in ("account", "keyfile", "key_env", "dev_account"))

    def vault(self, ref: str) -> Vault:
        address = ref if Web3.is_address(ref) else self.manifest.vault(ref).address
        return Vault(self.w3, Web3.to_checksum_address(address))

    def token_symbol(self, address: str) -> str:
        for symbol, info in self.manifest.tokens.items():
            if info.address.lower() == address.lower():
                return symbol
        return address

    def token(self, ref: str) -> mf.TokenInfo:
        if Web3.is_address(ref):
            return self.manifest.token(self.token_symbol(ref))
        return self.manifest.token(ref.upper())


def emit(ctx: Context, data: dict[str, Any], lines: Sequence[str]) -> None:
    if ctx.args.json:
        print(json.dumps(data, indent=2, default=str))
    else:
        print("\n".join(lines))


# ---------------------------------------------------------------------------------------- investors

def cmd_vaults(ctx: Context) -> None:
    rows: list[dict[str, Any]] = []
    for label, info in ctx.manifest.cohort.vaults.items():
        v = Vault(ctx.w3, info.address)
        decimals = ctx.manifest.token(ctx.token_symbol(info.asset)).decimals
        nav, healthy = v.valuation()
        rows.append({"label": label, "address": info.address, "name": info.name, "nav": nav,
                     "decimals": decimals, "pricePerShare": v.price_per_share(), "healthy": healthy,
                     "manager": info.manager})
    lines = [f"{r['label']:<10} {r['address']}  NAV {fmt_units(r['nav'], r['decimals'], 2)}  "
             f"price/share {fmt_units(r['pricePerShare'], 18, 6)}{'' if r['healthy'] else '  (oracle unhealthy)'}"
             for r in rows] or ["no vaults in the manifest"]
    emit(ctx, {"vaults": rows}, lines)


def cmd_status(ctx: Context) -> None:
    v = ctx.vault(ctx.args.vault)
    who = ctx.args.of or ctx.account.address
    asset_dec = int(call(v.asset.functions.decimals()))
    share_dec = int(call(v.fn.decimals()))
    shares = v.balance_of(who)
    req = v.redeem_request_of(who)
    value = int(call(v.fn.convertToAssets(shares + req.pending)))
    matures = int(call(v.fn.epochMaturesAt(req.epoch))) if req.epoch else 0
    price = v.price_per_share()
    data: dict[str, Any] = {"vault": v.address, "account": who, "shares": shares, "pendingShares": req.pending,
            "value": value, "claimableShares": req.claimable_shares, "claimableAssets": req.claimable_assets,
            "requestEpoch": req.epoch, "maturesAt": matures, "pricePerShare": price}
    lines = [f"vault    {v.address}", f"account  {who}",
             f"shares   {fmt_units(shares, share_dec)} in the wallet, {fmt_units(req.pending, share_dec)} pending",
             f"value    {fmt_units(value, asset_dec, 2)} (at price/share {fmt_units(price, 18)})",
             f"claim    {fmt_units(req.claimable_assets, asset_dec, 2)} claimable now"]
    if req.pending:
        lines.append(f"request  epoch {req.epoch}, settleable from {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(matures))}")
    emit(ctx, data, lines)


def cmd_deposit(ctx: Context) -> None:
    v = ctx.vault(ctx.args.vault)
    token = v.asset
    dec = int(call(token.functions.decimals()))
    assets = parse_units(ctx.args.amount, dec)
    me = ctx.account.address
    receiver = ctx.args.receiver or me
    preview = v.preview_deposit(assets)
    if call(token.functions.allowance(me, v.address)) < assets:
        transact(token.functions.approve(v.address, assets), me)
    receipt = transact(v.fn.deposit(assets, receiver), me)
    shares = v.balance_of(receiver)
    emit(ctx, {"tx": receipt["transactionHash"].hex(), "assets": assets, "sharesPreviewed": preview,
               "sharesHeld": shares},
         [f"deposited {fmt_units(assets, dec, 2)} for {receiver} (previewed {preview} share units); "
          f"tx {receipt['transactionHash'].hex()}"])


def cmd_request(ctx: Context) -> None:
    v = ctx.vault(ctx.args.vault)
    me = ctx.account.address
    owner = ctx.args.owner or me
    dec = int(call(v.fn.decimals()))
    shares = v.balance_of(owner) if ctx.args.shares == "all" else parse_units(ctx.args.shares, dec)
    receipt = transact(v.fn.requestRedeem(shares, ctx.args.controller or me, owner), me)
    req = v.redeem_request_of(ctx.args.controller or me)
    matures = int(call(v.fn.epochMaturesAt(req.epoch)))
    emit(ctx, {"tx": receipt["transactionHash"].hex(), "shares": shares, "epoch": req.epoch, "maturesAt": matures},
         [f"requested {fmt_units(shares, dec)} shares in epoch {req.epoch}; settleable from "
          f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(matures))} (chain time)"])


def cmd_cancel(ctx: Context) -> None:
    v = ctx.vault(ctx.args.vault)
    me = ctx.account.address
    receipt = v.cancel_redeem(me, ctx.args.controller)
    (ev,) = v.contract.events.RedeemRequestCanceled().process_receipt(receipt)
    emit(ctx, {"tx": receipt["transactionHash"].hex(), "shares": ev["args"]["shares"]},
         [f"cancelled: {ev['args']['shares']} share units back to {ctx.args.controller or me}"])


def cmd_claim(ctx: Context) -> None:
    v = ctx.vault(ctx.args.vault)
    me = ctx.account.address
    controller = ctx.args.controller or me
    claimable = int(call(v.fn.maxRedeem(controller)))
    if claimable == 0:
        raise UsageError(f"nothing is claimable for {controller} yet (see `cohort status`)")
    shares = claimable if ctx.args.shares == "all" else parse_units(ctx.args.shares, int(call(v.fn.decimals())))
    receipt = transact(v.fn.redeem(shares, ctx.args.receiver or controller, controller), me)
    (ev,) = v.contract.events.Withdraw().process_receipt(receipt)
    dec = int(call(v.asset.functions.decimals()))
    emit(ctx, {"tx": receipt["transactionHash"].hex(), "assets": ev["args"]["assets"], "shares": shares},
         [f"claimed {fmt_units(ev['args']['assets'], dec, 2)} to {ctx.args.receiver or controller}"])


# ---------------------------------------------------------------------------------------- managers

def _route(ctx: Context, sell: mf.TokenInfo, buy: mf.TokenInfo) -> tuple[str, bytes]:
    a = ctx.args
    hops = [sell.address, *(ctx.token(x).address for x in (a.via or [])), buy.address]
    if a.route == "v2":
        return ctx.manifest.cohort.adapters["uniswap-v2"], encode_v2_path(hops)
    return ctx.manifest.cohort.adapters["uniswap-v3"], encode_v3_path(hops, [a.fee] * (len(hops) - 1))


def cmd_signal_sign(ctx: Context) -> None:
    a = ctx.args
    sell, buy = ctx.token(a.sell), ctx.token(a.buy)
    if (a.min_price is None) == (a.max_price is None):
        raise UsageError("give exactly one of --min-price (buy per sell) or --max-price (sell per buy)")
    limit = (signals.limit_price_wad(a.min_price) if a.min_price is not None
             else int(Decimal(signals.WAD) * signals.WAD / Decimal(signals.limit_price_wad(a.max_price))))
    adapter, path = _route(ctx, sell, buy)
    vault_address = a.vault if Web3.is_address(a.vault) else ctx.manifest.vault(a.vault).address
    if a.offline:
        if a.chain_id is None or a.name is None:
            raise UsageError("--offline needs --chain-id and --name (the vault's EIP-712 domain)")
        domain = signals.Domain(a.name, "1", a.chain_id, Web3.to_checksum_address(vault_address))
        now = int(time.time())
        nonce = a.nonce if a.nonce is not None else now
    else:
        v = ctx.vault(vault_address)
        domain = v.domain()
        now = int(ctx.w3.eth.get_block("latest")["timestamp"])  # the chain's clock, not the laptop's
        nonce = a.nonce if a.nonce is not None else now
        while a.nonce is None and v.nonce_used(nonce):
            nonce += 1
    signal = signals.TradeSignal(sell.address, buy.address,
                                 signals.SIZE_OF_NAV if a.of == "nav" else signals.SIZE_OF_HOLDINGS,
                                 parse_bps(a.size), limit, parse_bps(a.slippage), adapter, path, nonce,
                                 now + parse_duration(a.expires))
    signed = signals.sign(signal, domain, ctx.account)
    text = signed.to_json()
    if a.out:
        Path(a.out).write_text(text + "\n")
        print(f"signed signal {nonce} for {domain.verifying_contract} -> {a.out} (digest 0x{signed.digest.hex()})",
              file=sys.stderr)
    else:
        print(text)


def cmd_signal_verify(ctx: Context) -> None:
    a = ctx.args
    try:
        signed = signals.SignedSignal.from_json_dict(json.loads(Path(a.file).read_text()))
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read {a.file}: {exc}") from None
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
        checks["secondsToDeadline"] = signed.signal.deadline - int(ctx.w3.eth.get_block("latest")["timestamp"])
    digest = signals.verify(signed, domain, manager)
    checks.update({"digest": "0x" + digest.hex(), "signer": manager, "signatureValid": True})
    ok = checks.get("nonceUnused", True) and checks.get("secondsToDeadline", 1) > 0
    emit(ctx, checks, [f"{k}: {v}" for k, v in checks.items()])
    if not ok:
        raise UsageError("the signal is signed correctly but cannot execute (nonce used or expired)")


def cmd_signal_cancel(ctx: Context) -> None:
    v = ctx.vault(ctx.args.vault)
    words: dict[int, int] = {}
    for nonce in ctx.args.nonces:
        words[nonce >> 8] = words.get(nonce >> 8, 0) | (1 << (nonce & 255))
    for word, mask in words.items():
        receipt = transact(v.fn.invalidateNonces(word, mask), ctx.account.address)
        print(f"invalidated word {word} mask {mask:#x}: tx {receipt['transactionHash'].hex()}")


# ---------------------------------------------------------------------------------------- main

def _account_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("account (exactly one)")
    g.add_argument("--account", help="an Ape account alias (keyfile in $APE_DATA_FOLDER/accounts)")
    g.add_argument("--keyfile", help="a JSON keystore file")
    g.add_argument("--key-env", action="store_true", help="the private key in COHORT_PRIVATE_KEY")
    g.add_argument("--dev-account", type=int, help="anvil dev account N (devnet only)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cohort", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rpc", help="JSON-RPC URL (COHORT_RPC_URL)")
    parser.add_argument("--manifest", help="deployment manifest (COHORT_MANIFEST)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("vaults", help="list the manifest's vaults with NAV and price per share")
    p.set_defaults(run=cmd_vaults)
    p = sub.add_parser("status", help="an investor's shares, value and redemption state")
    p.add_argument("vault")
    p.add_argument("--of", help="the investor (default: the account given)")
    _account_options(p)
    p.set_defaults(run=cmd_status)
    p = sub.add_parser("deposit", help="deposit the base asset")
    p.add_argument("vault")
    p.add_argument("amount", help="whole tokens, e.g. 1000 or 1000.5")
    p.add_argument("--receiver")
    _account_options(p)
    p.set_defaults(run=cmd_deposit)
    p = sub.add_parser("request", help="request a notice-period withdrawal")
    p.add_argument("vault")
    p.add_argument("shares", help="whole shares, or `all`")
    p.add_argument("--controller", help="who manages and claims the request (default: you)")
    p.add_argument("--owner", help="whose shares (needs their allowance or operator rights)")
    _account_options(p)
    p.set_defaults(run=cmd_request)
    p = sub.add_parser("cancel", help="take back the unsettled part of a request")
    p.add_argument("vault")
    p.add_argument("--controller")
    _account_options(p)
    p.set_defaults(run=cmd_cancel)
    p = sub.add_parser("claim", help="claim settled redemptions")
    p.add_argument("vault")
    p.add_argument("--shares", default="all", help="whole shares to claim, or `all` (default)")
    p.add_argument("--receiver")
    p.add_argument("--controller")
    _account_options(p)
    p.set_defaults(run=cmd_claim)

    sig = sub.add_parser("signal", help="manager tooling: sign, verify, cancel trade signals")
    ssub = sig.add_subparsers(dest="signal_command", required=True)
    p = ssub.add_parser("sign", help="sign a trade signal (prints or writes JSON)")
    p.add_argument("vault")
    p.add_argument("--sell", required=True, help="token sold (symbol or address)")
    p.add_argument("--buy", required=True, help="token bought")
    p.add_argument("--size", required=True, help="fraction, e.g. 25%%")
    p.add_argument("--of", choices=["holdings", "nav"], default="holdings",
                   help="size as a fraction of the vault's holdings of the sold token, or of NAV")
    p.add_argument("--min-price", help="least `buy` per `sell` accepted (whole tokens)")
    p.add_argument("--max-price", help="most `sell` per `buy` paid (the inverse form)")
    p.add_argument("--slippage", default="1%", help="largest shortfall against the oracle (default 1%%)")
    p.add_argument("--route", choices=["v3", "v2"], default="v3")
    p.add_argument("--via", action="append", help="an intermediate token (repeatable)")
    p.add_argument("--fee", type=int, default=3000, help="V3 pool fee of each hop (default 3000)")
    p.add_argument("--nonce", type=int)
    p.add_argument("--expires", default="1h", help="validity, e.g. 30m, 1h, 2d (default 1h)")
    p.add_argument("--out", help="write the signed JSON here")
    p.add_argument("--offline", action="store_true", help="sign without a node (needs --chain-id, --name)")
    p.add_argument("--chain-id", type=int)
    p.add_argument("--name", help="the vault's EIP-712 name (its ERC-20 name)")
    _account_options(p)
    p.set_defaults(run=cmd_signal_sign)
    p = ssub.add_parser("verify", help="check a signed signal (offline with --offline)")
    p.add_argument("file")
    p.add_argument("--manager", help="expected signer (default: the vault's manager on-chain)")
    p.add_argument("--offline", action="store_true")
    p.add_argument("--name", help="the vault's EIP-712 name (with --offline)")
    p.set_defaults(run=cmd_signal_verify)
    p = ssub.add_parser("cancel", help="invalidate nonces on-chain (manager)")
    p.add_argument("vault")
    p.add_argument("nonces", type=int, nargs="+")
    _account_options(p)
    p.set_defaults(run=cmd_signal_cancel)
    return parser


def main(argv: Sequence[str] | None = None, *, settings: CohortSettings | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides: dict[str, Any] = {}
    if args.rpc:
        overrides["rpc_url"] = args.rpc
    if args.manifest:
        overrides["manifest"] = Path(args.manifest)
    base = settings or CohortSettings()
    ctx = Context(args, base.model_copy(update=overrides))
    run: Callable[[Context], None] = args.run
    try:
        run(ctx)
    except ContractRevert as exc:
        print(f"error: the chain refused: {exc}", file=sys.stderr)
        return 1
    except CohortError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ConnectionError, OSError) as exc:  # requests' errors are OSErrors
        print(f"error: cannot reach the node at {ctx.settings.rpc_url}: {type(exc).__name__}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
