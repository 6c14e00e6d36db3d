"""Calls and events of a Cohort vault, encoded straight from the shared ABI (`vault_abi()`).

web3.py's contract objects validate every argument on every call (2-4 ms for `executeSignal`);
the keeper's hot path encodes with eth_abi from the same ABI entries instead (0.1 ms). Nothing
here copies an ABI: selectors, types and topics all come from `cohort.onchain.vault_abi()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, cast

import eth_abi
from eth_utils import (
    event_abi_to_log_topic,
    to_checksum_address,
)

from cohort.abi import AbiFunction, canonical_type, functions
from cohort.artifacts import project_artifact
from cohort.onchain import vault_abi
from keeper.policy import Execution

ERC1271_MAGIC = bytes.fromhex("1626ba7e")  # isValidSignature(bytes32,bytes)


@dataclass(frozen=True)
class TradeExecutedEvent:
    topic: str
    indexed: tuple[str, ...]  # the indexed arguments' names: topic i + 1 is indexed[i]

    def position(self, argument: str) -> int:
        """Where the indexed `argument` sits in a log's topics."""
        return 1 + self.indexed.index(argument)

    def topics_of(self, digest: str) -> list[str | None]:
        """An eth_getLogs topic filter for the execution of the signal with `digest`."""
        topics: list[str | None] = [self.topic, *([None] * len(self.indexed))]
        topics[self.position("digest")] = digest
        return topics[: self.position("digest") + 1]

    def decode(self, log: dict[str, Any]) -> Execution:
        keeper = "0x" + str(log["topics"][self.position("keeper")])[-40:]
        return Execution(tx_hash=str(log["transactionHash"]), block_number=int(log["blockNumber"], 16),
                         keeper=to_checksum_address(keeper))


class VaultAbi:
    """Encoders for every vault function (CohortVault + admin module) and TradeExecuted."""

    def __init__(self, abi: list[dict[str, Any]]) -> None:
        self.functions = functions(abi)
        self.topics = {i["name"]: "0x" + event_abi_to_log_topic(cast(Any, i)).hex()
                       for i in abi if i.get("type") == "event"}
        event = next(i for i in abi if i.get("type") == "event" and i["name"] == "TradeExecuted")
        self.trade_executed = TradeExecutedEvent(
            topic=self.topics["TradeExecuted"],
            indexed=tuple(i["name"] for i in event["inputs"] if i["indexed"]))

    def __getitem__(self, name: str) -> AbiFunction:
        return self.functions[name]

    def encode(self, name: str, *args: Any) -> str:
        return self.functions[name].encode(*args)

    def execution_in_receipt(self, receipt: dict[str, Any], vault: str, digest: str) -> Execution | None:
        """The TradeExecuted of `digest` emitted by `vault` in a receipt, if any."""
        for log in receipt.get("logs", []):
            topics = log.get("topics", [])
            event = self.trade_executed
            if (str(log.get("address", "")).lower() == vault.lower() and len(topics) == 1 + len(event.indexed)
                    and topics[0] == event.topic and topics[event.position("digest")].lower() == digest.lower()):
                return event.decode(log)
        return None


@dataclass(frozen=True)
class EventAbi:
    """One event of an ABI, decoded by its argument names (indexed value types from the topics)."""

    name: str
    topic: str
    indexed: tuple[tuple[str, str], ...]  # (name, type) of the indexed arguments, in topic order
    data: tuple[tuple[str, str], ...]  # (name, type) of the others

    @classmethod
    def from_abi(cls, item: dict[str, Any]) -> EventAbi:
        return cls(name=item["name"], topic="0x" + event_abi_to_log_topic(cast(Any, item)).hex(),
                   indexed=tuple((i["name"], canonical_type(i)) for i in item["inputs"] if i["indexed"]),
                   data=tuple((i["name"], canonical_type(i)) for i in item["inputs"] if not i["indexed"]))

    def matches(self, log: dict[str, Any]) -> bool:
        topics = log.get("topics", [])
        return len(topics) == 1 + len(self.indexed) and str(topics[0]).lower() == self.topic

    def decode(self, log: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for (name, typ), topic in zip(self.indexed, log["topics"][1:], strict=True):
            value = eth_abi.decode([typ], bytes.fromhex(str(topic)[2:]))[0]
            out[name] = to_checksum_address(value) if typ == "address" else value
        values = eth_abi.decode([t for _n, t in self.data], bytes.fromhex(str(log["data"])[2:]))
        for (name, typ), value in zip(self.data, values, strict=True):
            out[name] = to_checksum_address(value) if typ == "address" else value
        return out


class StrategiesAbi:
    """Encoders for CohortStrategies' functions and decoders for the events a master's chunk emits
    (its own, and the follower vaults' TradeExecuted)."""

    def __init__(self, abi: list[dict[str, Any]], vault: list[dict[str, Any]]) -> None:
        self.functions = functions(abi)
        events = [i for i in (*abi, *vault) if i.get("type") == "event"]
        self.events = {i["name"]: EventAbi.from_abi(i) for i in events}

    def __getitem__(self, name: str) -> AbiFunction:
        return self.functions[name]

    def encode(self, name: str, *args: Any) -> str:
        return self.functions[name].encode(*args)

    def decode_input(self, name: str, data: str) -> tuple[Any, ...]:
        """The arguments of calldata `data` for function `name`."""
        fn = self.functions[name]
        raw = bytes.fromhex(data.removeprefix("0x"))
        if raw[:4] != fn.selector:
            raise ValueError(f"calldata is not {name}")
        return tuple(eth_abi.decode(list(fn.inputs), raw[4:]))

    def logs(self, receipt: dict[str, Any], name: str, address: str | None = None) -> list[dict[str, Any]]:
        """The decoded `name` events of a receipt (of `address` only, when given), each with its `address`."""
        event = self.events[name]
        out = []
        for log in receipt.get("logs", []):
            if event.matches(log) and (address is None or str(log.get("address", "")).lower() == address.lower()):
                out.append({**event.decode(log), "address": to_checksum_address(str(log["address"]))})
        return out


@cache
def strategies_calls() -> StrategiesAbi:
    return StrategiesAbi(project_artifact("CohortStrategies").abi, vault_abi())


@cache
def vault_calls() -> VaultAbi:
    return VaultAbi(vault_abi())


def encode_is_valid_signature(digest: bytes, signature: bytes) -> str:
    """ERC-1271 `isValidSignature(bytes32,bytes)` calldata (the standard's fixed selector)."""
    return "0x" + (ERC1271_MAGIC + eth_abi.encode(["bytes32", "bytes"], [digest, signature])).hex()
