"""Deploying contracts from artifacts, and binding deployed ones by name."""

from __future__ import annotations

from typing import Any

from web3 import Web3
from web3.contract import Contract

from cohort.artifacts import Artifact, abi_of
from cohort.errors import ContractRevert
from cohort.tx import revert_from_exception


def deploy(w3: Web3, artifact: Artifact, *args: Any, sender: str,
           libraries: dict[str, str] | None = None, gas: int | None = None) -> Contract:
    """Deploy `artifact` with constructor `args` from `sender`; return the bound contract."""
    bytecode = artifact.linked(libraries or {}) if artifact.link_references else artifact.bytecode
    factory = w3.eth.contract(abi=artifact.abi, bytecode=bytecode)
    try:
        tx_hash = factory.constructor(*args).transact({"from": sender, **({"gas": gas} if gas else {})})
    except Exception as exc:
        revert = revert_from_exception(exc)
        if revert is not None:
            raise ContractRevert(f"deploy {artifact.name}: {revert.name}", revert.error_args) from exc
        raise
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
    if receipt["status"] != 1 or not receipt["contractAddress"]:
        raise ContractRevert(f"deploy {artifact.name}: TransactionFailed", (tx_hash.hex(),))
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)


def at(w3: Web3, name: str, address: str) -> Contract:
    """The contract `name` (a project or Uniswap contract) bound at `address`."""
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi_of(name))


def has_code(w3: Web3, address: str | None) -> bool:
    return bool(address) and len(w3.eth.get_code(Web3.to_checksum_address(address))) > 0  # type: ignore[arg-type]
