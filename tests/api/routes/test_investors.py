"""The MAM view: every number equals an independent computation from contract reads at the
indexed block (see tests/api/scenario.py for how each one is computed)."""

from __future__ import annotations

from web3 import Web3

from cohort import manifest as mf
from cohort.tx import call
from tests.api.conftest import MakeHarness
from tests.api.scenario import (
    USDC,
    Scenario,
    chain_view,
    cost_model,
    expected_tickets,
    fees_borne,
    joined_block,
    trade_logs,
)
from tests.helpers import deposit


def test_the_scenario_covers_what_the_view_must_handle(scenario: Scenario) -> None:
    v, block = scenario.vault, scenario.w3.eth.block_number
    kinds = {a.kind for a in scenario.actions}
    assert {"deposit", "transfer", "request", "settle", "cancel", "claim"} <= kinds
    assert {t["event"] for t in trade_logs(scenario, block)} == {"TradeExecuted", "LiquiditySold"}
    fees = v.contract.events.FeesAccrued.get_logs(from_block=scenario.created_block)
    assert any(log["args"]["managementShares"] > 0 for log in fees)
    assert any(log["args"]["performanceShares"] > 0 for log in fees)
    settled = v.contract.events.RedemptionsSettled.get_logs(from_block=scenario.created_block)
    assert len(settled) == 2 and 0 < settled[0]["args"]["remainingRay"] < 10**27  # a partial round
    assert any(chain_view(scenario, who, block)["pending"] > 0 for who in scenario.investors)
    assert any(chain_view(scenario, who, block)["claimable_assets"] > 0 for who in scenario.investors)
    _cost, realised = cost_model(scenario)
    assert all(realised[who] != 0 for who in scenario.investors[1:2] + scenario.investors[5:6])
    assert fees_borne(scenario, scenario.investors[0], block) > 0


def test_every_mam_number_equals_the_chain_at_the_indexed_block(scenario: Scenario, make_harness: MakeHarness,
                                                                 sqlite_url: str) -> None:
    v = scenario.vault.address
    cost, realised = cost_model(scenario)
    with make_harness(sqlite_url) as h:
        h.sync()
        block = h.get("/health")["indexed_block"]
        assert block == scenario.w3.eth.block_number
        for who in scenario.accounts:
            view = h.get(f"/vaults/{v}/investors/{who}", tickets_limit=1000)
            chain = chain_view(scenario, who, block)
            assert (view["block_number"], view["price_source"]) == (block, "chain")
            assert int(view["price_per_share"]) == chain["price_per_share"]
            assert int(view["shares"]) == chain["shares"], who
            assert int(view["pending_shares"]) == chain["pending"], who
            assert int(view["position_shares"]) == chain["position"], who
            assert view["pool_share"] == chain["pool_share"], who
            r = view["redemption"]
            assert (r["epoch"], int(r["requested"]), int(r["pending_shares"]),
                    int(r["claimable_shares"]), int(r["claimable_assets"])) == (
                chain["epoch"], chain["requested"], chain["pending"], chain["claimable_shares"],
                chain["claimable_assets"]), who
            assert int(view["position_value"]) == chain["position_value"], who
            assert int(view["equity"]) == chain["equity"], who
            assert int(view["deposited_assets"]) == scenario.deposited[who], who
            assert int(view["claimed_assets"]) == scenario.claimed[who], who
            assert int(view["net_deposits"]) == scenario.deposited[who] - scenario.claimed[who], who
            assert int(view["cost_basis"]) == cost[who], who
            assert int(view["realised_pnl"]) == realised[who], who
            assert int(view["unrealised_pnl"]) == chain["position_value"] - cost[who], who
            assert int(view["total_pnl"]) == realised[who] + chain["position_value"] - cost[who], who
            assert int(view["fees_borne"]) == fees_borne(scenario, who, block), who
            joined = joined_block(scenario, who, block)
            assert view["first_block"] == joined, who
            tickets = [{k: t[k] for k in ("block_number", "position_shares", "supply", "amount_in", "amount_out",
                                          "trade_amount_in", "trade_amount_out")} for t in view["tickets"]["items"]]
            assert tickets == expected_tickets(scenario, who, joined or 0, block), who
            assert view["tickets"]["total"] == len(tickets)


