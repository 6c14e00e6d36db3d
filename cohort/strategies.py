"""MAM strategies: the EIP-712 `MasterSignal`, follow rules, signing and JSON.

The struct has one definition: `contracts/interfaces/ICohortStrategies.sol`. The EIP-712 type
(field names and types, in order) is derived from the compiled ABI of
`CohortStrategies.executeMaster`; a test checks the type hash and digests against the contract.

JSON form of a signed master signal (integers that may exceed 2**53 are strings)::

    {"strategies": "0x..", "chainId": 31337, "digest": "0x..", "signature": "0x..",
     "master": {"strategyId": 1, "tokenIn": "0x..", ..., "nonce": "7", "deadline": 1767225600}}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from enum import IntEnum
from functools import cache
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import Hash32
from eth_utils import to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.types import TxReceipt

from cohort import units
from cohort.artifacts import project_artifact
from cohort.errors import ContractRevert, SignalError
from cohort.signals import (
    DOMAIN_TYPE,
    WAD,
    Domain,
    envelope_from_json,
    envelope_to_json,
    json_address,
    json_bytes,
    json_uint,
    message_json,
    nonce_words,
    recover_digest,
    typed_digest,
)
from cohort.tx import call, receipt_events, transact
from cohort.vault import Vault

SIMULATION_FLOOR = 2**128  # a floor price no pool meets (see Strategies.simulate)
STRATEGIES_DOMAIN_NAME = "CohortStrategies"


class RuleKind(IntEnum):
    """`FollowRule.kind` (Allocation.EQUITY, MULTIPLIER, FIXED_LOT)."""

    EQUITY = 0  # the master's fraction of the follower's holdings or NAV
    MULTIPLIER = 1  # that fraction times multiplierBps / 10_000
    FIXED_LOT = 2  # fixedLot input units per master lot


@cache
def master_fields() -> tuple[tuple[str, str], ...]:
    """(name, type) of every MasterSignal field, in order, from the compiled ABI."""
    for item in project_artifact("CohortStrategies").abi:
        if item.get("type") == "function" and item.get("name") == "executeMaster":
            return tuple((c["name"], c["type"]) for c in item["inputs"][0]["components"])
    raise SignalError("executeMaster is not in CohortStrategies' ABI: run `make setup`")


def type_string() -> str:
    return "MasterSignal(" + ",".join(f"{t} {n}" for n, t in master_fields()) + ")"


# snake_case attribute -> camelCase Solidity name, in struct order
_NAMES = {"strategy_id": "strategyId", "token_in": "tokenIn", "token_out": "tokenOut", "size_mode": "sizeMode",
          "size_bps": "sizeBps", "lots": "lots", "limit_price": "limitPrice", "ref_price": "refPrice",
          "max_slippage_bps": "maxSlippageBps", "adapter": "adapter", "path": "path", "nonce": "nonce",
          "deadline": "deadline"}
_ATTRS = {name: attr for attr, name in _NAMES.items()}
_ADDRESSES = ("token_in", "token_out", "adapter")


@dataclass(frozen=True)
class MasterSignal:
    strategy_id: int
    token_in: str
    token_out: str
    size_mode: int  # SizeMode: what size_bps is a fraction of (EQUITY and MULTIPLIER followers)
    size_bps: int
    lots: int  # the master's lots, 18 decimals (FIXED_LOT followers)
    limit_price: int  # whole tokenOut per whole tokenIn, 18 decimals: no follower fills below it
    ref_price: int  # the master's reference price (same unit), for followers' tolerance
    max_slippage_bps: int
    adapter: str
    path: bytes
    nonce: int
    deadline: int

    def __post_init__(self) -> None:
        for name, typ in master_fields():
            attr = _ATTRS[name]
            value = getattr(self, attr)
            if typ.startswith("uint") and not 0 <= value < 2 ** int(typ[4:]):
                raise SignalError(f"{name} out of range for {typ}: {value}")

    def message(self) -> dict[str, Any]:
        """Values keyed by the Solidity field names (camelCase), in struct order."""
        out: dict[str, Any] = {}
        for name, _typ in master_fields():
            attr = _ATTRS[name]
            value = getattr(self, attr)
            out[name] = to_checksum_address(value) if attr in _ADDRESSES else bytes(value) if attr == "path" else value
        return out

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple for `executeMaster`."""
        return tuple(self.message().values())

    def to_json_dict(self) -> dict[str, Any]:
        return message_json(self.message(), master_fields())

    @classmethod
    def from_json_dict(cls, data: Any) -> MasterSignal:
        if not isinstance(data, dict):
            raise SignalError("master must be a JSON object")
        values: dict[str, Any] = {}
        try:
            for attr, name in _NAMES.items():
                raw = data[name]
                if attr in _ADDRESSES:
                    values[attr] = json_address(raw, name)
                elif attr == "path":
                    values[attr] = json_bytes(raw, name)
                else:
                    values[attr] = json_uint(raw, name)
        except KeyError as exc:
            raise SignalError(f"master is missing field {exc.args[0]!r}") from None
        return cls(**values)


