"""What the web app needs beyond the REST resources: its configuration (ABIs, the EIP-712 type,
tokens), vault performance for comparison, an investor's equity curve and statement, and signal
drafts described in plain words. Figures come from the same services and modules as the API's;
nothing here re-implements a contract rule."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from web3 import Web3

from api import models
from api.errors import BadInput
from api.ledger.math import DECIMALS_OFFSET, PPS_SCALE, ratio
from api.ledger.state import ZERO_ADDRESS
from api.services.context import VaultContext
from cohort import signals
from cohort.artifacts import abi_of
from cohort.chain import chain_now
from cohort.manifest import Manifest
from cohort.onchain import RedeemRequest, vault_abi
from cohort.tx import call, error_abis
from cohort.uniswap import encode_v3_path
from cohort.vault import Vault

V3_FEE = 3000  # the devnet's pools; the route a draft names
STATEMENT_EVENTS = ("Deposit", "RedeemRequest", "RedeemRequestCanceled", "Withdraw", "Transfer")


# ==================================================================== configuration


def error_abi() -> list[dict[str, Any]]:
    """Every custom error of the project's contracts (the page names a revert with it)."""
    return list(error_abis())


def app_config(manifest: Manifest | None, chain_id: int | None, keeper_url: str | None) -> dict[str, Any]:
    tokens = {} if manifest is None else {s: {"address": t.address, "decimals": t.decimals}
                                          for s, t in manifest.tokens.items()}
    adapters = {} if manifest is None else dict(manifest.cohort.adapters)
    return {"chain_id": chain_id, "keeper_url": keeper_url, "tokens": tokens, "adapters": adapters,
            "eip712_types": signals.eip712_types(), "primary_type": "TradeSignal",
            "abi": {"vault": vault_abi(), "erc20": abi_of("TestToken"), "errors": error_abi()}}


# ==================================================================== performance (pure)


@dataclass(frozen=True)
class Performance:
    inception_pps: int  # the first deposit's price (1e18 = one whole asset per whole share)
    return_since_inception: Decimal  # a fraction: 0.05 is +5%
    max_drawdown: Decimal  # a fraction >= 0: the deepest fall from a running peak


def performance(prices: Iterable[int]) -> Performance | None:
    """Return since the first price and the deepest peak-to-trough fall of a price series."""
    series = [p for p in prices if p > 0]
    if not series:
        return None
    peak, deepest = series[0], Decimal(0)
    for p in series:
        peak = max(peak, p)
        deepest = max(deepest, Decimal(peak - p) / Decimal(peak))
    return Performance(series[0], Decimal(series[-1]) / Decimal(series[0]) - 1, deepest)


def first_deposit_price(session: Session, vault: str) -> int | None:
    """The price the first deposit paid, at the vault's price-per-share scale (PPS_SCALE: 1e18 = one
    whole asset per whole share)."""
    row = session.scalars(select(models.Event).where(models.Event.vault == vault, models.Event.name == "Deposit")
                          .order_by(models.Event.block_number, models.Event.log_index).limit(1)).first()
    if row is None:
        return None
    args = json.loads(row.args)
    shares = int(args.get("shares", 0))
    return int(args["assets"]) * PPS_SCALE // shares if shares else None


def share_decimals(ctx: VaultContext) -> int:
    """The vault's decimals(): its asset's plus the virtual offset (ERC-4626 with _decimalsOffset)."""
    return ctx.token(ctx.asset).decimals + DECIMALS_OFFSET


def price_series(session: Session, ctx: VaultContext) -> list[int]:
    """The first deposit's price, every accrual's and settlement's, and the price now (nothing
    before the first deposit: a vault nobody invested in has no performance)."""
    points = session.scalars(select(models.NavPoint).where(models.NavPoint.vault == ctx.address)
                             .order_by(models.NavPoint.block_number, models.NavPoint.log_index)).all()
    first = first_deposit_price(session, ctx.address)
    if first is None:
        return []
    return [first, *(int(p.price_per_share) for p in points), int(ctx.snapshot.price_per_share)]


def fraction(value: Decimal) -> str:
    return f"{value:.6f}"


# ==================================================================== investor: equity curve and statement


