"""The vault's on-chain facts, typed once for the SDK, the keeper, the API and the scripts.

- `vault_abi()`: CohortVault's ABI merged with its admin module's, the one ABI every decoder uses.
- `SizeMode` and `SaleReason`: the vault's `uint8` codes (SignalLib.SIZE_OF_*, Swaps.REASON_*).
- Read-outs (`RedemptionStatus`, `Marks`, `FeeState`, ...): what a view returns, decoded by the
  ABI's output names (a struct's component names when it returns one struct), so `assetsNeeded`
  becomes `assets_needed` wherever it sits in the answer.

tests/test_onchain.py checks every code against the Solidity source and every read-out's
fields, in order, against the ABI: a renamed, added or reordered output fails there first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from functools import cache
from typing import Any, ClassVar, Self, cast

from eth_utils import to_checksum_address

from cohort.artifacts import project_artifact


@cache
def vault_abi() -> list[dict[str, Any]]:
    """CohortVault's ABI merged with the admin and follower modules' (deduplicated by signature)."""
    merged: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str]] = set()
    for name in ("CohortVault", "CohortVaultAdmin", "CohortVaultFollower"):
        for item in project_artifact(name).abi:
            if item.get("type") in ("constructor", "fallback", "receive") and name != "CohortVault":
                continue
            key = (item.get("type", ""), item.get("name", ""),
                   ",".join(i["type"] for i in item.get("inputs", [])))
            if key not in seen:
                seen.add(key)
                merged.append(item)
    return merged


# ------------------------------------------------------------------------------------ codes
class SizeMode(IntEnum):
    """`TradeSignal.sizeMode`: what `sizeBps` is a fraction of (SignalLib.SIZE_OF_*)."""

    HOLDINGS = 0  # the vault's holdings of tokenIn
    NAV = 1  # the vault's NAV, valued in tokenIn


class SaleReason(IntEnum):
    """`LiquiditySold.reason`: why the vault sold an asset for its base asset (Swaps.REASON_*)."""

    UNWIND = 0  # to pay a redemption epoch
    DERISK = 1  # while risk-off

    @property
    def kind(self) -> str:
        """The trade kind the API books the sale as ("unwind", "derisk")."""
        return self.name.lower()


# ------------------------------------------------------------------------------------ read-outs
def snake_case(name: str) -> str:
    """An ABI name as a Python field: `assetsNeeded` -> `assets_needed`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@cache
def _view(view: str) -> tuple[tuple[dict[str, Any], ...], bool]:
    for item in vault_abi():
        if item.get("type") == "function" and item["name"] == view:
            outputs = item.get("outputs", [])
            if len(outputs) == 1 and outputs[0]["type"] == "tuple":
                return tuple(outputs[0]["components"]), True
            return tuple(outputs), False
    raise KeyError(f"the vault has no view {view}")


def view_outputs(view: str) -> tuple[dict[str, Any], ...]:
    """The ABI outputs of `view`, or the components of the one struct it returns."""
    return _view(view)[0]


def _value(param: dict[str, Any], value: Any) -> Any:
    typ = str(param["type"])
    if typ.endswith("]"):
        item = {**param, "type": typ[: typ.rindex("[")]}
        return tuple(_value(item, v) for v in value)
    if typ == "address":
        return to_checksum_address(value)
    if typ.startswith(("uint", "int")):
        return int(value)
    if typ == "bool":
        return bool(value)
    if typ.startswith("bytes"):
        return bytes(value)
    return value  # strings, nested structs (as tuples)


class ReadOut:
    """A view's answer as a frozen dataclass whose fields are the ABI's names in snake case."""

    VIEW: ClassVar[str]

    @classmethod
    def decode(cls, outputs: Sequence[Any]) -> Self:
        """From the view's outputs as eth_abi decodes them, one item per ABI output
        (`cohort.abi.AbiFunction.decode`)."""
        params, struct = _view(cls.VIEW)
        values = outputs[0] if struct else outputs
        fields = {snake_case(p["name"]): _value(p, v) for p, v in zip(params, values, strict=True)}
        return cast(Any, cls)(**fields)

    @classmethod
    def from_call(cls, result: Any) -> Self:
        """From a web3 contract call (`cohort.tx.call`), which unwraps a single output."""
        params, struct = _view(cls.VIEW)
        return cls.decode((result,) if struct or len(params) == 1 else tuple(result))


@dataclass(frozen=True)
class RedemptionStatus(ReadOut):
    """Whether a redemption epoch can settle now, and what it needs of the base asset."""

    VIEW: ClassVar[str] = "redemptionStatus"
    due: bool
    epoch: int
    assets_needed: int
    base_available: int
    matures_at: int


@dataclass(frozen=True)
class Marks(ReadOut):
    """The performance fee's high-water mark and the drawdown breaker's reference (prices per share)."""

    VIEW: ClassVar[str] = "marks"
    high_water_mark: int
    drawdown_reference: int


@dataclass(frozen=True)
class FeeState(ReadOut):
    VIEW: ClassVar[str] = "feeState"
    recipient: str
    management_fee_bps: int
    performance_fee_bps: int
    last_accrual: int


@dataclass(frozen=True)
class RiskState(ReadOut):
    VIEW: ClassVar[str] = "riskState"
    limits: tuple[Any, ...]  # RiskLimits, in the ABI's component order
    paused: bool
    risk_off: bool


@dataclass(frozen=True)
class PendingFeeShares(ReadOut):
    """Fee shares that an accrual now would mint."""

    VIEW: ClassVar[str] = "pendingFeeShares"
    management_shares: int
    performance_shares: int


@dataclass(frozen=True)
class RedeemRequest(ReadOut):
    """A controller's redemption request: its epoch, shares requested, still pending, and claimable."""

    VIEW: ClassVar[str] = "redeemRequestOf"
    epoch: int
    requested: int
    pending: int
    claimable_shares: int
    claimable_assets: int


@dataclass(frozen=True)
class EpochState(ReadOut):
    VIEW: ClassVar[str] = "epochState"
    units: int
    escrow: int
    remaining_ray: int
    next: int
    assets_per_unit_ray: int


@dataclass(frozen=True)
class DepositLimits(ReadOut):
    VIEW: ClassVar[str] = "depositLimits"
    deposit_cap: int
    min_deposit: int


@dataclass(frozen=True)
class QueueState(ReadOut):
    """The redemption queue's ends and the parameters it runs by."""

    VIEW: ClassVar[str] = "queueState"
    head: int  # oldest epoch with unsettled requests (0: none)
    tail: int  # latest epoch that received a request
    notice_period: int
    gate_bps: int
    timelock: int


@dataclass(frozen=True)
class Eip712Domain(ReadOut):
    """ERC-5267 `eip712Domain()`: the domain a vault's signals are signed in."""

    VIEW: ClassVar[str] = "eip712Domain"
    fields: bytes
    name: str
    version: str
    chain_id: int
    verifying_contract: str
    salt: bytes
    extensions: tuple[int, ...]


READ_OUTS: tuple[type[ReadOut], ...] = (RedemptionStatus, Marks, FeeState, RiskState, PendingFeeShares,
                                         RedeemRequest, EpochState, DepositLimits, QueueState, Eip712Domain)