@dataclass(frozen=True)
class FollowRule:
    """A follower vault's allocation rule (ICohortStrategies.FollowRule)."""

    kind: int = RuleKind.EQUITY
    multiplier_bps: int = 0  # MULTIPLIER: 5_000 is 0.5x, 15_000 is 1.5x
    fixed_lot: int = 0  # FIXED_LOT: input-token base units per master lot
    min_lot: int = 1  # fills are whole multiples of this many input-token base units
    tolerance_bps: int = 0  # largest adverse deviation of the fill from the master's refPrice; 0: none

    def as_tuple(self) -> tuple[int, int, int, int, int]:
        return (self.kind, self.multiplier_bps, self.fixed_lot, self.min_lot, self.tolerance_bps)

    @classmethod
    def from_tuple(cls, raw: Any) -> FollowRule:
        return cls(*(int(x) for x in raw))

    def describe(self, decimals: int | None = None, symbol: str = "") -> str:
        """The rule in words; lots in whole tokens of `decimals` and `symbol` when given (the
        input token's), else in base units."""
        def lot(amount: int) -> str:
            if decimals is None:
                return f"{amount} base units"
            return f"{units.to_decimal(amount, decimals).normalize():,f} {symbol}".rstrip()

        kind = RuleKind(self.kind)
        what = {RuleKind.EQUITY: "equity-proportional (1x)",
                RuleKind.MULTIPLIER: f"multiplier {self.multiplier_bps / 10_000:g}x",
                RuleKind.FIXED_LOT: f"fixed lot of {lot(self.fixed_lot)} per master lot"}[kind]
        tolerance = f", price tolerance {self.tolerance_bps / 100:g}%" if self.tolerance_bps else ""
        return f"{what}, minimum lot {lot(self.min_lot)}{tolerance}"


assert [f.name for f in fields(MasterSignal)] == list(_NAMES)


def domain(chain_id: int, strategies: str) -> Domain:
    """The EIP-712 domain of the protocol's CohortStrategies contract."""
    return Domain(STRATEGIES_DOMAIN_NAME, "1", chain_id, to_checksum_address(strategies))


def typed_data(master: MasterSignal, dom: Domain) -> dict[str, Any]:
    """What a wallet signs with eth_signTypedData_v4."""
    return {
        "types": {"EIP712Domain": DOMAIN_TYPE, "MasterSignal": [{"name": n, "type": t} for n, t in master_fields()]},
        "primaryType": "MasterSignal",
        "domain": dom.as_dict(),
        "message": master.message(),
    }


def digest(master: MasterSignal, dom: Domain) -> bytes:
    """The EIP-712 digest the strategy's manager signs (equal to `masterDigest`)."""
    return typed_digest(typed_data(master, dom))


