"""Keeper test fixtures: keepers running for real (in a thread, or as a `cohort-keeper run`
process) against anvil with Uniswap, spoken to over HTTP.

A keeper started here is stopped before the test's chain snapshot is reverted (fixture
teardown order), and every process a test starts is stopped by the fixture that started it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from web3 import Web3

from cohort import signals
from cohort.accounts import dev_account
from cohort.dev.stack import Anvil, Child, free_port, keeper_process, private_key_of
from cohort.vault import Vault
from keeper.service import Keeper, build_keeper
from keeper.settings import KeeperSettings, load_settings
from tests.conftest import Roles
from tests.helpers import SignalBook, deposit

KEEPER_INDEX = 2  # roles.keeper is dev account 2
SECOND_KEEPER_INDEX = 13  # an investor account no keeper test deposits from
FINAL = {"executed", "executed_by_other", "rejected", "failed", "expired"}


def keeper_key(index: int = KEEPER_INDEX) -> str:
    return private_key_of(dev_account(index))


def base_settings(rpc_url: str, vaults: list[str], db_path: Path, **overrides: Any) -> KeeperSettings:
    """Fast settings for tests: short polls and retries, duties off unless asked for."""
    values: dict[str, Any] = {
        "rpc_url": rpc_url, "vaults": vaults, "db_path": db_path, "port": 0, "private_key": keeper_key(),
        "poll_interval_s": 0.05, "retry_delay_s": 0.2, "rpc_backoff_initial_s": 0.05, "rpc_backoff_max_s": 0.5,
        "fees_interval_s": 0, "redemptions_interval_s": 0, "risk_interval_s": 0, "log_level": "DEBUG",
    }
    values.update(overrides)
    return load_settings(None, **values)


def _poll(read: Callable[[], dict[str, Any]], name: str, predicate: Callable[[dict[str, Any]], bool],
          timeout: float, what: str) -> dict[str, Any]:
    """`read()` again until `predicate` holds; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        record = read()
        if predicate(record):
            return record
        if time.monotonic() > deadline:
            raise AssertionError(f"{name}: {what} not reached in {timeout}s: {record}")
        time.sleep(0.05)


