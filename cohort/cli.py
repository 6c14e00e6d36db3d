"""`cohort`: the command line of investors and managers, and devnet helpers.

Investors (any account: an Ape account alias, a keyfile, COHORT_PRIVATE_KEY, or a devnet index):

    cohort vaults                                    # every vault: NAV, fees, notice, gate, minimum
    cohort deposit alpha 1000 --account alice        # 1000 USDC into vault `alpha`
    cohort status alpha --account alice              # shares, value, pending and claimable
    cohort request alpha all --account alice         # notice-period withdrawal of every share
    cohort cancel alpha --account alice              # take back the unsettled part
    cohort claim alpha --account alice               # after settlement: collect the assets

Managers sign trade signals off-chain (sizes are fractions, so one signal fits any vault size):

    cohort signal sign alpha --sell USDC --buy WETH --size 25% --max-price 3100 \\
        --slippage 1% --account manager --out signal.json
    cohort signal verify signal.json                 # digest, signature, nonce unused, time left
    cohort signal cancel alpha NONCE --account manager   # invalidate a nonce on-chain

On the devnet (chain 31337) only:

    cohort dev account alice 7                       # Ape account `alice` holding dev key #7
    cohort dev faucet alice 10000 USDC               # mint test tokens (or ETH) to an address or alias
    cohort dev time +2d                              # move the chain's clock forward

VAULT is a label from the deployment manifest or an address. Amounts are whole tokens written
with a dot before the decimals (`1000.5`, `1_000.5`; commas are refused); shares are whole
shares, or `all`.

Prices: a signal's limit, the API's trade prices and this command's output are whole tokens
bought per whole token sold (`--min-price`). `--max-price` is the same limit written the other
way round, whole tokens sold per token bought (USDC per WETH when buying WETH), as a trader
usually thinks of it; `signal sign` prints both.

The node: `--rpc-url`, else COHORT_RPC_URL, else the manifest's `rpcUrl`. Exit codes: 0 done;
1 the chain refused (the error is printed by name and in words); 2 bad usage or nothing to do;
3 the node cannot be reached.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import Web3Exception
from web3.logs import DISCARD

from cohort import devnet, signals
from cohort import manifest as mf
from cohort import units as u
from cohort.accounts import address_of_alias, dev_account, write_ape_keyfile
from cohort.accounts import load as load_account
from cohort.chain import DEVNET_CHAIN_ID, DevChain, chain_now, connect
from cohort.deploy import has_code
from cohort.errors import CohortError, ContractRevert
from cohort.settings import CohortSettings
from cohort.tx import call, transact
from cohort.uniswap import encode_v2_path, encode_v3_path
from cohort.vault import Vault


class UsageError(CohortError, ValueError):
    """A command-line argument is malformed, or the command cannot do what was asked."""


def utc(ts: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


# ---------------------------------------------------------------------------------------- context

@dataclass(frozen=True)
class Units:
    """A vault's two units, to print amounts as people read them."""

    asset_symbol: str
    asset_decimals: int
    share_symbol: str
    share_decimals: int

    def assets(self, amount: int) -> str:
        return f"{u.format_amount(amount, self.asset_decimals)} {self.asset_symbol}"

    def shares(self, amount: int) -> str:
        return f"{u.format_amount(amount, self.share_decimals, 6)} {self.share_symbol}"