@dataclass(frozen=True)
class SignedMaster:
    strategies: str
    chain_id: int
    master: MasterSignal
    signature: bytes
    digest: bytes

    def to_json_dict(self) -> dict[str, Any]:
        return envelope_to_json("strategies", self.strategies, self.chain_id, self.digest, self.signature,
                                "master", self.master.to_json_dict())

    def to_json(self) -> str:
        return json.dumps(self.to_json_dict(), indent=2)

    @classmethod
    def from_json_dict(cls, data: Any) -> SignedMaster:
        return cls(*envelope_from_json(data, "signed master signal", "strategies", "master",
                                       MasterSignal.from_json_dict))


def sign(master: MasterSignal, dom: Domain, account: LocalAccount) -> SignedMaster:
    d = digest(master, dom)
    signed = account.unsafe_sign_hash(Hash32(d))
    return SignedMaster(dom.verifying_contract, dom.chain_id, master, bytes(signed.signature), d)


def recover(signed: SignedMaster, dom: Domain) -> str:
    """The address that signed (rejects malleable signatures)."""
    return recover_digest(digest(signed.master, dom), signed.signature)


def verify(signed: SignedMaster, dom: Domain, manager: str) -> bytes:
    """Check the signature offline against the strategy's `manager` (an EOA) and the claimed digest."""
    d = digest(signed.master, dom)
    if signed.digest and signed.digest != d:
        raise SignalError("the digest does not match the master signal and the strategies contract's domain")
    if recover_digest(d, signed.signature).lower() != manager.lower():
        raise SignalError("the signature is not the strategy manager's")
    return d


def fill_price_wad(amount_in: int, amount_out: int) -> int:
    """A raw fill price (tokenOut base units per tokenIn base unit, 18 decimals): the unit of
    executeMaster's floorPrice."""
    return amount_out * WAD // amount_in


class Strategies:
    """The protocol's CohortStrategies contract on one chain."""

    def __init__(self, w3: Web3, address: str) -> None:
        self.w3 = w3
        self.address = Web3.to_checksum_address(address)
        self.contract: Contract = w3.eth.contract(address=self.address, abi=project_artifact("CohortStrategies").abi)
        self.fn = self.contract.functions

    def domain(self) -> Domain:
        return domain(self.w3.eth.chain_id, self.address)

    def events(self, receipt: TxReceipt, name: str) -> list[dict[str, Any]]:
        """This contract's `name` events in `receipt`."""
        return receipt_events(self.contract, receipt, name)

    def create(self, manager: str, name: str, sender: str) -> int:
        """Creates a strategy traded by `manager`, owned by `sender`; returns its id."""
        receipt = transact(self.fn.createStrategy(to_checksum_address(manager), name), sender)
        return int(self.events(receipt, "StrategyCreated")[0]["strategyId"])

    def strategy_of(self, strategy_id: int) -> tuple[str, str]:
        """(owner, manager); zero addresses when there is no such strategy."""
        owner, manager = call(self.fn.strategyOf(strategy_id))
        return str(owner), str(manager)

    def count(self) -> int:
        return int(call(self.fn.strategyCount()))

    def share_filled(self, strategy_id: int, follower: str, nonce: int) -> bool:
        return bool(call(self.fn.shareFilled(strategy_id, to_checksum_address(follower), nonce)))

    def cancel(self, strategy_id: int, nonces: Iterable[int], sender: str) -> list[tuple[list[int], TxReceipt]]:
        """The manager cancels master nonces on-chain, one transaction per 256-nonce word; returns
        each transaction's nonces with its receipt."""
        return [(members, transact(self.fn.cancelMasters(strategy_id, word, mask), sender))
                for word, (members, mask) in nonce_words(nonces).items()]

    def master_cancelled(self, strategy_id: int, nonce: int) -> bool:
        return bool(call(self.fn.masterCancelled(strategy_id, nonce)))

    def master_digest(self, master: MasterSignal) -> bytes:
        return bytes(call(self.fn.masterDigest(master.as_tuple())))

    def simulate(self, signed: SignedMaster, followers: Sequence[str], sender: str,
                 block: Any = "pending") -> tuple[int, int]:
        """(totalIn, totalOut) of the block trade as it would be now, for every follower whose own
        checks pass but the floor: what a keeper bases its floor price on. An eth_call with a floor
        no pool meets reverts StrategyBelowFloor with the trade in it; (0, 0) when none would fill."""
        fn = self.fn.executeMaster(signed.master.as_tuple(), signed.signature,
                                   [to_checksum_address(f) for f in followers], SIMULATION_FLOOR)
        try:
            total_in, total_out = call(fn, sender=sender, block=block)
        except ContractRevert as exc:
            trade = simulated_trade(exc)
            if trade is None:
                raise
            return trade
        return int(total_in), int(total_out)

    def execute_at_market(self, signed: SignedMaster, followers: Sequence[str], sender: str,
                          slippage_bps: int) -> tuple[TxReceipt, int]:
        """Simulate, then execute with the floor `slippage_bps` under the simulated price, as a
        keeper does; the receipt and the floor price used."""
        floor = floor_price(*self.simulate(signed, followers, sender), slippage_bps)
        return self.execute(signed, followers, floor, sender), floor

    def execute(self, signed: SignedMaster, followers: Sequence[str], floor_price: int, sender: str,
                gas: int | None = None) -> TxReceipt:
        fn = self.fn.executeMaster(signed.master.as_tuple(), signed.signature,
                                   [to_checksum_address(f) for f in followers], floor_price)
        return transact(fn, sender, gas=gas)


