"""The typed on-chain facts (cohort.onchain) against the contracts: every code equals its Solidity
constant, every read-out's fields are the view's ABI outputs in order, and a read-out decoded
from a live vault agrees with the view's own answer."""

from __future__ import annotations

import dataclasses
import re
from enum import IntEnum
from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode

from cohort import onchain
from cohort.abi import canonical_type, functions
from cohort.onchain import SaleReason, SizeMode
from cohort.protocol import RiskLimits
from cohort.signals import signal_fields
from cohort.tx import call
from cohort.vault import Vault

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts"


def solidity_constants(prefix: str) -> dict[str, int]:
    """`uint8 internal constant <prefix>NAME = N;` of the production contracts, wherever they live."""
    found: dict[str, int] = {}
    for source in CONTRACTS.rglob("*.sol"):
        parts = source.relative_to(CONTRACTS).parts
        if "test" in parts or ".cache" in parts or not source.is_file():  # Ape's dependency cache has X.sol folders
            continue
        for name, value in re.findall(rf"uint8\s+internal\s+constant\s+{prefix}(\w+)\s*=\s*(\d+)\s*;",
                                      source.read_text()):
            found[name] = int(value)
    return found


def members(enum: type[IntEnum]) -> dict[str, int]:
    return {m.name: m.value for m in enum}


def test_size_modes_are_signal_libs_and_fit_the_signals_field() -> None:
    assert members(SizeMode) == solidity_constants("SIZE_OF_")
    assert dict(signal_fields())["sizeMode"] == "uint8"
    assert max(SizeMode) < 2**8


def test_sale_reasons_are_the_vaults_and_fit_liquidity_solds_argument() -> None:
    assert members(SaleReason) == solidity_constants("REASON_")
    event = next(i for i in onchain.vault_abi() if i.get("type") == "event" and i["name"] == "LiquiditySold")
    reason = next(i for i in event["inputs"] if i["name"] == "reason")
    assert reason["type"] == "uint8" and max(SaleReason) < 2**8
    assert [r.kind for r in SaleReason] == ["unwind", "derisk"]


@pytest.mark.parametrize("read_out", onchain.READ_OUTS, ids=lambda c: c.VIEW)
def test_each_read_out_has_its_views_outputs_in_abi_order(read_out: type[onchain.ReadOut]) -> None:
    names = [f.name for f in dataclasses.fields(read_out)]
    assert names == [onchain.snake_case(p["name"]) for p in onchain.view_outputs(read_out.VIEW)]
    assert all(p["name"] for p in onchain.view_outputs(read_out.VIEW)), "every output needs a name"


def _sample(param: dict[str, Any], i: int) -> Any:
    typ = canonical_type(param)
    if typ == "address":
        return "0x" + f"{i + 1:02x}" * 20
    if typ == "bool":
        return i % 2 == 1
    if typ == "string":
        return f"s{i}"
    if typ == "bytes1":
        return bytes([i + 1])
    if typ.startswith("bytes"):
        return bytes([i + 1]) * (32 if typ == "bytes32" else 3)
    if typ.endswith("[]"):
        return [i, i + 1]
    if typ.startswith("("):
        return tuple(_sample(c, j) for j, c in enumerate(param["components"]))
    return 1000 + i


@pytest.mark.parametrize("read_out", onchain.READ_OUTS, ids=lambda c: c.VIEW)
def test_each_read_out_decodes_a_views_encoded_answer_by_name(read_out: type[onchain.ReadOut]) -> None:
    fn = functions(onchain.vault_abi())[read_out.VIEW]
    item = next(i for i in onchain.vault_abi() if i.get("type") == "function" and i["name"] == read_out.VIEW)
    outputs = [_sample(o, i) for i, o in enumerate(item["outputs"])]
    decoded = read_out.decode(fn.decode("0x" + encode(list(fn.outputs), outputs).hex()))
    flat = outputs[0] if len(outputs) == 1 and item["outputs"][0]["type"] == "tuple" else outputs
    for field, value in zip(dataclasses.fields(decoded), flat, strict=True):
        assert _plain(getattr(decoded, field.name)) == _plain(value), field.name


def _plain(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value.lower() if isinstance(value, str) and value.startswith("0x") else value


def test_a_live_vaults_read_outs_match_its_views(vault: Vault) -> None:
    status = vault.redemption_status()
    due, epoch, needed, available, matures = call(vault.fn.redemptionStatus())
    assert (status.due, status.epoch, status.assets_needed, status.base_available, status.matures_at) == (
        due, epoch, needed, available, matures)
    assert vault.high_water_mark() == call(vault.fn.marks())[0]
    fees = vault.fee_state()
    assert fees.recipient == call(vault.fn.feeState())[0] and fees.management_fee_bps > 0
    domain = vault.domain()
    assert (domain.verifying_contract, domain.chain_id, domain.version) == (vault.address, vault.w3.eth.chain_id, "1")
    risk = onchain.RiskState.from_call(call(vault.fn.riskState()))
    assert not risk.paused and not risk.risk_off and len(risk.limits) == 7


def test_the_sdks_risk_limits_are_the_structs_fields_in_order() -> None:
    limits = next(p for p in onchain.view_outputs("riskState") if p["name"] == "limits")
    assert [f.name for f in dataclasses.fields(RiskLimits)] == [onchain.snake_case(c["name"])
                                                                for c in limits["components"]]
