"""Vaults: parameters, NAV, price per share, marks, supply, holdings, AUM, fees, history, epochs."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from api.schemas.common import Address, Amount, DecimalStr, Schema, TokenOut, TxHash, Valuation


class HoldingOut(Schema):
    token: TokenOut
    amount: Amount
    value: Amount | None = Field(description="In the base asset at the oracle's TWAP (None: no price).")


class FeeTotals(Schema):
    management_fee_bps: int
    performance_fee_bps: int
    recipient: Address | None
    management_shares: Amount = Field(description="Every management fee share minted so far.")
    performance_shares: Amount
    total_shares: Amount
    value: Amount = Field(description="Sum over accruals of the minted shares at the price after the mint.")
    accruals: int
    pending_management_shares: Amount = Field(description="What an accrual now would mint (chain read).")
    pending_performance_shares: Amount


class VaultSummary(Schema):
    address: Address
    name: str
    symbol: str
    asset: TokenOut
    manager: Address | None
    created_block: int
    supply: Amount
    investors: int
    trades: int


class VaultDetail(Valuation):
    address: Address
    name: str
    symbol: str
    asset: TokenOut
    created_block: int
    created_tx: TxHash
    creator: Address
    params: dict[str, Any] = Field(description="VaultCreated.params: the vault's parameters at creation.")
    config: dict[str, Any] = Field(description="The parameters now (creation replayed with every setter event).")
    nav: Amount = Field(description="totalAssets(): base holdings + listed assets at TWAP.")
    aum: Amount = Field(description="NAV plus assets reserved for settled, unclaimed redemptions.")
    supply: Amount
    escrow_shares: Amount = Field(description="Shares held in escrow for pending redemptions.")
    reserved_assets: Amount
    high_water_mark: Amount
    drawdown_reference: Amount
    paused: bool
    risk_off: bool
    holdings: list[HoldingOut]
    fees: FeeTotals
    investors: int
    trades: int
    deposits: int
    deposited_assets: Amount
    claimed_assets: Amount
    events: int


class NavPointOut(Schema):
    kind: str = Field(description="fees (a FeesAccrued) or settlement (a RedemptionsSettled).")
    block_number: int
    log_index: int
    timestamp: int | None
    nav: Amount
    supply: Amount
    price_per_share: Amount
    price: DecimalStr = Field(description="Assets per share in whole units (price_per_share / 1e18).")
    high_water_mark: Amount
    management_shares: Amount
    performance_shares: Amount


class EpochOut(Schema):
    epoch: int
    units: Amount = Field(description="Shares requested by the epoch's live requests.")
    escrow: Amount
    remaining: DecimalStr = Field(description="Fraction of each request not yet settled.")
    remaining_ray: Amount
    assets_per_unit_ray: Amount
    requested: Amount
    canceled: Amount
    rounds: int
    shares_burned: Amount
    assets_reserved: Amount
    last_block: int