def simulated_trade(revert: ContractRevert) -> tuple[int, int] | None:
    """(totalIn, totalOut) from the StrategyBelowFloor revert of a simulation at SIMULATION_FLOOR;
    None for any other revert."""
    if revert.name != "StrategyBelowFloor" or len(revert.error_args) < 2:
        return None
    total_in, total_out = revert.error_args[0], revert.error_args[1]
    return int(str(total_in)), int(str(total_out))


def floor_price(total_in: int, total_out: int, slippage_bps: int) -> int:
    """The floor price for executeMaster: the simulated fill price less `slippage_bps` (what the
    pool may move between the simulation and the block)."""
    if total_in == 0:
        return 1
    return max(1, fill_price_wad(total_in, total_out) * (10_000 - slippage_bps) // 10_000)


# ------------------------------------------------------------------------------------ followers
@dataclass(frozen=True)
class FollowChange:
    """What `follow` did: applied the rule, or queued it behind the vault's timelock until `valid_at`."""

    applied: bool
    valid_at: int | None
    receipt: TxReceipt


def follow(vault: Vault, strategy_id: int, rule: FollowRule, sender: str) -> FollowChange:
    """`followStrategy` (the vault's owner). Behind the vault's timelock the first call queues the
    change (ChangeSubmitted: `applied` False, `valid_at` set) and the same call after `valid_at`
    applies it; a vault without a timelock applies it at once."""
    receipt = transact(vault.fn.followStrategy(strategy_id, rule.as_tuple()), sender)
    queued = vault.events(receipt, "ChangeSubmitted")
    return FollowChange(not queued, int(queued[0]["validAt"]) if queued else None, receipt)


def unfollow(vault: Vault, sender: str) -> TxReceipt:
    """`unfollowStrategy` (owner or guardian; at once)."""
    return transact(vault.fn.unfollowStrategy(), sender)


def follow_state(vault: Vault) -> tuple[int, FollowRule]:
    """The strategy a vault follows (0: none) and its rule."""
    strategy_id, rule = call(vault.fn.followState())
    return int(strategy_id), FollowRule.from_tuple(rule)


def followers(vaults: Iterable[Vault], strategy_id: int, keeper: str | None = None) -> list[str]:
    """The vaults among `vaults` that follow `strategy_id` (and allow `keeper`, when given), in order."""
    out: list[str] = []
    for vault in vaults:
        if follow_state(vault)[0] == strategy_id and (keeper is None or bool(call(vault.fn.isKeeper(keeper)))):
            out.append(vault.address)
    return out