class KeeperClient:
    """HTTP access to a running keeper."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30.0)

    def post(self, signed: signals.SignedSignal | bytes | str) -> httpx.Response:
        if isinstance(signed, signals.SignedSignal):
            body: bytes | str = signed.to_json()
        else:
            body = signed
        return self.http.post("/signals", content=body, headers={"content-type": "application/json"})

    def signal(self, signal_id: int, wait: float = 0) -> dict[str, Any]:
        answer = self.http.get(f"/signals/{signal_id}", params={"wait": wait} if wait else None)
        answer.raise_for_status()
        return dict(answer.json())

    def master(self, master_id: int, wait: float = 0) -> dict[str, Any]:
        answer = self.http.get(f"/masters/{master_id}", params={"wait": wait} if wait else None)
        answer.raise_for_status()
        return dict(answer.json())

    def wait_for(self, signal_id: int, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30.0,
                 what: str = "condition") -> dict[str, Any]:
        return _poll(lambda: self.signal(signal_id), f"signal #{signal_id}", predicate, timeout, what)

    def wait_for_master(self, master_id: int, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30.0,
                        what: str = "condition") -> dict[str, Any]:
        return _poll(lambda: self.master(master_id), f"master #{master_id}", predicate, timeout, what)

    def wait_final(self, signal_id: int, timeout: float = 30.0) -> dict[str, Any]:
        return self.wait_for(signal_id, lambda r: r["state"] in FINAL, timeout, "a final state")

    def health(self) -> tuple[int, dict[str, Any]]:
        answer = self.http.get("/healthz")
        return answer.status_code, dict(answer.json())

    def metrics(self) -> str:
        return self.http.get("/metrics").text

    def close(self) -> None:
        self.http.close()


@dataclass
class ThreadKeeper:
    """A keeper running its own event loop in a thread of the test process."""

    keeper: Keeper
    thread: threading.Thread
    client: KeeperClient
    errors: list[BaseException] = field(default_factory=list)

    def stop(self) -> None:
        self.keeper.request_stop()
        self.thread.join(20)
        self.client.close()
        assert not self.thread.is_alive(), "the keeper did not stop within 20 s"


def start_thread_keeper(settings: KeeperSettings) -> ThreadKeeper:
    keeper = build_keeper(settings)
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(keeper.run())
        except BaseException as exc:  # surfaced by the fixture
            errors.append(exc)

    thread = threading.Thread(target=target, name="keeper", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not keeper.ready.is_set():
        if errors or not thread.is_alive():
            raise RuntimeError(f"keeper did not start: {errors}")
        if time.monotonic() > deadline:
            keeper.request_stop()
            raise RuntimeError("keeper did not get ready within 30 s")
        time.sleep(0.01)
    return ThreadKeeper(keeper, thread, KeeperClient(f"http://127.0.0.1:{keeper.http_port}"), errors)


@pytest.fixture
def start_keeper(anvil: Anvil, tmp_path: Path) -> Iterator[Callable[..., ThreadKeeper]]:
    """`start_keeper(vaults, **settings)`: a keeper on the session chain; stopped at teardown."""
    running: list[ThreadKeeper] = []

    def start(vaults: list[str], *, rpc_url: str | None = None, **overrides: Any) -> ThreadKeeper:
        overrides.setdefault("db_path", tmp_path / f"keeper{len(running)}.db")
        db_path = overrides.pop("db_path")
        settings = base_settings(rpc_url or anvil.rpc_url, vaults, db_path, **overrides)
        k = start_thread_keeper(settings)
        running.append(k)
        return k

    yield start
    for k in running:
        if k.thread.is_alive():
            k.stop()
        assert not k.errors, f"keeper raised: {k.errors}"


@dataclass
class ProcessKeeper:
    """`cohort-keeper run` in its own process (killed with SIGKILL by the fault tests)."""

    child: Child
    port: int

    @property
    def log_path(self) -> Path:
        assert self.child.log_path is not None
        return self.child.log_path

    def start(self, timeout: float = 30.0) -> KeeperClient:
        self.child.start()
        self.child.wait_ready(timeout)
        return KeeperClient(f"http://127.0.0.1:{self.port}")

    def kill(self) -> None:
        """SIGKILL: no chance to record anything more."""
        self.child.kill()

    def terminate(self, timeout: float = 15.0) -> int:
        return self.child.terminate(timeout)


@pytest.fixture
def process_keeper(anvil: Anvil, tmp_path: Path) -> Iterator[Callable[..., ProcessKeeper]]:
    """`process_keeper(vaults, **settings)`: a keeper process (not started yet); killed at teardown."""
    made: list[ProcessKeeper] = []

    def make(vaults: list[str], **overrides: Any) -> ProcessKeeper:
        port = free_port()
        settings: dict[str, Any] = {
            "rpc_url": anvil.rpc_url, "vaults": vaults, "db_path": str(tmp_path / "proc-keeper.db"), "port": port,
            "poll_interval_s": 0.05, "retry_delay_s": 0.2, "rpc_backoff_initial_s": 0.05, "rpc_backoff_max_s": 0.5,
            "fees_interval_s": 0, "redemptions_interval_s": 0, "risk_interval_s": 0, "log_level": "DEBUG"}
        settings.update(overrides)
        pk = ProcessKeeper(keeper_process(tmp_path / "keeper.toml", settings, keeper_key(), tmp_path / "keeper.log"),
                           port)
        made.append(pk)
        return pk

    yield make
    for pk in made:
        if pk.child.running:
            pk.kill()


@pytest.fixture
def funded_vault(w3: Web3, deployment: Any, vault: Vault, roles: Roles) -> Vault:
    """The standard vault with 100,000 USDC deposited (undone after the test)."""
    deposit(w3, deployment, vault, roles.investors[0], 100_000 * 10**6)
    return vault


@pytest.fixture
def book(funded_vault: Vault, deployment: Any, roles: Roles) -> SignalBook:
    return SignalBook(funded_vault, deployment, roles.manager)


def trade_events(w3: Web3, vault: Vault, digest: str) -> list[Any]:
    """Every TradeExecuted of `digest` on `vault` (must be exactly one after an execution)."""
    event = vault.contract.events.TradeExecuted
    return list(event.get_logs(from_block=0, argument_filters={"digest": bytes.fromhex(digest[2:])}))


def anvil_rpc(w3: Web3, method: str, *params: Any) -> Any:
    """An anvil-only RPC that DevChain has no method for (anvil_dropTransaction, ...)."""
    answer = w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    assert "error" not in answer, answer
    return answer.get("result")


def txs_of(w3: Web3, address: str) -> int:
    return int(w3.eth.get_transaction_count(Web3.to_checksum_address(address), "latest"))