class Context:
    """What every command needs: settings, the manifest, a chain connection, an account."""

    def __init__(self, args: argparse.Namespace, settings: CohortSettings) -> None:
        self.args = args
        self.settings = settings
        self.rpc_url = settings.node_url()
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
                    raise UsageError("--key-env: set COHORT_PRIVATE_KEY to the account's private key")
                key = self.settings.private_key.get_secret_value()
            self._account = load_account(alias=a.account, keyfile=a.keyfile, private_key=key, dev_index=a.dev_account,
                                         passphrase=self.passphrase(), ape_data_folder=self.settings.ape_data_folder)
        return self._account

    def passphrase(self) -> str | None:
        return self.settings.passphrase.get_secret_value() if self.settings.passphrase else None

    @property
    def w3(self) -> Web3:
        if self._w3 is None:
            signing = (self.account,) if self.has_account() else ()
            self._w3 = connect(self.rpc_url, accounts=signing)
        return self._w3

    def has_account(self) -> bool:
        a = self.args
        return any(getattr(a, k, None) not in (None, False) for k in ("account", "keyfile", "key_env", "dev_account"))

    def vault(self, ref: str) -> Vault:
        """The vault named by a manifest label or an address, checked to be a Cohort vault on
        the node we talk to."""
        if Web3.is_address(ref):
            address = Web3.to_checksum_address(ref)
        else:
            address = Web3.to_checksum_address(self.manifest.vault(ref).address)
            if self.manifest.chain_id != self.w3.eth.chain_id:
                raise UsageError(f"{self.settings.manifest} is for chain {self.manifest.chain_id}, but the node at "
                                 f"{self.rpc_url} is chain {self.w3.eth.chain_id}: point --rpc-url (COHORT_RPC_URL) "
                                 "at the right node, or --manifest at the right file")
        if not has_code(self.w3, address):
            raise UsageError(f"there is no contract at {address} on the chain at {self.rpc_url}: check the address, "
                             "or point --rpc-url (COHORT_RPC_URL) at the chain the vault is on (`cohort vaults` "
                             "lists the manifest's vaults)")
        v = Vault(self.w3, address)
        try:
            call(v.fn.pricePerShare())
        except (ContractRevert, Web3Exception):
            raise UsageError(f"the contract at {address} is not a Cohort vault: `cohort vaults` lists the "
                             "manifest's vaults") from None
        return v

    def units(self, v: Vault) -> Units:
        asset = v.asset
        return Units(str(call(asset.functions.symbol())), int(call(asset.functions.decimals())),
                     str(call(v.fn.symbol())), int(call(v.fn.decimals())))

    def token_symbol(self, address: str) -> str:
        for symbol, info in self.manifest.tokens.items():
            if info.address.lower() == address.lower():
                return symbol
        return address

    def token(self, ref: str) -> mf.TokenInfo:
        if Web3.is_address(ref):
            return self.manifest.token(self.token_symbol(ref))
        return self.manifest.token(ref.upper())

    def devnet(self) -> DevChain:
        chain_id = self.w3.eth.chain_id
        if chain_id != DEVNET_CHAIN_ID:
            raise UsageError(f"`cohort dev` works on the devnet (chain {DEVNET_CHAIN_ID}) only; the node at "
                             f"{self.rpc_url} is chain {chain_id}")
        return DevChain(self.w3)


def emit(ctx: Context, data: dict[str, Any], lines: Sequence[str]) -> None:
    if ctx.args.json:
        print(json.dumps(data, indent=2, default=str))
    else:
        print("\n".join(lines))


def tx_hash(receipt: Any) -> str:
    return "0x" + bytes(receipt["transactionHash"]).hex()


def vault_events(v: Vault, receipt: Any, name: str) -> list[dict[str, Any]]:
    """The vault's own `name` events in `receipt` (logs of other contracts, like the asset's
    Transfer, are skipped rather than warned about)."""
    return [dict(e["args"]) for e in getattr(v.contract.events, name)().process_receipt(receipt, errors=DISCARD)
            if e["address"] == v.address]


# ---------------------------------------------------------------------------------------- investors

