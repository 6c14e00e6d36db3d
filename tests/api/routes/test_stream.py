"""The WebSocket streams a vault's new events as the indexer stores them."""

from __future__ import annotations

import pytest
from starlette.websockets import WebSocketDisconnect
from web3 import Web3

from cohort import manifest as mf
from tests.api.conftest import MakeHarness
from tests.api.scenario import USDC, Scenario
from tests.helpers import deposit


def test_the_stream_sends_each_new_event_once(scenario: Scenario, make_harness: MakeHarness, sqlite_url: str,
                                              w3: Web3, deployment: mf.Manifest) -> None:
    v = scenario.vault.address
    with make_harness(sqlite_url) as h:
        h.sync()
        total = h.get(f"/vaults/{v}/events")["total"]
        with h.client.websocket_connect(f"/vaults/{v}/stream") as ws:
            hello = ws.receive_json()
            assert hello["type"] == "hello" and hello["vault"] == v
            deposit(w3, deployment, scenario.vault, scenario.investors[3], 1_000 * USDC)
            logs = w3.eth.get_logs({"address": v, "fromBlock": "latest"})  # fee mint, accrual, mint, Deposit
            h.sync()
            got = [ws.receive_json() for _ in logs]
        assert [m["type"] for m in got] == ["event"] * len(logs)
        assert [(m["tx_hash"], m["log_index"]) for m in got] == [
            ("0x" + log["transactionHash"].hex(), log["logIndex"]) for log in logs]
        assert got[-1]["name"] == "Deposit" and got[-1]["args"]["owner"] == scenario.investors[3]
        assert got[-1]["args"]["assets"] == str(1_000 * USDC)
        assert [m["id"] for m in got] == sorted(m["id"] for m in got) and got[0]["id"] > hello["last_id"]
        assert h.get(f"/vaults/{v}/events")["total"] == total + len(logs)
        with h.client.websocket_connect(f"/vaults/{v}/stream", params={"after_id": str(got[0]["id"])}) as ws:
            assert ws.receive_json()["type"] == "hello"
            assert [ws.receive_json()["id"] for _ in got[1:]] == [m["id"] for m in got[1:]]


@pytest.mark.parametrize("vault", ["0x12", "0x000000000000000000000000000000000000dEaD"])
def test_the_stream_refuses_a_bad_or_unknown_vault(scenario: Scenario, make_harness: MakeHarness, sqlite_url: str,
                                                   vault: str) -> None:
    with make_harness(sqlite_url) as h:
        h.sync()
        with pytest.raises(WebSocketDisconnect) as refused, h.client.websocket_connect(f"/vaults/{vault}/stream") as ws:
            ws.receive_json()
        assert refused.value.code == 1008


@pytest.mark.parametrize("after_id", [str(2**63), "-1", "1e400", "ten"])
def test_the_stream_refuses_an_after_id_no_event_can_have(scenario: Scenario, make_harness: MakeHarness,
                                                          sqlite_url: str, after_id: str) -> None:
    v = scenario.vault.address
    with make_harness(sqlite_url) as h:
        h.sync()
        with pytest.raises(WebSocketDisconnect) as refused, \
                h.client.websocket_connect(f"/vaults/{v}/stream", params={"after_id": after_id}) as ws:
            ws.receive_json()
        assert refused.value.code == 1008
        with h.client.websocket_connect(f"/vaults/{v}/stream", params={"after_id": str(2**63 - 1)}) as ws:
            assert ws.receive_json()["type"] == "hello"  # the largest id is fine: nothing comes after it
