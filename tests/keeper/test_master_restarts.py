"""A keeper killed in the middle of a master signal's chunks (SIGKILL, one chunk mined, the next
pending) and restarted completes the rest, and every follower's share fills exactly once."""

from __future__ import annotations

from typing import Any

from web3 import Web3

from cohort import manifest as mf
from cohort.dev.anvil import DevChain
from tests.conftest import Roles
from tests.keeper.conftest import trade_events, txs_of
from tests.mam import EQUITY, HALF, ONE_AND_HALF, MasterBook, follower, new_strategy


def _broadcast(record: dict[str, Any]) -> int:
    return sum(1 for t in record["transactions"] if t["status"] == "broadcast")


def test_keeper_killed_mid_batch_completes_the_rest_exactly_once(
        w3: Web3, chain: DevChain, deployment: mf.Manifest, roles: Roles, process_keeper) -> None:
    s, strategy_id = new_strategy(w3, deployment, roles)
    book = MasterBook(s, deployment, strategy_id, roles.manager)
    vaults = [follower(w3, deployment, roles, s, strategy_id, rule) for rule in (EQUITY, HALF, ONE_AND_HALF)]
    pk = process_keeper([v.address for v in vaults], strategies=s.address, max_followers_per_chunk=1,
                        replace_after_s=600)
    client = pk.start()
    sent_before = txs_of(w3, roles.keeper)
    signed = book.signed(size_bps=500)
    chain.set_automine(False)
    try:
        master_id = client.http.post("/masters", content=signed.to_json()).json()["id"]
        client.wait_for_master(master_id, lambda r: _broadcast(r) == 1, what="chunk 1 broadcast")
        chain.mine()  # chunk 1 mined; the keeper records it and sends chunk 2
        second = client.wait_for_master(master_id, lambda r: len(r["transactions"]) == 2 and _broadcast(r) == 1,
                                        what="chunk 2 broadcast")
        assert [f["state"] for f in second["followers"]] == ["filled", "sent", "pending"]
        pk.kill()  # SIGKILL with chunk 2 in the mempool
        chain.mine()  # chunk 2 mined while no keeper runs
    finally:
        chain.set_automine(True)

    client = pk.start()
    record = client.master(master_id, wait=60)

    assert record["state"] == "executed", record
    assert [f["state"] for f in record["followers"]] == ["filled"] * 3
    assert [f["chunk"] for f in record["followers"]] == [1, 2, 3]
    assert len(record["transactions"]) == 3  # chunk 2 was settled from the store, not sent again
    assert txs_of(w3, roles.keeper) == sent_before + 3
    for v in vaults:
        assert len(trade_events(w3, v, "0x" + signed.digest.hex())) == 1, v.address
        assert s.share_filled(strategy_id, v.address, signed.master.nonce)
