"""Contract calls encoded straight from ABI entries with eth_abi.

web3's contract objects validate every argument on each call (milliseconds for a struct); hot
paths (the keeper's pipeline, the API's batched reads) encode from the same ABI entries here
instead, so nothing copies a selector or a type. `canonical_type` is eth_utils' canonical form
of an ABI parameter (tuples as `(a,b)[]`), used for selectors and decoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import eth_abi
from eth_utils import collapse_if_tuple as canonical_type
from eth_utils import function_abi_to_4byte_selector

__all__ = ["AbiFunction", "canonical_type", "functions"]


@dataclass(frozen=True)
class AbiFunction:
    name: str
    selector: bytes
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    @classmethod
    def from_abi(cls, item: dict[str, Any]) -> AbiFunction:
        return cls(name=item["name"], selector=function_abi_to_4byte_selector(cast(Any, item)),
                   inputs=tuple(canonical_type(i) for i in item["inputs"]),
                   outputs=tuple(canonical_type(o) for o in item.get("outputs", [])))

    def encode(self, *args: Any) -> str:
        """Calldata as 0x-hex: selector and arguments."""
        return "0x" + (self.selector + eth_abi.encode(list(self.inputs), list(args))).hex()

    def decode(self, result: str) -> tuple[Any, ...]:
        """The return values of an eth_call result (0x-hex)."""
        return tuple(eth_abi.decode(list(self.outputs), bytes.fromhex(result.removeprefix("0x"))))


def functions(abi: list[dict[str, Any]]) -> dict[str, AbiFunction]:
    """Every function of `abi` by name (the first entry of an overloaded name)."""
    out: dict[str, AbiFunction] = {}
    for item in abi:
        if item.get("type") == "function" and item["name"] not in out:
            out[item["name"]] = AbiFunction.from_abi(item)
    return out
