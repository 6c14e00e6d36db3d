"""/health: the node's head, the indexed block and the lag between them."""

from __future__ import annotations

from api.main import create_app
from cohort.dev.anvil import DevChain
from cohort.dev.stack import free_port
from tests.api.conftest import MakeHarness, TestClient
from tests.api.scenario import Scenario


def test_health_reports_the_indexer_lag(chain: DevChain, make_harness: MakeHarness, sqlite_url: str) -> None:
    with make_harness(sqlite_url) as h:
        before = h.get("/health")
        assert before["status"] == "not_indexed" and before["rpc_ok"]
        h.sync()
        caught_up = h.get("/health")
        assert caught_up["status"] == "ok" and caught_up["lag_blocks"] == 0
        assert caught_up["indexed_block"] == caught_up["chain_head"] == chain.w3.eth.block_number
        chain.mine(5)
        behind = h.get("/health")
        assert behind["status"] == "lagging" and behind["lag_blocks"] == 5


def test_without_a_node_the_api_still_answers_from_the_events(scenario: Scenario, make_harness: MakeHarness,
                                                              sqlite_url: str) -> None:
    v, who = scenario.vault.address, scenario.investors[0]
    with make_harness(sqlite_url) as h:
        h.sync()
        live = h.get(f"/vaults/{v}/investors/{who}")
    dead = h.settings.model_copy(update={"rpc_url": f"http://127.0.0.1:{free_port()}", "rpc_timeout": 2.0})
    with TestClient(create_app(dead, run_indexer=False)) as client:
        health = client.get("/health").json()
        assert (health["status"], health["rpc_ok"], health["indexed_block"]) == (
            "rpc_unavailable", False, live["block_number"])
        view = client.get(f"/vaults/{v}/investors/{who}")
        assert view.status_code == 200 and view.json()["price_source"] == "events"
        assert view.json()["shares"] == live["shares"] and view.json()["fees_borne"] == live["fees_borne"]
        assert client.get(f"/vaults/{v}").json()["price_source"] == "events"
        report = client.get(f"/vaults/{v}/reconciliation")
        assert report.status_code == 200 and not report.json()["ok"]
        assert [d["item"] for d in report.json()["differences"]] == ["chain"]
