"""The MAM view: one investor's sub-account in a vault, and across vaults."""

from __future__ import annotations

from pydantic import Field

from api.schemas.common import (
    Address,
    Amount,
    DecimalStr,
    Page,
    Schema,
    TokenOut,
    TxHash,
    Valuation,
)
from api.schemas.strategies import StrategyLink


class Redemption(Schema):
    state: str = Field(description="none, pending, claimable or pending+claimable.")
    epoch: int = Field(description="Epoch of the live request (redeemRequestOf); 0: none.")
    requested: Amount
    pending_shares: Amount
    claimable_shares: Amount
    claimable_assets: Amount


class AccountFigures(Schema):
    address: Address
    shares: Amount = Field(description="Shares in the wallet.")
    pending_shares: Amount
    position_shares: Amount = Field(description="Wallet + pending shares: what bears the vault's P&L.")
    pool_share: DecimalStr = Field(description="position / supply.")
    position_value: Amount = Field(description="convertToAssets(position) at the indexed block.")
    equity: Amount = Field(description="position value + claimable assets.")
    redemption: Redemption
    deposited_assets: Amount
    claimed_assets: Amount
    net_deposits: Amount = Field(description="Assets deposited minus assets claimed.")
    cost_basis: Amount = Field(description="Average-cost basis of the position.")
    realised_pnl: Amount
    unrealised_pnl: Amount
    total_pnl: Amount
    fees_borne: Amount = Field(description="The investor's share of every fee mint's dilution.")
    shares_received: Amount
    shares_sent: Amount
    first_block: int | None = Field(description="When the position first became non-zero (joined).")


class Ticket(Schema):
    trade_id: int
    kind: str
    block_number: int
    timestamp: int | None
    tx_hash: TxHash
    token_in: TokenOut
    token_out: TokenOut
    position_shares: Amount = Field(description="The investor's position when the trade ran.")
    supply: Amount
    pool_share: DecimalStr
    amount_in: Amount = Field(description="The investor's slice of the trade's input.")
    amount_out: Amount
    execution_price: DecimalStr | None = Field(description="The trade's price: the same for every slice.")
    trade_amount_in: Amount
    trade_amount_out: Amount
    strategy: StrategyLink | None = Field(None, description="The strategy trade the vault's trade was a follower "
                                                            "fill of (None: the vault's own signal or a sale).")


class MamView(Valuation, AccountFigures):
    vault: Address
    asset: TokenOut
    tickets: Page[Ticket] = Field(description="Allocation tickets of every trade since the investor joined.")


class VaultPosition(AccountFigures):
    vault: Address
    vault_name: str
    asset: TokenOut
    price_source: str
    price_per_share: Amount


class InvestorOut(Schema):
    address: Address
    block_number: int
    block_hash: TxHash | None
    vaults: list[VaultPosition]
