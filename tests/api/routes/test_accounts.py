"""The manager's view: every account with equity, pool share and redemption state, sorted and
filtered, against the vault's views."""

from __future__ import annotations

from tests.api.conftest import MakeHarness
from tests.api.scenario import Scenario, chain_view


def test_every_account_is_listed_with_its_equity_and_pool_share(scenario: Scenario, make_harness: MakeHarness,
                                                               sqlite_url: str) -> None:
    v = scenario.vault.address
    with make_harness(sqlite_url) as h:
        h.sync()
        out = h.get(f"/vaults/{v}/accounts", limit=1000)
        block = out["block_number"]
        chain = {who: chain_view(scenario, who, block) for who in scenario.accounts}
        live = {w for w, c in chain.items() if c["position"] > 0 or c["claimable_assets"] > 0}
        rows = out["accounts"]["items"]
        assert {r["address"] for r in rows} == live and out["accounts"]["total"] == len(live)
        for r in rows:
            c = chain[r["address"]]
            assert (int(r["equity"]), r["pool_share"], int(r["pending_shares"])) == (
                c["equity"], c["pool_share"], c["pending"])
        equities = [int(r["equity"]) for r in rows]
        assert equities == sorted(equities, reverse=True)  # default: by equity, largest first


def test_accounts_sort_and_filter(scenario: Scenario, make_harness: MakeHarness, sqlite_url: str) -> None:
    v = scenario.vault.address
    with make_harness(sqlite_url) as h:
        h.sync()
        block = h.get("/health")["indexed_block"]
        chain = {who: chain_view(scenario, who, block) for who in scenario.accounts}
        pending = h.get(f"/vaults/{v}/accounts", redemption="pending")["accounts"]["items"]
        assert {r["address"] for r in pending} == {w for w, c in chain.items() if c["pending"] > 0}
        claimable = h.get(f"/vaults/{v}/accounts", redemption="claimable")["accounts"]["items"]
        assert {r["address"] for r in claimable} == {w for w, c in chain.items() if c["claimable_shares"] > 0}
        assert all(r["redemption"]["state"] != "none" for r in pending + claimable)
        floor = sorted(c["equity"] for c in chain.values())[3]
        rich = h.get(f"/vaults/{v}/accounts", min_equity=floor)["accounts"]["items"]
        assert {r["address"] for r in rich} == {w for w, c in chain.items() if c["equity"] >= floor}
        by_address = h.get(f"/vaults/{v}/accounts", sort="address", order="asc")["accounts"]["items"]
        assert [r["address"].lower() for r in by_address] == sorted(r["address"].lower() for r in by_address)
        by_pnl = h.get(f"/vaults/{v}/accounts", sort="total_pnl", order="asc")["accounts"]["items"]
        assert [int(r["total_pnl"]) for r in by_pnl] == sorted(int(r["total_pnl"]) for r in by_pnl)
        page = h.get(f"/vaults/{v}/accounts", limit=2, offset=2)["accounts"]
        everything = h.get(f"/vaults/{v}/accounts")["accounts"]
        assert page["items"] == everything["items"][2:4] and page["total"] == everything["total"]
        with_empty = h.get(f"/vaults/{v}/accounts", include_empty="true")["accounts"]
        assert with_empty["total"] >= everything["total"]
