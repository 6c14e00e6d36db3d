"""Sending transactions and reading reverts by name.

Every revert Cohort's contracts raise is a custom error; `decode_revert` turns revert data
into `(name, args)` using the error definitions of every compiled project contract, so the
keeper, the CLI and the tests all report `CohortTradeTooLarge(value, max)` rather than hex.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError
from web3.logs import DISCARD
from web3.types import TxParams, TxReceipt

from cohort.abi import canonical_type
from cohort.artifacts import BUILD_MANIFEST, _build_manifest
from cohort.errors import ContractRevert

_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
_PANIC = bytes.fromhex("4e487b71")  # Panic(uint256)


@cache
def error_abis() -> tuple[dict[str, Any], ...]:
    """The ABI item of every custom error of the compiled project contracts, once per signature:
    what a revert is named by, here (error_registry) and in the web app."""
    seen: dict[str, dict[str, Any]] = {}
    if not BUILD_MANIFEST.exists():
        return ()
    for ct in _build_manifest().get("contractTypes", {}).values():
        for item in ct.get("abi", []):
            if item.get("type") == "error":
                signature = f"{item['name']}({','.join(canonical_type(i) for i in item.get('inputs', []))})"
                seen.setdefault(signature, item)
    return tuple(seen.values())


@cache
def error_registry() -> dict[bytes, tuple[str, list[str]]]:
    """Selector -> (error name, argument types), from every compiled project contract."""
    registry: dict[bytes, tuple[str, list[str]]] = {}
    for item in error_abis():
        types = [canonical_type(i) for i in item.get("inputs", [])]
        registry[keccak(text=f"{item['name']}({','.join(types)})")[:4]] = (item["name"], types)
    return registry


def _as_bytes(data: Any) -> bytes:
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    if isinstance(data, str):
        text = data[2:] if data.startswith("0x") else data
        try:
            return bytes.fromhex(text)
        except ValueError:
            return b""
    return b""


def decode_revert(data: Any) -> tuple[str, tuple[Any, ...]]:
    """Revert data -> (error name, decoded arguments). Unknown data names itself by selector."""
    raw = _as_bytes(data)
    if len(raw) < 4:
        return ("EmptyRevert", ())
    selector, body = raw[:4], raw[4:]
    if selector == _ERROR_STRING:
        return ("Error", tuple(abi_decode(["string"], body)))
    if selector == _PANIC:
        return ("Panic", tuple(abi_decode(["uint256"], body)))
    known = error_registry().get(selector)
    if known is None:
        return (f"UnknownError_0x{selector.hex()}", (body.hex(),))
    name, types = known
    try:
        return (name, tuple(abi_decode(types, body)))
    except Exception:
        return (name, ())


def revert_from_exception(exc: Exception) -> ContractRevert | None:
    """A ContractRevert for a web3 revert exception, or None if `exc` is not a revert."""
    if isinstance(exc, ContractRevert):
        return exc
    if isinstance(exc, ContractCustomError | ContractPanicError | ContractLogicError):
        data = getattr(exc, "data", None)
        if isinstance(data, dict):
            data = data.get("data")
        if not data and exc.args and isinstance(exc.args[-1], str) and exc.args[-1].startswith("0x"):
            data = exc.args[-1]
        if data:
            name, args = decode_revert(data)
            return ContractRevert(name, args, data if isinstance(data, str) else "0x" + _as_bytes(data).hex())
        message = str(exc.args[0]) if exc.args else str(exc)
        return ContractRevert("Error", (message,))
    return None


def _hex(value: Any) -> str:
    return value if isinstance(value, str) else "0x" + bytes(value).hex()


def call(fn: ContractFunction, *, block: Any = "latest", sender: str | None = None) -> Any:
    """`fn.call()`, raising ContractRevert with the decoded error on revert."""
    params: TxParams = {"from": sender} if sender else {}
    try:
        return fn.call(params, block_identifier=block)
    except Exception as exc:
        revert = revert_from_exception(exc)
        if revert is not None:
            raise revert from exc
        raise


def transact(fn: ContractFunction, sender: str, *, value: int = 0,
             gas: int | None = None, wait: bool = True) -> TxReceipt:
    """Send `fn` from `sender` (unlocked on anvil, or a local account in the middleware).

    Gas is estimated first, so a revert surfaces as ContractRevert before anything is sent.
    """
    params: TxParams = {"from": Web3.to_checksum_address(sender), "value": value}  # type: ignore[typeddict-item]
    try:
        if gas is None:
            # TWAP reads (a binary search over observations) cost more or less from one second to
            # the next, so a transaction mined after its estimate may need more: keep a wide margin.
            gas = int(fn.estimate_gas(params) * 1.5) + 50_000
        params["gas"] = gas
        tx_hash = fn.transact(params)
    except Exception as exc:
        revert = revert_from_exception(exc)
        if revert is not None:
            raise revert from exc
        raise
    if not wait:
        return {"transactionHash": tx_hash}  # type: ignore[typeddict-item]
    receipt = fn.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
    if receipt["status"] != 1:
        raise replayed_failure(fn.w3, tx_hash, receipt)
    return receipt


def replayed_failure(w3: Any, tx_hash: Any, receipt: Any) -> ContractRevert:
    """The named error of a mined, failed transaction: from the node's trace of it when the
    node offers one (anvil does), else by replaying it with eth_call on its parent block."""
    try:
        trace = w3.provider.make_request("debug_traceTransaction", [_hex(tx_hash), {"tracer": "callTracer"}])
        result = trace.get("result") or {}
        if result.get("output"):
            name, args = decode_revert(result["output"])
            return ContractRevert(name, args, result["output"])
        if result.get("error"):
            return ContractRevert("TransactionFailed", (str(result["error"]),))
    except Exception:  # the node has no tracer: fall back to a replay
        pass
    tx = w3.eth.get_transaction(tx_hash)
    params = {"from": tx["from"], "to": tx["to"], "data": tx["input"], "value": tx["value"], "gas": tx["gas"]}
    try:
        w3.eth.call(params, block_identifier=receipt["blockNumber"] - 1)
    except Exception as exc:
        revert = revert_from_exception(exc)
        if revert is not None:
            return revert
    return ContractRevert("TransactionFailed", (tx_hash.hex(),))


def receipt_events(contract: Contract, receipt: TxReceipt, name: str) -> list[dict[str, Any]]:
    """The arguments of `contract`'s own `name` events in `receipt` (logs of other contracts, like
    an asset's Transfer, are skipped rather than warned about)."""
    return [dict(e["args"]) for e in getattr(contract.events, name)().process_receipt(receipt, errors=DISCARD)
            if e["address"] == contract.address]
