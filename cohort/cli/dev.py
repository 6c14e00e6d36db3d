"""`cohort dev`: devnet helpers (dev accounts as Ape accounts, a faucet, the clock), refused on
any chain but the devnet."""

from __future__ import annotations

import argparse
import getpass
import time
from typing import Any

from web3 import Web3

from cohort import units as u
from cohort.accounts import address_of_alias, dev_account, write_ape_keyfile
from cohort.chain import DEVNET_CHAIN_ID
from cohort.cli.context import Context, UsageError, utc
from cohort.dev import devnet
from cohort.dev.anvil import DevChain
from cohort.tx import call


def _devnet(ctx: Context) -> DevChain:
    chain_id = ctx.w3.eth.chain_id
    if chain_id != DEVNET_CHAIN_ID:
        raise UsageError(f"`cohort dev` works on the devnet (chain {DEVNET_CHAIN_ID}) only; the node at "
                         f"{ctx.rpc_url} is chain {chain_id}")
    return DevChain(ctx.w3)


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
    chain = _devnet(ctx)
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
    chain = _devnet(ctx)
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


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    dev = sub.add_parser("dev", help="devnet helpers: accounts, a faucet, the clock (chain 31337 only)")
    dsub = dev.add_subparsers(dest="dev_command", required=True)
    p = dsub.add_parser("account", parents=[common],
                        help="store anvil's dev key N as an Ape account (COHORT_PASSPHRASE or asked)")
    p.add_argument("alias")
    p.add_argument("index", type=int, choices=range(20), metavar="INDEX", help="dev account 0 to 19")
    p.set_defaults(run=cmd_dev_account)
    p = dsub.add_parser("faucet", parents=[common],
                        help="mint test tokens (USDC, WETH, WBTC, LINK) or ETH to an address or alias")
    p.add_argument("address", help="an address or an Ape account alias")
    p.add_argument("amount", help="whole tokens, e.g. 1000")
    p.add_argument("symbol", help="USDC, WETH, WBTC, LINK or ETH")
    p.set_defaults(run=cmd_dev_faucet)
    p = dsub.add_parser("time", parents=[common],
                        help="show the chain's clock, or move it forward (+90s, +30m, +1h, +2d)")
    p.add_argument("delta", nargs="?")
    p.set_defaults(run=cmd_dev_time)
