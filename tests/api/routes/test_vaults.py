"""Vaults: the detail equals the vault's views at the indexed block; history and the
redemption queue equal the events web3 decodes."""

from __future__ import annotations

from cohort.tx import call
from tests.api.conftest import MakeHarness
from tests.api.scenario import Scenario


def test_vault_detail_equals_the_vaults_views(scenario: Scenario, make_harness: MakeHarness, sqlite_url: str) -> None:
    v = scenario.vault
    with make_harness(sqlite_url) as h:
        h.sync()
        d = h.get(f"/vaults/{v.address}")
        block = d["block_number"]
        assert d["price_source"] == "chain" and block == scenario.w3.eth.block_number
        assert int(d["nav"]) == v.nav(block)
        assert int(d["price_per_share"]) == int(call(v.fn.pricePerShare(), block=block))
        assert int(d["supply"]) == v.total_supply(block)
        assert int(d["escrow_shares"]) == v.balance_of(v.address, block)
        assert int(d["reserved_assets"]) == int(call(v.fn.reservedAssets(), block=block))
        assert int(d["aum"]) == v.nav(block) + int(d["reserved_assets"])
        hwm, reference = call(v.fn.marks(), block=block)
        assert (int(d["high_water_mark"]), int(d["drawdown_reference"])) == (hwm, reference)
        for holding in d["holdings"]:
            assert int(holding["amount"]) == int(call(v.fn.holdings(holding["token"]["address"]), block=block))
        assert {h_["token"]["symbol"] for h_ in d["holdings"]} == {"USDC", "WETH", "WBTC"}
        assert sum(int(h_["value"]) for h_ in d["holdings"]) == int(d["nav"])
        fees = v.contract.events.FeesAccrued.get_logs(from_block=scenario.created_block)
        assert int(d["fees"]["management_shares"]) == sum(log["args"]["managementShares"] for log in fees)
        assert int(d["fees"]["performance_shares"]) == sum(log["args"]["performanceShares"] for log in fees)
        assert d["fees"]["accruals"] == len(fees)
        pending = call(v.fn.pendingFeeShares(), block=block)
        fees = d["fees"]
        assert [int(fees["pending_management_shares"]), int(fees["pending_performance_shares"])] == list(pending)
        assert d["config"]["feeRecipient"] == scenario.fee_recipient
        assert d["params"]["symbol"] == "cAPI" and d["params"]["gateBps"] == "1500"
        pending_of = lambda who: int(call(v.fn.redeemRequestOf(who), block=block)[2])  # noqa: E731
        assert d["investors"] == sum(1 for who in scenario.accounts if v.balance_of(who, block) + pending_of(who) > 0)


def test_vault_list_pages(scenario: Scenario, make_harness: MakeHarness, sqlite_url: str) -> None:
    with make_harness(sqlite_url) as h:
        h.sync()
        listed = h.get("/vaults", limit=1000)
        addresses = [item["address"] for item in listed["items"]]
        assert {scenario.vault.address, scenario.second.address} <= set(addresses)
        assert listed["total"] == len(addresses)
        second_page = h.get("/vaults", limit=1, offset=1)
        assert second_page["items"][0]["address"] == addresses[1] and second_page["total"] == listed["total"]


def test_nav_history_is_every_accrual_and_settlement(scenario: Scenario, make_harness: MakeHarness,
                                                     sqlite_url: str) -> None:
    v = scenario.vault
    fees = v.contract.events.FeesAccrued.get_logs(from_block=scenario.created_block)
    settled = v.contract.events.RedemptionsSettled.get_logs(from_block=scenario.created_block)
    with make_harness(sqlite_url) as h:
        h.sync()
        history = h.get(f"/vaults/{v.address}/history", limit=1000)
        assert history["total"] == len(fees) + len(settled)
        by_kind = {k: [p for p in history["items"] if p["kind"] == k] for k in ("fees", "settlement")}
        assert [int(p["price_per_share"]) for p in by_kind["fees"]] == [log["args"]["pricePerShare"] for log in fees]
        assert [int(p["nav"]) for p in by_kind["settlement"]] == [log["args"]["nav"] for log in settled]
        only = h.get(f"/vaults/{v.address}/history", kind="settlement")
        assert only["total"] == len(settled)
        late = h.get(f"/vaults/{v.address}/history", from_block=settled[0]["blockNumber"], limit=1000)
        assert all(p["block_number"] >= settled[0]["blockNumber"] for p in late["items"])


def test_redemption_queue_equals_the_epoch_states(scenario: Scenario, make_harness: MakeHarness,
                                                  sqlite_url: str) -> None:
    v = scenario.vault
    with make_harness(sqlite_url) as h:
        h.sync()
        epochs = h.get(f"/vaults/{v.address}/redemptions")["items"]
        assert len(epochs) >= 2
        for e in epochs:
            units, escrow, remaining, _next, alpha = call(v.fn.epochState(e["epoch"]))
            assert (int(e["units"]), int(e["escrow"]), int(e["remaining_ray"]), int(e["assets_per_unit_ray"])) == (
                units, escrow, remaining, alpha)
        assert any(e["rounds"] == 2 for e in epochs)
