"""The indexer's decoder (eth_abi, for speed) reads every vault log as web3 does."""

from __future__ import annotations

from typing import Any

from web3 import Web3

from api.indexer.decoder import cohort_decoder
from tests.api.scenario import Scenario


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def test_every_vault_log_decodes_as_web3_decodes_it(scenario: Scenario, w3: Web3) -> None:
    v = scenario.vault
    raw = w3.provider.make_request("eth_getLogs", [{"address": v.address, "fromBlock": hex(scenario.created_block),
                                                    "toBlock": "latest"}])["result"]
    assert len(raw) > 50
    decoder = cohort_decoder()
    names = set()
    for log in raw:
        ours = decoder.decode(log)
        assert ours is not None
        receipt_log = w3.eth.get_transaction_receipt(log["transactionHash"])["logs"][int(log["logIndex"], 16)]
        theirs = getattr(v.contract.events, ours.name)().process_log(receipt_log)
        assert ours.args == _plain(dict(theirs["args"])), ours.name
        assert (ours.block_number, ours.log_index, ours.address) == (
            theirs["blockNumber"], theirs["logIndex"], theirs["address"])
        names.add(ours.name)
    assert {"Transfer", "Deposit", "FeesAccrued", "TradeExecuted", "RedeemRequest", "RedeemRequestQueued",
            "RedemptionsSettled", "Withdraw", "LiquiditySold", "RedeemRequestCanceled"} <= names


def test_unknown_logs_decode_to_nothing() -> None:
    log = {"address": "0x" + "11" * 20, "topics": ["0x" + "ab" * 32], "data": "0x", "blockNumber": "0x1",
           "blockHash": "0x" + "00" * 32, "transactionHash": "0x" + "00" * 32, "transactionIndex": "0x0",
           "logIndex": "0x0"}
    assert cohort_decoder().decode(log) is None
    assert cohort_decoder().decode({**log, "topics": []}) is None
