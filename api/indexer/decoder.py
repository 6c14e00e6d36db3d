"""Raw logs (eth_getLogs JSON) into `LogEvent`s, with the project's own ABIs.

A vault's logs are decoded with `cohort.onchain.vault_abi()` (CohortVault + the admin module),
the factory's with VaultFactory's ABI. Decoding is done with eth_abi directly: web3's log
processing is an order of magnitude slower, and the indexer decodes every log it stores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from api.ledger.events import LogEvent
from cohort.abi import canonical_type
from cohort.artifacts import project_artifact
from cohort.onchain import vault_abi

Convert = Callable[[Any], Any]


@lru_cache(maxsize=200_000)
def checksum(address: str) -> str:
    return str(to_checksum_address(address))


def _converter(param: dict[str, Any]) -> Convert:
    """JSON-friendly values: EIP-55 addresses, 0x-hex bytes, dicts for tuples, lists for arrays."""
    typ = str(param["type"])
    if typ.endswith("]"):
        inner = _converter({**param, "type": typ[: typ.rindex("[")]})
        return lambda v: [inner(x) for x in v]
    if typ == "tuple":
        parts = [(c["name"], _converter(c)) for c in param["components"]]
        return lambda v: {name: conv(x) for (name, conv), x in zip(parts, v, strict=True)}
    if typ == "address":
        return lambda v: checksum(v)
    if typ.startswith("bytes"):
        return lambda v: "0x" + bytes(v).hex()
    if typ.startswith(("uint", "int")):
        return int
    if typ == "bool":
        return bool
    return lambda v: v


def _topic_converter(param: dict[str, Any]) -> Convert:
    typ = str(param["type"])
    if typ == "address":
        return lambda t: checksum("0x" + t[-40:])
    if typ.startswith("uint"):
        return lambda t: int(t, 16)
    if typ == "bool":
        return lambda t: int(t, 16) != 0
    if typ in ("string", "bytes") or typ.endswith("]") or typ.startswith("tuple"):
        return lambda t: t  # dynamic types are indexed by their hash
    abi_type = canonical_type(param)
    conv = _converter(param)
    return lambda t: conv(abi_decode([abi_type], bytes.fromhex(t[2:]))[0])


def _word_converter(typ: str) -> Convert | None:
    """How to read one 32-byte word of a static elementary type (None: not one)."""
    if typ == "address":
        return lambda w: checksum("0x" + w[12:].hex())
    if typ.startswith("uint"):
        return lambda w: int.from_bytes(w, "big")
    if typ.startswith("int"):
        return lambda w: int.from_bytes(w, "big", signed=True)
    if typ == "bool":
        return lambda w: w[-1] != 0
    if typ.startswith("bytes") and typ != "bytes":
        size = int(typ[5:])
        return lambda w: "0x" + w[:size].hex()
    return None


@dataclass(frozen=True)
class EventSpec:
    name: str
    topic0: str
    signature: str
    indexed: tuple[tuple[str, Convert], ...]
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]
    data_converters: tuple[Convert, ...]
    order: tuple[str, ...]  # argument names in ABI order
    words: tuple[Convert, ...] | None  # fast path: every data field is one static word


def event_spec(item: dict[str, Any]) -> EventSpec:
    inputs = item["inputs"]
    signature = f"{item['name']}(" + ",".join(canonical_type(i) for i in inputs) + ")"
    data = [i for i in inputs if not i.get("indexed")]
    words = [_word_converter(canonical_type(i)) for i in data]
    return EventSpec(
        name=item["name"], topic0="0x" + keccak(text=signature).hex(), signature=signature,
        indexed=tuple((i["name"], _topic_converter(i)) for i in inputs if i.get("indexed")),
        data_names=tuple(i["name"] for i in data), data_types=tuple(canonical_type(i) for i in data),
        data_converters=tuple(_converter(i) for i in data), order=tuple(i["name"] for i in inputs),
        words=None if any(w is None for w in words) else tuple(w for w in words if w is not None))


class EventDecoder:
    """Decodes the logs of the ABIs it was given; unknown topics decode to None."""

    def __init__(self, abis: Iterable[list[dict[str, Any]]]) -> None:
        self.specs: dict[str, EventSpec] = {}
        for abi in abis:
            for item in abi:
                if item.get("type") == "event" and not item.get("anonymous"):
                    spec = event_spec(item)
                    self.specs.setdefault(spec.topic0, spec)

    def topic(self, name: str) -> str:
        for spec in self.specs.values():
            if spec.name == name:
                return spec.topic0
        raise KeyError(name)

    def decode(self, raw: dict[str, Any]) -> LogEvent | None:
        topics = raw.get("topics") or []
        if not topics:
            return None
        spec = self.specs.get(str(topics[0]).lower())
        if spec is None or len(topics) != len(spec.indexed) + 1:
            return None
        args: dict[str, Any] = {}
        for (name, conv), topic in zip(spec.indexed, topics[1:], strict=True):
            args[name] = conv(str(topic).lower())
        if spec.data_types:
            data = bytes.fromhex((raw.get("data") or "0x")[2:])
            if spec.words is not None and len(data) == 32 * len(spec.words):
                for i, (name, read) in enumerate(zip(spec.data_names, spec.words, strict=True)):
                    args[name] = read(data[32 * i:32 * i + 32])
            else:
                try:
                    values = abi_decode(spec.data_types, data)
                except Exception:
                    return None  # not this event after all (a topic collision): keep out of the books
                for name, conv, value in zip(spec.data_names, spec.data_converters, values, strict=True):
                    args[name] = conv(value)
        ordered = {name: args[name] for name in spec.order}
        ts = raw.get("blockTimestamp")
        return LogEvent(
            address=checksum(raw["address"]), name=spec.name, args=ordered,
            block_number=int(raw["blockNumber"], 16), block_hash=str(raw["blockHash"]),
            tx_hash=str(raw["transactionHash"]), tx_index=int(raw["transactionIndex"], 16),
            log_index=int(raw["logIndex"], 16), timestamp=int(ts, 16) if ts else None)


@cache
def cohort_decoder() -> EventDecoder:
    """Vault events (CohortVault, its admin and follower modules: `vault_abi`), the factory's
    VaultCreated and CohortStrategies' events."""
    return EventDecoder([vault_abi(), project_artifact("VaultFactory").abi, project_artifact("ICohortStrategies").abi])
