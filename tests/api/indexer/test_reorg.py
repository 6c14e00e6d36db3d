"""docs/SECURITY.md 25: after `anvil_reorg` or `anvil_rollback` during indexing, the API equals a
fresh re-index of the new chain.

anvil drops every evm_snapshot on a reorg or a rollback, so these tests run on an anvil of
their own (the session chain's per-test snapshots must survive); each test uses its own vault.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from cohort import manifest as mf
from cohort import protocol
from cohort.accounts import dev_account
from cohort.dev import devnet
from cohort.dev.anvil import DevChain
from cohort.dev.stack import Anvil
from cohort.tx import transact
from cohort.vault import MAX_UINT256, Vault
from tests.api.conftest import Harness, api_dump, harness
from tests.api.mam_scenario import build_mam
from tests.api.scenario import USDC
from tests.conftest import Roles


@dataclass
class Fork:
    node: Anvil
    w3: Web3
    chain: DevChain
    manifest: mf.Manifest
    path: Path
    accounts: list[str]

    def vault(self, label: str) -> Vault:
        a = self.accounts
        return protocol.create_vault(self.w3, self.manifest, protocol.VaultConfig(), label=label, owner=a[1],
                                     manager=dev_account(5).address, guardian=a[3], fee_recipient=a[4],
                                     keepers=[a[2]], sender=a[1])

    def ready(self, vault: Vault, investors: list[str]) -> None:
        """Fund and approve, so a deposit is one transaction (one block) from now on."""
        usdc = devnet.token(self.w3, self.manifest, "USDC")
        for who in investors:
            devnet.fund(self.w3, self.manifest, "USDC", who, 100_000 * USDC)
            transact(usdc.functions.approve(vault.address, MAX_UINT256), who)

    def deposit_tx(self, vault: Vault, who: str, assets: int) -> dict[str, Any]:
        return {"from": who, "to": vault.address, "gas": 1_000_000,
                "data": vault.fn.deposit(assets, who)._encode_transaction_data()}

    def harness(self, database_url: str) -> Any:
        return harness(self.node.rpc_url, self.path, database_url)


@pytest.fixture(scope="module")
def fork(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fork]:
    folder = tmp_path_factory.mktemp("fork")
    node = Anvil(log_path=folder / "anvil.log")
    w3 = node.start()
    try:
        path = folder / "local.json"
        m = protocol.ensure_protocol(w3, devnet.bootstrap(w3, path, rpc_url=node.rpc_url), path)
        chain = DevChain(w3)
        yield Fork(node, w3, chain, m, path, chain.dev_accounts())
    finally:
        node.stop()


def _dump(h: Harness, vault: Vault, people: list[str]) -> dict[str, Any]:
    h.client.app.state.cohort.contexts.clear()  # type: ignore[attr-defined]
    return api_dump(h, [vault.address], people)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'reorg.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def test_a_reorg_under_the_indexer_ends_as_a_fresh_index(fork: Fork, database_url: str, tmp_path: Path) -> None:
    a, b, c, d = fork.accounts[7:11]
    vault = fork.vault(f"reorg-{database_url[:6]}")
    fork.ready(vault, [a, b, c, d])
    vault.deposit(1_000 * USDC, a, approve=False)
    vault.deposit(2_000 * USDC, b, approve=False)
    vault.deposit(3_000 * USDC, c, approve=False)
    with fork.harness(database_url) as h:
        h.sync(fork.w3.eth.block_number - 1)  # b's deposit is indexed, c's is not yet
        assert h.get(f"/vaults/{vault.address}/investors/{b}")["shares"] != "0"
        # b's and c's blocks are replaced: d deposits instead, and a deposits again
        fork.chain.reorg(2, [[fork.deposit_tx(vault, d, 4_000 * USDC), 0], [fork.deposit_tx(vault, a, 500 * USDC), 1]])
        vault.deposit(700 * USDC, c, approve=False)
        report = h.sync()
        assert report.reorgs == 1
        assert h.get("/health")["reorgs"] == 1
        assert h.client.get(f"/vaults/{vault.address}/investors/{b}").status_code == 404
        assert int(h.get(f"/vaults/{vault.address}/investors/{a}")["deposited_assets"]) == 1_500 * USDC
        assert h.get(f"/vaults/{vault.address}/reconciliation")["ok"]
        after = _dump(h, vault, [a, b, c, d])
    with fork.harness(f"sqlite:///{tmp_path / 'fresh.sqlite3'}") as fresh:
        fresh.sync()
        assert after == _dump(fresh, vault, [a, b, c, d])


def test_a_rollback_under_the_indexer_ends_as_a_fresh_index(fork: Fork, tmp_path: Path) -> None:
    a, b, c = fork.accounts[11:14]
    vault = fork.vault("rollback")
    fork.ready(vault, [a, b, c])
    for who, amount in ((a, 1_000), (b, 2_000), (c, 3_000)):
        vault.deposit(amount * USDC, who, approve=False)
    with fork.harness(f"sqlite:///{tmp_path / 'rolled.sqlite3'}") as h:
        h.sync()
        fork.chain.rollback(2)  # b's and c's deposits are gone, the chain is shorter than the cursor
        assert h.sync().reorgs == 1
        assert h.client.get(f"/vaults/{vault.address}/investors/{c}").status_code == 404
        vault.deposit(5_000 * USDC, c, approve=False)
        h.sync()
        assert int(h.get(f"/vaults/{vault.address}/investors/{c}")["deposited_assets"]) == 5_000 * USDC
        assert h.get(f"/vaults/{vault.address}/reconciliation")["ok"]
        after = _dump(h, vault, [a, b, c])
    with fork.harness(f"sqlite:///{tmp_path / 'fresh.sqlite3'}") as fresh:
        fresh.sync()
        assert after == _dump(fresh, vault, [a, b, c])


def test_the_stream_announces_a_rollback(fork: Fork, tmp_path: Path) -> None:
    a, b = fork.accounts[14:16]
    vault = fork.vault("stream-reorg")
    fork.ready(vault, [a, b])
    vault.deposit(1_000 * USDC, a, approve=False)
    with fork.harness(f"sqlite:///{tmp_path / 'stream.sqlite3'}") as h:
        h.sync()
        with h.client.websocket_connect(f"/vaults/{vault.address}/stream") as ws:
            assert ws.receive_json()["type"] == "hello"
            dropped = fork.w3.eth.block_number
            fork.chain.reorg(1, [[fork.deposit_tx(vault, b, 2_000 * USDC), 0]])
            h.sync()
            rollback = ws.receive_json()
            # the indexer went back to the newest block it had stored that is still on the chain
            assert rollback["type"] == "rollback" and rollback["block_number"] < dropped
            replayed = []
            while not replayed or replayed[-1]["name"] != "Deposit":
                replayed.append(ws.receive_json())
            assert replayed[-1]["args"]["owner"] == b


def test_a_rollback_of_strategy_blocks_ends_as_a_fresh_index(fork: Fork, tmp_path: Path) -> None:
    acc = fork.accounts
    roles = Roles(deployer=acc[0], owner=acc[1], keeper=acc[2], guardian=acc[3], fee_recipient=acc[4],
                  manager=dev_account(5), outsider=acc[6], investors=tuple(acc[16:19]) + tuple(acc[7:10]))
    mam = build_mam(fork.w3, fork.manifest, roles)
    strategy = f"/strategies/{mam.strategy_id}"
    with fork.harness(f"sqlite:///{tmp_path / 'mam.sqlite3'}") as h:
        h.sync()
        assert h.get(strategy)["former_followers"] and len(h.get(f"{strategy}/trades")["items"][0]["executions"]) == 2
        fork.chain.rollback(3)  # the second execution, the unfollow and the new manager are gone
        assert h.sync().reorgs == 1
        body = h.get(strategy)
        assert (body["manager"], body["followers"], body["former_followers"]) == (mam.manager, 4, [])
        (trade,) = h.get(f"{strategy}/trades")["items"]
        assert len(trade["executions"]) == 1
        after = {p: h.get(p) for p in (strategy, f"{strategy}/trades", "/strategies")}
    with fork.harness(f"sqlite:///{tmp_path / 'fresh.sqlite3'}") as fresh:
        fresh.sync()
        assert after == {p: fresh.get(p) for p in after}
