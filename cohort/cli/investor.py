"""Investor commands: status, deposit, request, cancel, claim. Every transaction goes through
the SDK's `Vault`; these commands check the arguments first, so a mistake is explained in words
before anything is signed."""

from __future__ import annotations

import argparse
from typing import Any

from web3 import Web3

from cohort import units as u
from cohort.chain import DEVNET_CHAIN_ID
from cohort.cli.context import Context, UsageError, account_options, tx_hash, utc
from cohort.tx import call


def cmd_status(ctx: Context) -> None:
    v = ctx.vault(ctx.args.vault)
    un = ctx.units(v)
    who = ctx.args.of or ctx.account.address
    if not Web3.is_address(who):
        raise UsageError(f"--of takes an address, not {who!r}")
    who = Web3.to_checksum_address(who)
    shares = v.balance_of(who)
    req = v.redeem_request_of(who)
    value = v.convert_to_assets(shares + req.pending)
    matures = v.epoch_matures_at(req.epoch) if req.epoch else 0
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
    ctx.emit(data, lines)


def cmd_deposit(ctx: Context) -> None:
    v = ctx.vault(ctx.args.vault)
    un = ctx.units(v)
    assets = u.parse_amount(ctx.args.amount, un.asset_decimals, un.asset_symbol)
    me = ctx.account.address
    receiver = Web3.to_checksum_address(ctx.args.receiver or me)
    held = int(call(v.asset.functions.balanceOf(me)))
    if held < assets:
        raise UsageError(f"{me} holds {un.assets(held)}, less than {un.assets(assets)}"
                         + (f": on the devnet, `cohort dev faucet {me} {ctx.args.amount} {un.asset_symbol}`"
                            if ctx.w3.eth.chain_id == DEVNET_CHAIN_ID else ""))
    min_deposit = v.deposit_limits().min_deposit
    if assets < min_deposit:
        raise UsageError(f"{un.assets(assets)} is below the vault's minimum deposit of {un.assets(min_deposit)} "
                         "(CohortDepositTooSmall): deposit at least that")
    before = v.balance_of(receiver)
    receipt = v.deposit(assets, me, receiver)
    minted = v.balance_of(receiver) - before
    ctx.emit({"tx": tx_hash(receipt), "assets": assets, "shares": minted, "receiver": receiver},
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
    worth = v.convert_to_assets(shares)
    receipt = v.request_redeem(shares, me, controller, owner)
    req = v.redeem_request_of(controller)
    matures = v.epoch_matures_at(req.epoch)
    ctx.emit({"tx": tx_hash(receipt), "shares": shares, "epoch": req.epoch, "maturesAt": matures},
             [f"requested {un.shares(shares)} (about {un.assets(worth)} now) in epoch {req.epoch}; the keeper "
              f"settles it from {utc(matures)} (chain time), then `cohort claim {ctx.args.vault}`; "
              f"tx {tx_hash(receipt)}"])


def cmd_cancel(ctx: Context) -> None:
    v = ctx.vault(ctx.args.vault)
    un = ctx.units(v)
    me = ctx.account.address
    controller = Web3.to_checksum_address(ctx.args.controller or me)
    if v.redeem_request_of(controller).pending == 0:
        raise UsageError(f"{controller} has no unsettled withdrawal request to cancel (see `cohort status`)")
    receipt = v.cancel_redeem(me, controller)
    shares = sum(int(e["shares"]) for e in v.events(receipt, "RedeemRequestCanceled"))
    ctx.emit({"tx": tx_hash(receipt), "shares": shares},
             [f"cancelled: {un.shares(shares)} back to {controller}; tx {tx_hash(receipt)}"])


def cmd_claim(ctx: Context) -> None:
    v = ctx.vault(ctx.args.vault)
    un = ctx.units(v)
    me = ctx.account.address
    controller = Web3.to_checksum_address(ctx.args.controller or me)
    claimable = v.max_redeem(controller)
    if claimable == 0:
        raise UsageError(f"nothing is claimable for {controller} yet: a request is paid once its notice period has "
                         "passed and a keeper has settled it (see `cohort status`)")
    shares = claimable if ctx.args.shares == "all" else u.parse_amount(ctx.args.shares, un.share_decimals,
                                                                       un.share_symbol)
    if shares > claimable:
        raise UsageError(f"only {un.shares(claimable)} are claimable, not {un.shares(shares)}")
    receiver = Web3.to_checksum_address(ctx.args.receiver or controller)
    receipt = v.claim(me, controller, receiver, shares)
    assets = sum(int(e["assets"]) for e in v.events(receipt, "Withdraw"))
    ctx.emit({"tx": tx_hash(receipt), "assets": assets, "shares": shares},
             [f"claimed {un.assets(assets)} for {un.shares(shares)} to {receiver}; tx {tx_hash(receipt)}"])


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("status", parents=[common], help="an investor's shares, value and redemption state")
    p.add_argument("vault")
    p.add_argument("--of", help="the investor's address (default: the account given)")
    account_options(p)
    p.set_defaults(run=cmd_status)
    p = sub.add_parser("deposit", parents=[common], help="deposit the base asset")
    p.add_argument("vault")
    p.add_argument("amount", help="whole tokens, e.g. 1000 or 1_000.5")
    p.add_argument("--receiver")
    account_options(p)
    p.set_defaults(run=cmd_deposit)
    p = sub.add_parser("request", parents=[common], help="request a notice-period withdrawal")
    p.add_argument("vault")
    p.add_argument("shares", help="whole shares, or `all`")
    p.add_argument("--controller", help="who manages and claims the request (default: you)")
    p.add_argument("--owner", help="whose shares (needs their allowance or operator rights)")
    account_options(p)
    p.set_defaults(run=cmd_request)
    p = sub.add_parser("cancel", parents=[common], help="take back the unsettled part of a request")
    p.add_argument("vault")
    p.add_argument("--controller")
    account_options(p)
    p.set_defaults(run=cmd_cancel)
    p = sub.add_parser("claim", parents=[common], help="claim settled redemptions")
    p.add_argument("vault")
    p.add_argument("--shares", default="all", help="whole shares to claim, or `all` (default)")
    p.add_argument("--receiver")
    p.add_argument("--controller")
    account_options(p)
    p.set_defaults(run=cmd_claim)