def cmd_vaults(ctx: Context) -> None:
    rows: list[dict[str, Any]] = []
    lines: list[str] = []
    for label, info in ctx.manifest.cohort.vaults.items():
        v = ctx.vault(info.address)
        un = ctx.units(v)
        nav, healthy = v.valuation()
        fees = v.fee_state()
        queue = call(v.fn.queueState())
        min_deposit, cap = (int(x) for x in reversed(call(v.fn.depositLimits())))
        notice, gate = int(queue[2]), int(queue[3])
        pps = v.price_per_share()
        row = {"label": label, "address": info.address, "name": info.name, "symbol": un.share_symbol,
               "asset": un.asset_symbol, "nav": nav, "pricePerShare": pps, "healthy": healthy,
               "manager": info.manager, "managementFeeBps": fees.management_fee_bps,
               "performanceFeeBps": fees.performance_fee_bps, "noticePeriod": notice, "gateBps": gate,
               "minDeposit": min_deposit, "depositCap": cap}
        rows.append(row)
        cap_text = "no cap" if cap >= 2**128 - 1 or cap == 0 else f"cap {un.assets(cap)}"
        lines += [f"{label}  {info.name} ({un.share_symbol})  {info.address}",
                  f"    NAV {un.assets(nav)}, {u.format_price(u.to_decimal(pps, 18))} "
                  f"{un.asset_symbol} per share{'' if healthy else ' (oracle unhealthy: deposits wait)'}",
                  f"    fees {u.format_bps(fees.management_fee_bps)} a year on NAV + "
                  f"{u.format_bps(fees.performance_fee_bps)} of gains above the high-water mark",
                  f"    withdrawals: {u.format_duration(notice)} notice, gate {u.format_bps(gate)} of NAV per epoch; "
                  f"deposits from {un.assets(min_deposit)}, {cap_text}"]
    emit(ctx, {"vaults": rows}, lines or [f"no vaults in {ctx.settings.manifest}"])


def cmd_status(ctx: Context) -> None:
    v = ctx.vault(ctx.args.vault)
    un = ctx.units(v)
    who = ctx.args.of or ctx.account.address
    if not Web3.is_address(who):
        raise UsageError(f"--of takes an address, not {who!r}")
    who = Web3.to_checksum_address(who)
    shares = v.balance_of(who)
    req = v.redeem_request_of(who)
    value = int(call(v.fn.convertToAssets(shares + req.pending)))
    matures = int(call(v.fn.epochMaturesAt(req.epoch))) if req.epoch else 0
    price = v.price_per_share()
    data: dict[str, Any] = {"vault": v.address, "account": who, "shares": shares, "pendingShares": req.pending,
                            "value": value, "claimableShares": req.claimable_shares,
                            "claimableAssets": req.claimable_assets, "requestEpoch": req.epoch,
                            "maturesAt": matures, "pricePerShare": price}
    lines = [f"vault    {v.address}", f"account  {who}",
             f"shares   {un.shares(shares)} in the wallet, {un.shares(req.pending)} waiting to be settled",
             f"value    {un.assets(value)} (at {u.format_price(u.to_decimal(price, 18))} {un.asset_symbol} per share)",
             f"claim    {un.assets(req.claimable_assets)} claimable now"]
    if req.pending:
        lines.append(f"request  epoch {req.epoch}, settleable from {utc(matures)} (chain time)")
    emit(ctx, data, lines)


def cmd_deposit(ctx: Context) -> None:
    v = ctx.vault(ctx.args.vault)
    un = ctx.units(v)
    token = v.asset
    assets = u.parse_amount(ctx.args.amount, un.asset_decimals, un.asset_symbol)
    me = ctx.account.address
    receiver = Web3.to_checksum_address(ctx.args.receiver or me)
    held = int(call(token.functions.balanceOf(me)))
    if held < assets:
        raise UsageError(f"{me} holds {un.assets(held)}, less than {un.assets(assets)}"
                         + (f": on the devnet, `cohort dev faucet {me} {ctx.args.amount} {un.asset_symbol}`"
                            if ctx.w3.eth.chain_id == DEVNET_CHAIN_ID else ""))
    min_deposit = int(call(v.fn.depositLimits())[1])
    if assets < min_deposit:
        raise UsageError(f"{un.assets(assets)} is below the vault's minimum deposit of {un.assets(min_deposit)} "
                         "(CohortDepositTooSmall): deposit at least that")
    before = v.balance_of(receiver)
    if call(token.functions.allowance(me, v.address)) < assets:
        transact(token.functions.approve(v.address, assets), me)
    receipt = transact(v.fn.deposit(assets, receiver), me)
    minted = v.balance_of(receiver) - before
    emit(ctx, {"tx": tx_hash(receipt), "assets": assets, "shares": minted, "receiver": receiver},
         [f"deposited {un.assets(assets)} for {receiver}: {un.shares(minted)} received; tx {tx_hash(receipt)}"])


