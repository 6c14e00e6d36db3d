"""Shapes shared by every resource."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
HASH_PATTERN = r"^0x[0-9a-fA-F]{64}$"

Amount = Annotated[str, Field(pattern=r"^-?[0-9]+$", description="An integer in the token's smallest unit "
                              "(asset units, share units or a scaled number), as a decimal string.",
                              examples=["1000000"])]
DecimalStr = Annotated[str, Field(pattern=r"^-?[0-9]+(\.[0-9]+)?$", description="A decimal number, as a string.",
                                  examples=["0.25"])]
Address = Annotated[str, Field(pattern=ADDRESS_PATTERN, description="An EIP-55 address.")]
TxHash = Annotated[str, Field(pattern=HASH_PATTERN)]

T = TypeVar("T")


class Schema(BaseModel):
    model_config = ConfigDict(frozen=True)


class Page(Schema, Generic[T]):
    items: list[T]
    total: int = Field(description="How many items match, across all pages.")
    limit: int
    offset: int


class ErrorResponse(Schema):
    detail: Any = Field(description="What is wrong: a message, or a list of field errors.")
    code: str = Field(description="not_found, invalid_input, ...")
    indexed_block: int | None = Field(None, description="For an answer about the indexed books (\"never held "
                                      "shares\"): the last indexed block it is true as of; a later block may "
                                      "differ while the indexer catches up.")


class TokenOut(Schema):
    address: Address
    symbol: str
    decimals: int


class Valuation(Schema):
    """Where the numbers that depend on the price come from."""

    block_number: int = Field(description="The last indexed block: every figure is as of this block.")
    block_hash: TxHash | None
    price_source: str = Field(description="chain: the vault's views at block_hash; events: the last accrual "
                                          "or settlement event (the node could not be read).")
    price_per_share: Amount = Field(description="1e18 = one asset unit per share unit, net of pending fees.")


ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "Unknown vault, investor or item."},
    422: {"model": ErrorResponse, "description": "Malformed input (address, pagination, filters)."},
}
