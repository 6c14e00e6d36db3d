"""Auditors: the raw event log (JSON, CSV) and the reconciliation, which must find no difference
on a healthy vault and must find a planted one."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import update

from api import models
from tests.api.conftest import Harness, MakeHarness
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


def _corrupt_wallet(h: Harness, vault: str, investor: str) -> None:
    """Change one stored projection behind the indexer's back, as a bug or a tamperer would."""
    with h.engine.begin() as conn:
        conn.execute(update(models.Account).where(models.Account.vault == vault,
                                                  models.Account.address == investor).values(wallet=1))


def test_reconciliation_reports_a_difference_it_did_not_expect(scenario: Scenario, make_harness: MakeHarness,
                                                               sqlite_url: str) -> None:
    v = scenario.vault.address
    with make_harness(sqlite_url) as h:
        h.sync()
        _corrupt_wallet(h, v, scenario.investors[0])
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


def test_reconciliation_pages_through_the_accounts_and_finds_a_difference_on_its_page(
        scenario: Scenario, make_harness: MakeHarness, sqlite_url: str) -> None:
    v = scenario.vault.address
    with make_harness(sqlite_url) as h:
        h.sync()
        _corrupt_wallet(h, v, scenario.investors[0])
        whole = h.get(f"/vaults/{v}/reconciliation")
        assert whole["accounts_checked"] == whole["accounts_total"] >= 3
        differing: list[str] = []
        flagged: list[int] = []
        for offset in range(0, whole["accounts_total"], 2):
            page = h.get(f"/vaults/{v}/reconciliation", accounts_limit=2, accounts_offset=offset)
            assert page["accounts_total"] == whole["accounts_total"] and page["accounts_limit"] == 2
            assert page["accounts_checked"] == min(2, whole["accounts_total"] - offset)
            assert {"supply", "nav"} <= {c["item"] for c in page["compared"]}  # vault checks on every page
            keys = [d["key"] for d in page["differences"] if d["item"].startswith("projection.account.")]
            differing += keys
            if keys:
                flagged.append(offset)
        assert differing == [scenario.investors[0]] and len(flagged) == 1
        again = h.get(f"/vaults/{v}/reconciliation", accounts_limit=2, accounts_offset=flagged[0])
        assert not again["ok"]
        assert h.client.get(f"/vaults/{v}/reconciliation", params={"accounts_limit": 0}).status_code == 422


def test_the_csv_event_log_comes_in_pages_that_join_up_to_the_whole_log(
        scenario: Scenario, make_harness: MakeHarness, sqlite_url: str) -> None:
    v = scenario.vault.address
    with make_harness(sqlite_url) as h:
        h.sync()
        everything = h.get(f"/vaults/{v}/events", limit=1000)["items"]
        rows: list[dict[str, str]] = []
        params: dict[str, str] = {"limit": "7"}
        pages = 0
        while True:
            response = h.client.get(f"/vaults/{v}/events.csv", params=params)
            assert response.status_code == 200
            page = list(csv.DictReader(io.StringIO(response.text)))
            assert 0 < len(page) <= 7
            rows += page
            pages += 1
            following = response.headers.get("x-next-after")
            if following is None:
                assert "link" not in response.headers
                break
            assert f"after={following.replace(':', '%3A')}" in response.headers["link"]
            params = {"limit": "7", "after": following}
        assert pages == -(-len(everything) // 7)
        assert [int(r["id"]) for r in rows] == [e["id"] for e in everything]
        first = h.client.get(f"/vaults/{v}/events.csv", params={"limit": "7"})
        unchanged = h.client.get(f"/vaults/{v}/events.csv", params={"limit": "7"},
                                 headers={"If-None-Match": first.headers["etag"]})
        assert unchanged.status_code == 304 and unchanged.content == b""
        for bad in ({"after": "x"}, {"limit": "0"}, {"limit": str(10**6)}):
            assert h.client.get(f"/vaults/{v}/events.csv", params=bad).status_code == 422