def cmd_request(ctx: Context) -> None:
    v = ctx.vault(ctx.args.vault)
    un = ctx.units(v)
    me = ctx.account.address
    owner = Web3.to_checksum_address(ctx.args.owner or me)
    controller = Web3.to_checksum_address(ctx.args.controller or me)
    held = v.balance_of(owner)
    shares = held if ctx.args.shares == "all" else u.parse_amount(ctx.args.shares, un.share_decimals, un.share_symbol)
    if shares == 0 or shares > held:
        raise UsageError(f"{owner} holds {un.shares(held)}: " + ("nothing to withdraw" if held == 0 else
                         f"request at most that (or `all`), not {un.shares(shares)}"))
    worth = int(call(v.fn.convertToAssets(shares)))
    receipt = transact(v.fn.requestRedeem(shares, controller, owner), me)
    req = v.redeem_request_of(controller)
    matures = int(call(v.fn.epochMaturesAt(req.epoch)))
    emit(ctx, {"tx": tx_hash(receipt), "shares": shares, "epoch": req.epoch, "maturesAt": matures},
         [f"requested {un.shares(shares)} (about {un.assets(worth)} now) in epoch {req.epoch}; the keeper settles "
          f"it from {utc(matures)} (chain time), then `cohort claim {ctx.args.vault}`; tx {tx_hash(receipt)}"])


def cmd_cancel(ctx: Context) -> None:
    v = ctx.vault(ctx.args.vault)
    un = ctx.units(v)
    me = ctx.account.address
    controller = Web3.to_checksum_address(ctx.args.controller or me)
    if v.redeem_request_of(controller).pending == 0:
        raise UsageError(f"{controller} has no unsettled withdrawal request to cancel (see `cohort status`)")
    receipt = v.cancel_redeem(me, controller)
    shares = sum(int(e["shares"]) for e in vault_events(v, receipt, "RedeemRequestCanceled"))
    emit(ctx, {"tx": tx_hash(receipt), "shares": shares},
         [f"cancelled: {un.shares(shares)} back to {controller}; tx {tx_hash(receipt)}"])


def cmd_claim(ctx: Context) -> None:
    v = ctx.vault(ctx.args.vault)
    un = ctx.units(v)
    me = ctx.account.address
    controller = Web3.to_checksum_address(ctx.args.controller or me)
    claimable = int(call(v.fn.maxRedeem(controller)))
    if claimable == 0:
        raise UsageError(f"nothing is claimable for {controller} yet: a request is paid once its notice period has "
                         "passed and a keeper has settled it (see `cohort status`)")
    shares = claimable if ctx.args.shares == "all" else u.parse_amount(ctx.args.shares, un.share_decimals,
                                                                       un.share_symbol)
    if shares > claimable:
        raise UsageError(f"only {un.shares(claimable)} are claimable, not {un.shares(shares)}")
    receiver = Web3.to_checksum_address(ctx.args.receiver or controller)
    receipt = transact(v.fn.redeem(shares, receiver, controller), me)
    assets = sum(int(e["assets"]) for e in vault_events(v, receipt, "Withdraw"))
    emit(ctx, {"tx": tx_hash(receipt), "assets": assets, "shares": shares},
         [f"claimed {un.assets(assets)} for {un.shares(shares)} to {receiver}; tx {tx_hash(receipt)}"])


# ---------------------------------------------------------------------------------------- managers

