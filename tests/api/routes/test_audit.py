"""Auditors: the raw event log (JSON, CSV) and the reconciliation, which must find no difference
on a healthy vault and must find a planted one."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import update

from api import models
from tests.api.conftest import MakeHarness
from tests.api.scenario import Scenario


def test_reconciliation_reports_zero_differences(scenario: Scenario, make_harness: MakeHarness,
                                                 sqlite_url: str) -> None:
    with make_harness(sqlite_url) as h:
        h.sync()
        for vault in (scenario.vault.address, scenario.second.address):
            report = h.get(f"/vaults/{vault}/reconciliation")
            assert report["ok"], report["differences"]
            assert report["differences"] == []
            assert report["accounts_checked"] >= 2 and report["checks"] > 50
            items = {c["item"] for c in report["compared"]}
            assert {"supply", "escrow", "reserved_assets", "high_water_mark", "nav", "holdings", "fee_shares",
                    "epoch.remaining_ray"} <= items or vault == scenario.second.address


def test_reconciliation_reports_a_difference_it_did_not_expect(scenario: Scenario, make_harness: MakeHarness,
                                                               sqlite_url: str) -> None:
    v = scenario.vault.address
    with make_harness(sqlite_url) as h:
        h.sync()
        with h.engine.begin() as conn:  # corrupt one stored projection behind the indexer's back
            conn.execute(update(models.Account).where(models.Account.vault == v,
                                                      models.Account.address == scenario.investors[0])
                         .values(wallet=1))
        report = h.get(f"/vaults/{v}/reconciliation")
        assert not report["ok"]
        assert [(d["item"], d["key"]) for d in report["differences"]] == [
            ("projection.account.wallet", scenario.investors[0])]


def test_event_log_has_every_log_of_the_vault(scenario: Scenario, make_harness: MakeHarness, sqlite_url: str) -> None:
    v = scenario.vault.address
    logs = scenario.w3.eth.get_logs({"address": v, "fromBlock": scenario.created_block})
    with make_harness(sqlite_url) as h:
        h.sync()
        page = h.get(f"/vaults/{v}/events", limit=1000)
        assert page["total"] == len(logs) + 1  # and the factory's VaultCreated
        stored = [(e["tx_hash"], e["log_index"]) for e in page["items"] if e["name"] != "VaultCreated"]
        assert stored == [("0x" + log["transactionHash"].hex(), log["logIndex"]) for log in logs]
        deposits = h.get(f"/vaults/{v}/events", name="Deposit")
        assert deposits["total"] == sum(1 for a in scenario.actions if a.kind == "deposit")
        assert all(isinstance(x, str) for x in deposits["items"][0]["args"].values())  # integers as strings
        response = h.client.get(f"/vaults/{v}/events.csv")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert [int(r["id"]) for r in rows] == [e["id"] for e in page["items"]]
        assert json.loads(rows[-1]["args"]) == page["items"][-1]["args"]
        transfers = list(csv.DictReader(io.StringIO(h.client.get(f"/vaults/{v}/events.csv",
                                                                 params={"name": "Transfer"}).text)))
        assert transfers and {r["name"] for r in transfers} == {"Transfer"}
