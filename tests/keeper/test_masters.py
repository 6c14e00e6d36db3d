"""Master signals through a real keeper (HTTP, store, sender) on anvil with real Uniswap: intake
refusals by name, chunked execution at one price, each follower's outcome recorded and shown."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from web3 import Web3

from cohort import cli, strategies
from cohort import manifest as mf
from cohort.accounts import dev_account
from cohort.dev.anvil import DevChain
from cohort.settings import CohortSettings
from cohort.strategies import FollowRule, RuleKind
from cohort.tx import transact
from keeper.cli import main as keeper_cli
from keeper.store import Store
from tests.conftest import Roles
from tests.keeper.conftest import SECOND_KEEPER_INDEX, trade_events, txs_of
from tests.mam import EQUITY, HALF, ONE_AND_HALF, USDC, MasterBook, follower, new_strategy, pause


def _post(client: Any, body: str | bytes) -> Any:
    return client.http.post("/masters", content=body, headers={"content-type": "application/json"})


@pytest.fixture
def mam(w3: Web3, deployment: mf.Manifest, roles: Roles) -> tuple[Any, int, MasterBook]:
    s, strategy_id = new_strategy(w3, deployment, roles)
    return s, strategy_id, MasterBook(s, deployment, strategy_id, roles.manager)


def test_three_rules_fill_one_master_in_chunks_at_one_price(
        w3: Web3, deployment: mf.Manifest, roles: Roles, mam: Any, start_keeper) -> None:
    s, strategy_id, book = mam
    lot = FollowRule(RuleKind.FIXED_LOT, fixed_lot=300 * USDC, min_lot=USDC)
    vaults = [follower(w3, deployment, roles, s, strategy_id, rule) for rule in (HALF, ONE_AND_HALF, lot)]
    k = start_keeper([v.address for v in vaults], strategies=s.address, max_followers_per_chunk=2)
    sent_before = txs_of(w3, roles.keeper)

    signed = book.signed(size_bps=1000, lots=2 * 10**18)
    answer = _post(k.client, signed.to_json())
    assert answer.status_code == 202, answer.text
    record = k.client.master(answer.json()["id"], wait=60)

    assert record["state"] == "executed", record
    assert [f["state"] for f in record["followers"]] == ["filled"] * 3
    assert [f["chunk"] for f in record["followers"]] == [1, 1, 2]  # two per transaction
    assert len(record["transactions"]) == 2 and txs_of(w3, roles.keeper) == sent_before + 2
    ins = [int(f["amount_in"]) for f in record["followers"]]
    assert ins[0] == 1_000 * USDC and ins[1] == 3_000 * USDC and ins[2] == 600 * USDC  # 10% x 0.5, x1.5; 2 lots
    for v, f in zip(vaults, record["followers"], strict=True):
        trades = trade_events(w3, v, record["digest"])
        assert len(trades) == 1 and trades[0]["args"]["amountIn"] == int(f["amount_in"])
        assert trades[0]["args"]["amountOut"] == int(f["amount_out"]) > 0
        assert s.share_filled(strategy_id, v.address, signed.master.nonce)
    # one chunk, one price: the two followers of chunk 1 got the same WETH per USDC (to rounding)
    a, b = record["followers"][:2]
    assert abs(int(a["amount_out"]) * int(b["amount_in"]) - int(b["amount_out"]) * int(a["amount_in"])) \
        <= int(a["amount_in"]) + int(b["amount_in"])


def test_a_follower_that_fails_its_own_check_is_skipped_with_its_reason(
        w3: Web3, deployment: mf.Manifest, roles: Roles, mam: Any, start_keeper) -> None:
    s, strategy_id, book = mam
    ok, paused = (follower(w3, deployment, roles, s, strategy_id, EQUITY) for _ in range(2))
    pause(paused, roles.guardian)
    k = start_keeper([ok.address, paused.address], strategies=s.address)
    record = k.client.master(_post(k.client, book.signed().to_json()).json()["id"], wait=60)

    assert record["state"] == "executed", record
    by_vault = {f["follower"]: f for f in record["followers"]}
    assert by_vault[ok.address]["state"] == "filled"
    skipped = by_vault[paused.address]
    assert skipped["state"] == "skipped" and skipped["reason"] == "CohortPaused"
    assert "the vault is paused" in skipped["detail"]
    assert trade_events(w3, paused, record["digest"]) == [] and len(trade_events(w3, ok, record["digest"])) == 1


def test_a_master_the_manager_cancelled_fails_at_once_and_nothing_is_sent(
        w3: Web3, deployment: mf.Manifest, roles: Roles, mam: Any, start_keeper) -> None:
    s, strategy_id, book = mam
    v = follower(w3, deployment, roles, s, strategy_id, EQUITY)
    k = start_keeper([v.address], strategies=s.address)
    signed = book.signed()
    nonce = signed.master.nonce
    transact(s.fn.cancelMasters(strategy_id, nonce >> 8, 1 << (nonce & 0xFF)), roles.manager.address)
    sent_before = txs_of(w3, roles.keeper)
    answer = _post(k.client, signed.to_json())
    assert answer.status_code == 202, answer.text
    record = k.client.master(answer.json()["id"], wait=30)
    assert (record["state"], record["reason"]) == ("failed", "cancelled"), record
    assert txs_of(w3, roles.keeper) == sent_before
    assert not s.share_filled(strategy_id, v.address, nonce)


def test_a_share_filled_by_someone_else_is_recorded_and_never_sent_again(
        w3: Web3, deployment: mf.Manifest, roles: Roles, mam: Any, start_keeper) -> None:
    s, strategy_id, book = mam
    first, second = (follower(w3, deployment, roles, s, strategy_id, EQUITY) for _ in range(2))
    other_keeper = roles.investors[SECOND_KEEPER_INDEX - 7]  # dev account 13, an allowed keeper of `first` too
    transact(first.fn.setKeeper(other_keeper, True), roles.owner)
    signed = book.signed()
    total_in, total_out = s.simulate(signed, [first.address], other_keeper)
    s.execute(signed, [first.address], strategies.floor_price(total_in, total_out, 30), other_keeper)
    k = start_keeper([first.address, second.address], strategies=s.address)
    sent_before = txs_of(w3, roles.keeper)
    record = k.client.master(_post(k.client, signed.to_json()).json()["id"], wait=60)

    assert record["state"] == "executed", record
    by_vault = {f["follower"]: f for f in record["followers"]}
    other = by_vault[first.address]
    assert other["state"] == "filled_by_other" and int(other["amount_in"]) == total_in
    assert other_keeper in other["detail"]
    assert by_vault[second.address]["state"] == "filled" and by_vault[second.address]["chunk"] == 1
    assert txs_of(w3, roles.keeper) == sent_before + 1  # one chunk, with the second follower only
    assert [len(trade_events(w3, v, record["digest"])) for v in (first, second)] == [1, 1]


def test_followers_of_other_strategies_and_vaults_without_this_keeper_are_left_out(
        w3: Web3, deployment: mf.Manifest, roles: Roles, mam: Any, start_keeper, monkeypatch: Any,
        capsys: Any) -> None:
    s, strategy_id, book = mam
    mine = follower(w3, deployment, roles, s, strategy_id, EQUITY)
    other_id = s.create(roles.manager.address, "other", roles.owner)
    other = follower(w3, deployment, roles, s, other_id, EQUITY)
    not_mine = follower(w3, deployment, roles, s, strategy_id, EQUITY)
    transact(not_mine.fn.setKeeper(roles.keeper, False), roles.owner)  # follows, but not relayed by this keeper
    k = start_keeper([mine.address, other.address, not_mine.address], strategies=s.address)
    record = k.client.master(_post(k.client, book.signed().to_json()).json()["id"], wait=60)
    assert [f["follower"] for f in record["followers"]] == [mine.address]
    listed = k.client.http.get("/masters", params={"strategy": strategy_id}).json()["masters"]
    assert [m["id"] for m in listed] == [record["id"]]
    k.stop()
    monkeypatch.setenv("KEEPER_DB_PATH", str(k.keeper.settings.db_path))
    capsys.readouterr()
    assert keeper_cli(["masters"]) == 0
    out = capsys.readouterr().out
    assert f"executed    {strategy_id:>8}" in out and "1 filled" in out
    assert keeper_cli(["masters", str(record["id"])]) == 0
    assert json.loads(capsys.readouterr().out)["followers"][0]["state"] == "filled"


def test_a_master_signed_with_the_cli_is_executed_through_cohort_keeper_submit(
        w3: Web3, anvil: Any, manifest_path: Any, deployment: mf.Manifest, roles: Roles, mam: Any, start_keeper,
        tmp_path: Any, capsys: Any) -> None:
    s, strategy_id, _book = mam
    v = follower(w3, deployment, roles, s, strategy_id, EQUITY)
    k = start_keeper([v.address], strategies=s.address)
    out_file = tmp_path / "master.json"
    settings = CohortSettings(rpc_url=anvil.rpc_url, manifest=manifest_path)
    code = cli.main(["strategy", "sign", str(strategy_id), "--sell", "USDC", "--buy", "WETH", "--size", "5%",
                     "--max-price", "6000", "--ref-price", "3000", "--out", str(out_file), "--dev-account", "5"],
                    settings=settings)
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    assert keeper_cli(["submit", str(out_file), "--url", k.client.url, "--wait", "60"]) == 0
    out, err = capsys.readouterr()
    assert "executed: 1 filled" in err
    record = json.loads(out)
    assert record["followers"][0]["follower"] == v.address and int(record["followers"][0]["amount_in"]) == 1_000 * USDC
    assert len(trade_events(w3, v, record["digest"])) == 1


def _json(signed: Any, **changes: Any) -> str:
    data = signed.to_json_dict()
    data.update(changes)
    return json.dumps(data)


CASES = {
    "not JSON": (lambda b, c: b"{'master': 1", 400, "malformed_json"),
    "a field missing": (lambda b, c: json.dumps({**b.signed().to_json_dict(), "master": {}}), 422, "invalid_signal"),
    "another strategies contract": (lambda b, c: _json(b.signed(), strategies="0x" + "ab" * 20), 422,
                                    "unknown_strategy"),
    "a strategy that does not exist": (lambda b, c: b.signed(strategy_id=999).to_json(), 422, "unknown_strategy"),
    "another chain": (lambda b, c: b.sign(b.build(), domain=replace(b.domain, chain_id=1)).to_json(), 422,
                      "wrong_chain"),
    "digest does not match": (lambda b, c: _json(b.signed(), digest="0x" + "11" * 32), 422, "digest_mismatch"),
    "signed by someone else": (lambda b, c: b.sign(b.build(), signer=dev_account(6)).to_json(), 422,
                               "bad_signature"),
    "deadline passed": (lambda b, c: b.signed(deadline=c.timestamp() - 1).to_json(), 422, "expired"),
}


def test_every_refusal_is_named_recorded_and_nothing_is_sent(
        w3: Web3, chain: DevChain, deployment: mf.Manifest, roles: Roles, mam: Any, start_keeper,
        tmp_path: Any) -> None:
    s, strategy_id, book = mam
    v = follower(w3, deployment, roles, s, strategy_id, EQUITY)
    k = start_keeper([v.address], strategies=s.address, db_path=tmp_path / "refusals.db", refusal_burst=100)
    sent_before = txs_of(w3, roles.keeper)
    for name, (make, status, code) in CASES.items():
        answer = _post(k.client, make(book, chain))
        assert (answer.status_code, answer.json()["error"]) == (status, code), (name, answer.text)
        stored = k.client.master(answer.json()["id"])
        assert stored["state"] == "rejected" and stored["reason"] == code, name
    signed = book.signed()
    first, again = _post(k.client, signed.to_json()), _post(k.client, signed.to_json())
    assert first.status_code == 202 and again.status_code == 200 and again.json()["duplicate"] is True
    assert k.client.master(first.json()["id"], wait=60)["state"] == "executed"
    assert txs_of(w3, roles.keeper) == sent_before + 1  # only the accepted one was sent, once
    k.stop()
    store = Store(tmp_path / "refusals.db")
    try:
        assert store.master_counts() == {"rejected": len(CASES), "executed": 1}
    finally:
        store.close()