def _route(ctx: Context, sell: mf.TokenInfo, buy: mf.TokenInfo) -> tuple[str, bytes, list[str]]:
    """(adapter, path, every token on the way)."""
    a = ctx.args
    hops = [sell.address, *(ctx.token(x).address for x in (a.via or [])), buy.address]
    if a.route == "v2":
        return ctx.manifest.cohort.adapters["uniswap-v2"], encode_v2_path(hops), hops
    return ctx.manifest.cohort.adapters["uniswap-v3"], encode_v3_path(hops, [a.fee] * (len(hops) - 1)), hops


def _limit(a: argparse.Namespace, sell: str, buy: str) -> int:
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
    base = str(call(v.fn.asset())).lower()
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
    limit = _limit(a, sell.symbol, buy.symbol)
    adapter, path, hops = _route(ctx, sell, buy)
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
                                 signals.SIZE_OF_NAV if a.of == "nav" else signals.SIZE_OF_HOLDINGS,
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
    emit(ctx, checks, [*lines, "trade: " + describe(ctx, signed.signal)])
    if not ok:
        raise UsageError("the signal is signed correctly but cannot execute: its nonce is used or cancelled, or its "
                         "deadline has passed; sign a new one")


def cmd_signal_cancel(ctx: Context) -> None:
    v = ctx.vault(ctx.args.vault)
    words: dict[int, int] = {}
    for nonce in ctx.args.nonces:
        words[nonce >> 8] = words.get(nonce >> 8, 0) | (1 << (nonce & 255))
    for word, mask in words.items():
        receipt = transact(v.fn.invalidateNonces(word, mask), ctx.account.address)
        cancelled = [n for n in ctx.args.nonces if n >> 8 == word]
        print(f"cancelled nonce{'s' if len(cancelled) > 1 else ''} {', '.join(map(str, cancelled))}: no signal "
              f"with {'them' if len(cancelled) > 1 else 'it'} can execute now; tx {tx_hash(receipt)}")


# ---------------------------------------------------------------------------------------- devnet

def _address(ctx: Context, ref: str) -> str:
    """An address, or the address of an Ape account alias."""
    if Web3.is_address(ref):
        return Web3.to_checksum_address(ref)
    address = address_of_alias(ref, ctx.settings.ape_data_folder)
    if address is None:
        raise UsageError(f"{ref!r} is neither an address nor an Ape account in "
                         f"{ctx.settings.ape_data_folder / 'accounts'} (create one with `cohort dev account {ref} 7`)")
    return Web3.to_checksum_address(address)


def cmd_dev_faucet(ctx: Context) -> None:
    chain = ctx.devnet()
    to = _address(ctx, ctx.args.address)
    symbol = ctx.args.symbol.upper()
    if symbol == "ETH":
        amount = u.parse_amount(ctx.args.amount, 18, "ETH")
        chain.set_balance(to, int(ctx.w3.eth.get_balance(to)) + amount)  # type: ignore[arg-type]
        balance, decimals = int(ctx.w3.eth.get_balance(to)), 18  # type: ignore[arg-type]
    else:
        token = ctx.token(symbol)
        amount = u.parse_amount(ctx.args.amount, token.decimals, symbol)
        devnet.fund(ctx.w3, ctx.manifest, symbol, to, amount)
        balance = int(call(devnet.token(ctx.w3, ctx.manifest, symbol).functions.balanceOf(to)))
        decimals = token.decimals
    print(f"gave {u.format_amount(amount, decimals)} {symbol} to {to}; it holds "
          f"{u.format_amount(balance, decimals)} {symbol} now")


def cmd_dev_time(ctx: Context) -> None:
    chain = ctx.devnet()
    if ctx.args.delta is not None:
        seconds = u.parse_duration(ctx.args.delta)
        chain.increase_time(seconds)
        print(f"moved the chain's clock {u.format_duration(seconds)} forward: it is now {utc(chain.timestamp())} "
              f"(block {ctx.w3.eth.block_number})")
    else:
        print(f"chain time {utc(chain.timestamp())} (block {ctx.w3.eth.block_number}); wall clock "
              f"{utc(int(time.time()))}")