def equity_curve(w3: Web3, vault: str, investor: str, blocks: Iterable[int]) -> list[dict[str, Any]]:
    """Value of the investor's position (wallet + pending shares) and claimable assets at each block,
    read from the vault's own views at that block."""
    v = Vault(w3, vault)
    out = []
    for block in sorted(set(blocks)):
        shares = int(call(v.fn.balanceOf(investor), block=block))
        req = RedeemRequest.from_call(v.fn.redeemRequestOf(investor).call(block_identifier=block))
        position = shares + req.pending
        value = int(v.fn.convertToAssets(position).call(block_identifier=block)) if position else 0
        ts = int(w3.eth.get_block(block)["timestamp"])
        out.append({"block_number": block, "timestamp": ts, "position_shares": str(position),
                    "value": str(value), "claimable_assets": str(req.claimable_assets),
                    "equity": str(value + req.claimable_assets)})
    return out


def statement_rows(session: Session, ctx: VaultContext, investor: str, share_decimals: int) -> list[dict[str, str]]:
    """Every event of the vault that moved the investor's shares or assets, in human units."""
    asset = ctx.token(ctx.asset)
    rows = session.scalars(select(models.Event).where(models.Event.vault == ctx.address,
                                                      models.Event.name.in_(STATEMENT_EVENTS))
                           .order_by(models.Event.block_number, models.Event.log_index)).all()
    who = investor.lower()
    out = []
    for row in rows:
        args = json.loads(row.args)
        parties = {k: str(v).lower() for k, v in args.items() if isinstance(v, str) and v.startswith("0x")}
        if who not in parties.values():
            continue
        if row.name == "Transfer" and ctx.address.lower() in parties.values():
            continue  # escrow in and out: the request and its settlement say it
        if row.name == "Transfer" and ZERO_ADDRESS in parties.values():
            continue  # mints and burns: the deposit and the claim say it
        assets = int(args.get("assets", 0))
        shares = int(args.get("shares", args.get("value", 0)))
        direction = ""
        if row.name == "Transfer":
            direction = "in" if parties.get("to") == who else "out"
        when = datetime.fromtimestamp(row.timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if row.timestamp else ""
        out.append({"date": when, "block": str(row.block_number), "event": row.name + (f" {direction}" if direction
                                                                                        else ""),
                    "assets": ratio(assets, 10**asset.decimals, asset.decimals) if "assets" in args else "",
                    "asset": asset.symbol if "assets" in args else "",
                    "shares": ratio(shares, 10**share_decimals, share_decimals) if shares else "", "tx": row.tx_hash})
    return out


def statement_csv(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["date", "block", "event", "assets", "asset", "shares", "tx"])
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


# ==================================================================== signal drafts


@dataclass(frozen=True)
class Draft:
    typed_data: dict[str, Any]
    signal: dict[str, Any]
    digest: str
    description: str


def draft_signal(w3: Web3, manifest: Manifest, ctx: VaultContext, token_in: str, token_out: str, size_mode: int,
                 size_bps: int, limit_price: str, max_slippage_bps: int, valid_for_s: int) -> Draft:
    """The typed data a manager signs for a trade, and the trade in plain words (the CLI's words).
    The nonce is a fresh random 64-bit number; the deadline counts from the chain's clock."""
    tin, tout = ctx.token(Web3.to_checksum_address(token_in)), ctx.token(Web3.to_checksum_address(token_out))
    if tin.address == tout.address:
        raise BadInput("the trade's input and output tokens are the same")
    adapter = manifest.cohort.adapters.get("uniswap-v3")
    if adapter is None:
        raise BadInput("the manifest names no uniswap-v3 adapter")
    deadline = chain_now(w3) + valid_for_s  # the pending block: an idle chain's latest may be old
    try:
        signal = signals.TradeSignal(tin.address, tout.address, size_mode, size_bps,
                                     signals.limit_price_wad(limit_price), max_slippage_bps, adapter,
                                     encode_v3_path([tin.address, tout.address], [V3_FEE]), signals.new_nonce(),
                                     deadline)
    except signals.SignalError as exc:
        raise BadInput(str(exc)) from None
    domain = Vault(w3, ctx.address).domain()
    typed = signals.typed_data(signal, domain)
    typed["message"] = signal.to_json_dict()
    words = signals.describe(signal, manifest.symbols(), manifest.adapter_names())
    words = words[0].upper() + words[1:] + "."
    return Draft(typed, signal.to_json_dict(), "0x" + signals.digest(signal, domain).hex(), words)
