"""The few JSON-RPC calls the indexer makes, raw (no web3 result formatting: it is the hot path)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3 import Web3

from cohort.chain import connect
from cohort.errors import ChainUnavailable


class RpcError(ChainUnavailable):
    """The node answered with a JSON-RPC error."""

    def __init__(self, method: str, error: Any) -> None:
        self.method = method
        self.error = error
        message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
        self.message = str(message)
        super().__init__(f"{method}: {message}")


@dataclass(frozen=True)
class Header:
    number: int
    hash: str
    parent_hash: str
    timestamp: int


class Rpc:
    def __init__(self, url: str, timeout: float = 30.0, w3: Web3 | None = None) -> None:
        self.url = url
        self.w3 = w3 or connect(url, timeout=timeout)

    def request(self, method: str, params: list[Any]) -> Any:
        try:
            response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        except RpcError:
            raise
        except Exception as exc:  # connection refused, timeout, bad gateway...
            raise ChainUnavailable(f"{method}: {type(exc).__name__}: {exc}") from exc
        if "error" in response:
            raise RpcError(method, response["error"])
        return response.get("result")

    def chain_id(self) -> int:
        return int(self.request("eth_chainId", []), 16)

    def block_number(self) -> int:
        return int(self.request("eth_blockNumber", []), 16)

    def header(self, number: int) -> Header | None:
        block = self.request("eth_getBlockByNumber", [hex(number), False])
        if not block:
            return None
        return Header(int(block["number"], 16), str(block["hash"]), str(block["parentHash"]),
                      int(block["timestamp"], 16))

    def get_logs(self, from_block: int, to_block: int, address: str | list[str],
                 topics: list[Any] | None = None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"fromBlock": hex(from_block), "toBlock": hex(to_block), "address": address}
        if topics:
            query["topics"] = topics
        result = self.request("eth_getLogs", [query])
        return list(result or [])

    def call(self, to: str, data: str, block: str | int = "latest") -> str:
        tag = hex(block) if isinstance(block, int) else block
        if isinstance(block, str) and len(block) == 66:
            return str(self.request("eth_call", [{"to": to, "data": data}, {"blockHash": block}]))
        return str(self.request("eth_call", [{"to": to, "data": data}, tag]))