def cmd_dev_account(ctx: Context) -> None:
    a = ctx.args
    folder = ctx.settings.ape_data_folder
    account = dev_account(a.index)
    passphrase = ctx.passphrase()
    if passphrase is None:
        passphrase = getpass.getpass(f"new passphrase for {a.alias}: ")
        if getpass.getpass("again: ") != passphrase:
            raise UsageError("the two passphrases differ; nothing was written")
    path = write_ape_keyfile(a.alias, account, passphrase, folder)
    print(f"Ape account {a.alias!r} is anvil's dev key #{a.index} ({account.address}), stored in {path}; "
          f"use it with `--account {a.alias}` (devnet only: the key is public)")


# ---------------------------------------------------------------------------------------- main

def _account_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("account (exactly one)")
    g.add_argument("--account", help="an Ape account alias (keyfile in $APE_DATA_FOLDER/accounts)")
    g.add_argument("--keyfile", help="a JSON keystore file")
    g.add_argument("--key-env", action="store_true", help="the private key in COHORT_PRIVATE_KEY")
    g.add_argument("--dev-account", type=int, help="anvil dev account N, 0 to 19 (devnet only)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cohort", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    # the global options, accepted before or after the command (`cohort vaults --json` too)
    common = argparse.ArgumentParser(add_help=False)
    for p_ in (parser, common):
        default = None if p_ is parser else argparse.SUPPRESS
        p_.add_argument("--rpc-url", default=default,
                        help="JSON-RPC URL (COHORT_RPC_URL; default: the manifest's rpcUrl)")
        p_.add_argument("--manifest", default=default,
                        help="deployment manifest (COHORT_MANIFEST; default deployments/local.json)")
        p_.add_argument("--json", action="store_true", default=False if p_ is parser else argparse.SUPPRESS,
                        help="machine-readable output (integers in token units)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("vaults", parents=[common], help="the manifest's vaults: NAV, price per share, fees, notice, gate, minimum")
    p.set_defaults(run=cmd_vaults)
    p = sub.add_parser("status", parents=[common], help="an investor's shares, value and redemption state")
    p.add_argument("vault")
    p.add_argument("--of", help="the investor's address (default: the account given)")
    _account_options(p)
    p.set_defaults(run=cmd_status)
    p = sub.add_parser("deposit", parents=[common], help="deposit the base asset")
    p.add_argument("vault")
    p.add_argument("amount", help="whole tokens, e.g. 1000 or 1_000.5")
    p.add_argument("--receiver")
    _account_options(p)
    p.set_defaults(run=cmd_deposit)
    p = sub.add_parser("request", parents=[common], help="request a notice-period withdrawal")
    p.add_argument("vault")
    p.add_argument("shares", help="whole shares, or `all`")
    p.add_argument("--controller", help="who manages and claims the request (default: you)")
    p.add_argument("--owner", help="whose shares (needs their allowance or operator rights)")
    _account_options(p)
    p.set_defaults(run=cmd_request)
    p = sub.add_parser("cancel", parents=[common], help="take back the unsettled part of a request")
    p.add_argument("vault")
    p.add_argument("--controller")
    _account_options(p)
    p.set_defaults(run=cmd_cancel)
    p = sub.add_parser("claim", parents=[common], help="claim settled redemptions")
    p.add_argument("vault")
    p.add_argument("--shares", default="all", help="whole shares to claim, or `all` (default)")
    p.add_argument("--receiver")
    p.add_argument("--controller")
    _account_options(p)
    p.set_defaults(run=cmd_claim)

    sig = sub.add_parser("signal", help="manager tooling: sign, verify, cancel trade signals")
    ssub = sig.add_subparsers(dest="signal_command", required=True)
    p = ssub.add_parser("sign", parents=[common], help="sign a trade signal (prints or writes JSON; the trade in words on stderr)")
    p.add_argument("vault")
    p.add_argument("--sell", required=True, help="token sold (symbol or address)")
    p.add_argument("--buy", required=True, help="token bought")
    p.add_argument("--size", required=True, help="fraction, e.g. 25%%, 2500bps or 0.25")
    p.add_argument("--of", choices=["holdings", "nav"], default="holdings",
                   help="size as a fraction of the vault's holdings of the sold token, or of NAV")
    p.add_argument("--min-price", help="least `buy` received per `sell`, in whole tokens")
    p.add_argument("--max-price", help="most `sell` paid per `buy` (the same limit the other way round)")
    p.add_argument("--slippage", default="1%", help="largest shortfall against the oracle (default 1%%)")
    p.add_argument("--route", choices=["v3", "v2"], default="v3")
    p.add_argument("--via", action="append", help="an intermediate token (repeatable)")
    p.add_argument("--fee", type=int, default=3000, help="V3 pool fee of each hop, in pips (default 3000 = 0.3%%)")
    p.add_argument("--nonce", type=int, help="default: a fresh random one")
    p.add_argument("--expires", default="1h", help="validity from the chain's clock, e.g. 30m, 1h, 2d (default 1h)")
    p.add_argument("--out", help="write the signed JSON here")
    p.add_argument("--offline", action="store_true", help="sign without a node (needs --chain-id, --name)")
    p.add_argument("--chain-id", type=int)
    p.add_argument("--name", help="the vault's EIP-712 name (its ERC-20 name)")
    _account_options(p)
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
    _account_options(p)
    p.set_defaults(run=cmd_signal_cancel)

    dev = sub.add_parser("dev", help="devnet helpers: accounts, a faucet, the clock (chain 31337 only)")
    dsub = dev.add_subparsers(dest="dev_command", required=True)
    p = dsub.add_parser("account", parents=[common], help="store anvil's dev key N as an Ape account (COHORT_PASSPHRASE or asked)")
    p.add_argument("alias")
    p.add_argument("index", type=int, choices=range(20), metavar="INDEX", help="dev account 0 to 19")
    p.set_defaults(run=cmd_dev_account)
    p = dsub.add_parser("faucet", parents=[common], help="mint test tokens (USDC, WETH, WBTC, LINK) or ETH to an address or alias")
    p.add_argument("address", help="an address or an Ape account alias")
    p.add_argument("amount", help="whole tokens, e.g. 1000")
    p.add_argument("symbol", help="USDC, WETH, WBTC, LINK or ETH")
    p.set_defaults(run=cmd_dev_faucet)
    p = dsub.add_parser("time", parents=[common], help="show the chain's clock, or move it forward (+90s, +30m, +1h, +2d)")
    p.add_argument("delta", nargs="?")
    p.set_defaults(run=cmd_dev_time)
    return parser


def main(argv: Sequence[str] | None = None, *, settings: CohortSettings | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides: dict[str, Any] = {}
    if args.rpc_url:
        overrides["rpc_url"] = args.rpc_url
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
    except BrokenPipeError:  # the output went to `head` or a closed pager
        return 0
    except (ConnectionError, OSError) as exc:  # requests' errors are OSErrors
        print(f"error: cannot reach the node at {ctx.rpc_url} ({type(exc).__name__}): start it (`make devnet`) or "
              "point --rpc-url (COHORT_RPC_URL) at a running one", file=sys.stderr)
        return 3
    except Web3Exception as exc:  # the node answered with an error (no gas money, a bad request)
        message = exc.args[0] if exc.args else exc
        if isinstance(message, dict):
            message = message.get("message", message)
        hint = (": the account needs ETH for gas (on the devnet, `cohort dev faucet ADDRESS 1 ETH`)"
                if "funds" in str(message) else "")
        print(f"error: the node refused the request: {message}{hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
