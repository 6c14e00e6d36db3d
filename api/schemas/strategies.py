"""Strategies (MAM): a manager's strategy, the vaults that follow it, and its master trades with
every follower's fill at the one block price, or the reason it was left out."""

from __future__ import annotations

from pydantic import Field

from api.schemas.common import Address, Amount, DecimalStr, Schema, TokenOut, TxHash


class FollowRuleOut(Schema):
    kind: str = Field(description="equity, multiplier or fixed_lot (FollowRule.kind 0, 1, 2).")
    multiplier_bps: int = Field(description="multiplier: the factor in bps (5000 = 0.5x); otherwise 0.")
    fixed_lot: Amount = Field(description="fixed_lot: input-token units per master lot; otherwise 0.")
    min_lot: Amount = Field(description="Fills are whole multiples of this many input-token units.")
    tolerance_bps: int = Field(description="Largest adverse deviation of a fill from the master's reference "
                                           "price, bps; 0: no filter.")
    words: str = Field(description="The rule in words.")


class FollowerOut(Schema):
    vault: Address
    vault_name: str | None = Field(description="The vault's name (None: not a vault of the indexed factory).")
    rule: FollowRuleOut
    since_block: int = Field(description="The block whose StrategyFollowed started this follow.")
    since_timestamp: int | None
    until_block: int | None = Field(description="When it stopped following (unfollowed or followed another "
                                                "strategy); None: still following.")
    until_timestamp: int | None


class StrategySummary(Schema):
    id: int
    name: str
    owner: Address
    manager: Address
    followers: int = Field(description="Vaults following it now.")
    master_trades: int = Field(description="Master signals executed (for at least one follower or chunk).")
    created_block: int
    created_timestamp: int | None


class StrategyOut(StrategySummary):
    manager_since_block: int = Field(description="The block since which the manager is the manager.")
    manager_since_timestamp: int | None
    created_tx: TxHash
    current_followers: list[FollowerOut]
    former_followers: list[FollowerOut]
    block_number: int = Field(description="The last indexed block: every figure is as of this block.")


class FillOut(Schema):
    vault: Address
    vault_name: str | None
    allocated: Amount = Field(description="What the follower's rule allocated (StrategyAllocated.amountIn).")
    residual: Amount = Field(description="Rounding carried to its next trade of token_in (scaled units).")
    capped: Amount = Field(description="What its caps removed (scaled units).")
    amount_in: Amount | None = Field(description="What it sold in the block trade (None: it rounded to no lot).")
    amount_out: Amount | None
    price: DecimalStr | None = Field(description="amount_out / amount_in in whole tokens.")
    vs_ref_bps: DecimalStr | None = Field(description="(price - master's refPrice) / refPrice in bps; "
                                                      "negative: worse than the master's reference.")
    vs_block_bps: DecimalStr | None = Field(description="(price - block price) / block price in bps: rounding only.")
    trade_id: int | None = Field(description="The vault's own trade number (GET /vaults/{vault}/trades/{id}).")


class SkipOut(Schema):
    vault: Address
    vault_name: str | None
    error: str = Field(description="The follower's revert, by name (CohortPaused, CohortFillBelowTolerance...).")
    reason: str = Field(description="The revert in words.")
    data: str = Field(description="The raw revert data, 0x-hex.")


class ExecutionOut(Schema):
    block_number: int
    log_index: int
    timestamp: int | None
    tx_hash: TxHash
    keeper: Address
    total_in: Amount
    total_out: Amount
    block_price: DecimalStr | None = Field(description="total_out / total_in in whole tokens: the one price "
                                                       "every follower of this execution got.")
    floor_price: DecimalStr = Field(description="The keeper's floor, in whole tokens.")
    filled: int
    skipped: int
    fills: list[FillOut]
    skips: list[SkipOut]


class MasterTradeOut(Schema):
    strategy_id: int
    nonce: Amount = Field(description="The master signal's nonce within the strategy.")
    digest: TxHash = Field(description="The EIP-712 digest the manager signed; the followers' TradeExecuted "
                                       "carry it.")
    token_in: TokenOut
    token_out: TokenOut
    limit_price: DecimalStr | None = Field(description="The master's minimum price, whole tokenOut per whole "
                                                       "tokenIn (None: the call's calldata was not readable).")
    ref_price: DecimalStr | None = Field(description="The master's reference price (same unit).")
    size_mode: int | None
    size_bps: int | None
    lots: Amount | None = Field(description="The master's trade in lots, 18 decimals (for fixed-lot followers).")
    total_in: Amount = Field(description="Sold by all followers, over every execution.")
    total_out: Amount
    first_block: int
    executions: list[ExecutionOut]


class StrategyLink(Schema):
    """Which strategy trade a vault trade (or an investor's ticket of it) was a follower fill of."""

    strategy_id: int
    nonce: Amount
    digest: TxHash