def test_a_ticket_is_at_the_managers_execution_price(scenario: Scenario, make_harness: MakeHarness,
                                                     sqlite_url: str) -> None:
    v, who = scenario.vault.address, scenario.investors[2]
    with make_harness(sqlite_url) as h:
        h.sync()
        trades = {t["id"]: t for t in h.get(f"/vaults/{v}/trades")["items"]}
        tickets = h.get(f"/vaults/{v}/investors/{who}/tickets", limit=1000)["items"]
        assert tickets and len(tickets) == len(trades)
        for ticket in tickets:
            trade = trades[ticket["trade_id"]]
            assert ticket["execution_price"] == trade["execution_price"]
            # the slice is the pool share of the trade, rounded down
            assert int(ticket["amount_in"]) * int(ticket["supply"]) <= int(trade["amount_in"]) * int(
                ticket["position_shares"]) < (int(ticket["amount_in"]) + 1) * int(ticket["supply"])


def test_the_investor_is_listed_in_every_vault_they_hold(scenario: Scenario, make_harness: MakeHarness,
                                                        sqlite_url: str) -> None:
    who = scenario.investors[0]
    with make_harness(sqlite_url) as h:
        h.sync()
        out = h.get(f"/investors/{who.lower()}")
        assert out["address"] == who
        assert sorted(p["vault"] for p in out["vaults"]) == sorted([scenario.vault.address, scenario.second.address])
        for p in out["vaults"]:
            vault = scenario.vault if p["vault"] == scenario.vault.address else scenario.second
            assert int(p["shares"]) == vault.balance_of(who)
            position = vault.balance_of(who) + int(p["pending_shares"])
            assert int(p["position_value"]) == int(call(vault.fn.convertToAssets(position)))


def test_tickets_page_through_every_trade_since_joining(scenario: Scenario, make_harness: MakeHarness,
                                                        sqlite_url: str) -> None:
    v, who = scenario.vault.address, scenario.investors[3]
    with make_harness(sqlite_url) as h:
        h.sync()
        whole = h.get(f"/vaults/{v}/investors/{who}/tickets", limit=1000)
        pages = [h.get(f"/vaults/{v}/investors/{who}/tickets", limit=2, offset=o)["items"]
                 for o in range(0, whole["total"], 2)]
        assert [t for page in pages for t in page] == whole["items"]
        assert whole["total"] < len(h.get(f"/vaults/{v}/trades")["items"])  # joined after the first trade


def test_the_fast_path_and_the_route_give_the_same_answer_and_a_new_block_a_new_one(
        scenario: Scenario, make_harness: MakeHarness, sqlite_url: str, w3: Web3, deployment: mf.Manifest) -> None:
    v, who = scenario.vault.address, scenario.investors[0]
    path = f"/vaults/{v}/investors/{who}"
    with make_harness(sqlite_url) as h:
        h.sync()
        fast = h.get(path)
        assert h.get(path) == fast  # answered again from the rendered cache
        assert h.get(path, via_route="1") == fast  # an unknown parameter: FastAPI's route answers
        assert h.get(path, tickets_limit=2, tickets_offset=1)["tickets"]["items"] == fast["tickets"]["items"][1:3]
        assert h.get(path, tickets_limit=2, tickets_offset=1) == h.get(path, tickets_limit=2, tickets_offset=1,
                                                                       via_route="1")
        for bad in ({"tickets_limit": "-1"}, {"tickets_limit": "100000"}, {"tickets_offset": "x"}):
            refused = h.client.get(path, params=bad)
            assert refused.status_code == 422 and refused.json()["code"] == "invalid_input"
        lower = h.client.get(f"/vaults/{v.lower()}/investors/{who.lower()}")
        assert lower.status_code == 200 and lower.json() == fast

        deposit(w3, deployment, scenario.vault, who, 1_000 * USDC)
        h.indexer.sync()  # a new indexed block, the caches left as they are: the block is in their keys
        after = h.get(path)
        assert after["block_number"] > fast["block_number"]
        assert int(after["shares"]) > int(fast["shares"])
