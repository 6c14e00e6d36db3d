"""Strategies (MAM): the manager and followers with their rules and since when, each master
trade's block price and every follower's fill against the logs web3 decodes, skipped followers
with their reasons in words, and tickets that name the strategy trade they came from; the same
answers on PostgreSQL and after a rebuild from the stored events."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session
from web3 import Web3

from api.indexer import store
from cohort import manifest as mf
from cohort.dev.anvil import DevChain
from tests.api.conftest import Harness, MakeHarness
from tests.api.mam_scenario import REF_PRICE, USDC, MamScenario, build_mam
from tests.conftest import Roles

WETH_DECIMALS = 18


@pytest.fixture(scope="module")
def mam(w3: Web3, chain: DevChain, deployment: mf.Manifest, roles: Roles) -> Iterator[MamScenario]:
    snapshot = chain.snapshot()
    try:
        yield build_mam(w3, deployment, roles)
    finally:
        chain.revert(snapshot)


def _hex(value: Any) -> str:
    return value if isinstance(value, str) else "0x" + bytes(value).hex()


def _price(amount_out: int, amount_in: int) -> Decimal:
    return (Decimal(amount_out) / 10**WETH_DECIMALS) / (Decimal(amount_in) / USDC)


def test_a_strategy_shows_its_manager_and_followers_with_rules_in_words(mam: MamScenario, make_harness: MakeHarness,
                                                                        sqlite_url: str) -> None:
    v = mam.vaults
    with make_harness(sqlite_url) as h:
        h.sync()
        listed = {s["id"]: s for s in h.get("/strategies")["items"]}
        body = h.get(f"/strategies/{mam.strategy_id}")
    assert listed[mam.strategy_id] == {k: body[k] for k in listed[mam.strategy_id]}
    assert (body["name"], body["owner"], body["manager"]) == ("Trend", mam.owner, mam.new_manager)
    assert body["manager_since_block"] == mam.manager_block and (body["followers"], body["master_trades"]) == (3, 1)
    current = {f["vault"]: f for f in body["current_followers"]}
    assert list(current) == [v["aggressive"].address, v["paused"].address, v["picky"].address]
    for label in ("aggressive", "paused", "picky"):
        f = current[v[label].address]
        assert (f["vault_name"], f["since_block"], f["until_block"]) == (f"MAM {label}", mam.follow_blocks[label],
                                                                         None)
    aggressive, picky = current[v["aggressive"].address]["rule"], current[v["picky"].address]["rule"]
    assert (aggressive["kind"], aggressive["multiplier_bps"]) == ("multiplier", 15_000)
    assert aggressive["words"].startswith("1.5x the master's size")
    assert (picky["kind"], picky["tolerance_bps"]) == ("equity", 10) and "0.1% worse" in picky["words"]
    (former,) = body["former_followers"]
    assert (former["vault"], former["since_block"], former["until_block"]) == (
        v["conservative"].address, mam.follow_blocks["conservative"], mam.unfollow_block)
    assert former["rule"]["words"].startswith("0.5x the master's size")


def test_master_trades_show_every_fill_at_the_block_price_and_every_skip_with_its_reason(
        mam: MamScenario, make_harness: MakeHarness, sqlite_url: str) -> None:
    v = mam.vaults
    with make_harness(sqlite_url) as h:
        h.sync()
        page = h.get(f"/strategies/{mam.strategy_id}/trades")
        (trade,) = page["items"]
        assert page["total"] == 1
        assert h.get(f"/strategies/{mam.strategy_id}/trades/{mam.signed.master.nonce}") == trade
        trade_ids = {v[label].address: h.get(f"/vaults/{v[label].address}/trades")["items"] for label in v}
    assert (trade["nonce"], trade["digest"]) == (str(mam.signed.master.nonce), "0x" + mam.signed.digest.hex())
    assert (trade["limit_price"], trade["ref_price"], trade["size_bps"]) == ("0.0001", REF_PRICE, 1000)
    assert [t["symbol"] for t in (trade["token_in"], trade["token_out"])] == ["USDC", "WETH"]
    assert len(trade["executions"]) == len(mam.executions) == 2
    for run, expected in zip(trade["executions"], mam.executions, strict=True):
        master = expected.master
        assert (run["tx_hash"], int(run["total_in"]), int(run["total_out"]), run["filled"], run["skipped"]) == (
            _hex(expected.receipt["transactionHash"]), master["totalIn"], master["totalOut"], master["filled"],
            master["skipped"])
        block_price = _price(master["totalOut"], master["totalIn"])
        assert abs(Decimal(run["block_price"]) - block_price) <= Decimal("1e-18")
        assert {f["vault"] for f in run["fills"]} == set(expected.fills)
        for fill in run["fills"]:
            log, alloc = expected.fills[fill["vault"]], expected.allocations[fill["vault"]]
            assert (int(fill["amount_in"]), int(fill["amount_out"]), int(fill["allocated"])) == (
                log["amountIn"], log["amountOut"], alloc["amountIn"])
            price = _price(log["amountOut"], log["amountIn"])
            assert abs(Decimal(fill["price"]) - price) <= Decimal("1e-18")
            assert abs(Decimal(fill["vs_ref_bps"]) - (price / Decimal(REF_PRICE) - 1) * 10_000) < Decimal("0.001")
            assert abs(Decimal(fill["vs_block_bps"])) < Decimal("0.01")  # one price for all, to rounding
            (vault_trade,) = [t for t in trade_ids[fill["vault"]] if t["id"] == fill["trade_id"]]
            assert vault_trade["tx_hash"] == run["tx_hash"]
        assert {s["vault"]: s["error"] for s in run["skips"]} == {a: name for a, (name, _) in expected.skipped.items()}
    first, second = trade["executions"]
    amounts = {f["vault"]: int(f["amount_in"]) for f in first["fills"]}
    assert amounts == {v["conservative"].address: 5_000 * USDC, v["aggressive"].address: 15_000 * USDC}
    skips = {s["vault"]: s for s in first["skips"]}
    assert skips[v["paused"].address]["reason"].startswith("the vault is paused (CohortPaused")
    picky = skips[v["picky"].address]
    assert picky["error"] == "CohortFillBelowTolerance" and picky["data"].startswith("0x")
    assert "price tolerance from the master" in picky["reason"]
    assert [f["vault"] for f in second["fills"]] == [v["paused"].address] and second["skips"] == []


def test_tickets_and_trades_name_the_strategy_trade_they_filled(mam: MamScenario, make_harness: MakeHarness,
                                                                sqlite_url: str) -> None:
    link = {"strategy_id": mam.strategy_id, "nonce": str(mam.signed.master.nonce),
            "digest": "0x" + mam.signed.digest.hex()}
    with make_harness(sqlite_url) as h:
        h.sync()
        for label in ("conservative", "aggressive", "paused"):
            vault, investor = mam.vaults[label].address, mam.investors[label]
            (trade,) = h.get(f"/vaults/{vault}/trades")["items"]
            assert trade["strategy"] == link and trade["digest"] == link["digest"]
            (ticket,) = h.get(f"/vaults/{vault}/investors/{investor}", tickets_limit=10)["tickets"]["items"]
            assert ticket["strategy"] == link and ticket["trade_id"] == trade["id"]
            assert h.get(f"/vaults/{vault}/investors/{investor}/tickets")["items"] == [ticket]
        assert h.get(f"/vaults/{mam.vaults['picky'].address}/trades")["total"] == 0  # skipped: no trade
        # a follower's audit log carries its skips; its books still reconcile with the chain
        paused = mam.vaults["paused"].address
        names = [e["name"] for e in h.get(f"/vaults/{paused}/events", limit=1000)["items"]]
        assert {"StrategyFollowed", "FollowerSkipped", "StrategyAllocated", "TradeExecuted"} <= set(names)
        for vault in mam.vaults.values():
            assert h.get(f"/vaults/{vault.address}/reconciliation")["ok"], vault.address


def _strategy_answers(h: Harness, mam: MamScenario) -> dict[str, Any]:
    paths = ["/strategies", f"/strategies/{mam.strategy_id}", f"/strategies/{mam.strategy_id}/trades"]
    paths += [f"/vaults/{v.address}/trades" for v in mam.vaults.values()]
    return {p: h.get(p) for p in paths}


def test_postgresql_and_a_rebuild_from_stored_events_answer_alike(mam: MamScenario, make_harness: MakeHarness,
                                                                  sqlite_url: str, postgres_url: str) -> None:
    answers = []
    for url in (sqlite_url, postgres_url):
        with make_harness(url) as h:
            h.sync()
            answers.append(_strategy_answers(h, mam))
            if url == sqlite_url:  # what a reorg does: every projection replayed from the stored events
                with Session(h.engine) as session:
                    store.rebuild_projections(session, h.indexer.factory, h.indexer.strategies)
                    session.commit()
                h.client.app.state.cohort.contexts.clear()  # type: ignore[attr-defined]
                assert _strategy_answers(h, mam) == answers[0]
    assert answers[0] == answers[1]


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/strategies/0", 422, "invalid_input"),
    ("/strategies/ten", 422, "invalid_input"),
    (f"/strategies/{2**63}", 422, "invalid_input"),
    ("/strategies/999999/trades", 404, "not_found"),
    ("/strategies/1/trades/0x10", 422, "invalid_input"),
    (f"/strategies/1/trades/{2**256}", 422, "invalid_input"),
])
def test_bad_strategy_input_is_a_4xx_json_answer(mam: MamScenario, make_harness: MakeHarness, sqlite_url: str,
                                                 path: str, status: int, code: str) -> None:
    with make_harness(sqlite_url) as h:
        h.sync()
        response = h.client.get(path)
        assert (response.status_code, response.json()["code"]) == (status, code), response.text
        unknown = h.client.get("/strategies/999999")
        assert unknown.status_code == 404 and "no strategy 999999 is indexed" in unknown.json()["detail"]
        assert unknown.json()["indexed_block"] == h.get("/health")["indexed_block"]
        missing = h.client.get(f"/strategies/{mam.strategy_id}/trades/12345")
        assert missing.status_code == 404 and "no executed master signal with nonce 12345" in missing.json()["detail"]
