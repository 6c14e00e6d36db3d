"""Trades: the signal's limit price, the oracle's price and the execution price."""

from __future__ import annotations

from pydantic import Field

from api.schemas.common import Address, Amount, DecimalStr, Schema, TokenOut, TxHash
from api.schemas.strategies import StrategyLink


class TradeOut(Schema):
    id: int = Field(description="The trade's number within its vault (1, 2, ...).")
    kind: str = Field(description="signal (TradeExecuted), unwind or derisk (LiquiditySold).")
    block_number: int
    log_index: int
    timestamp: int | None
    tx_hash: TxHash
    keeper: Address | None
    digest: TxHash | None
    nonce: Amount | None
    token_in: TokenOut
    token_out: TokenOut
    amount_in: Amount
    amount_out: Amount
    oracle_amount_out: Amount
    limit_price: DecimalStr | None = Field(description="Signed limit: whole tokenOut per whole tokenIn.")
    oracle_price: DecimalStr | None = Field(description="The oracle's TWAP price for the same trade.")
    execution_price: DecimalStr | None = Field(description="amount_out / amount_in in whole tokens.")
    slippage_bps: DecimalStr | None = Field(description="(oracle - execution) / oracle in bps; negative: better.")
    limit_margin_bps: DecimalStr | None = Field(description="(execution - limit) / limit in bps.")
    loss: Amount | None = Field(description="Value lost against the oracle, in the base asset.")
    supply: Amount = Field(description="Shares in supply when the trade ran.")
    strategy: StrategyLink | None = Field(None, description="The strategy trade this was a follower fill of "
                                                            "(None: the vault's own signal or a sale).")
