"""The keeper: one object that owns the store, the node connection, the sender, the HTTP
server, one worker per vault and the duties (registered with the `@keeper.duty` decorator, in
the shape of a Silverback bot, on a plain asyncio loop).

    keeper = build_keeper(load_settings(Path("keeper.toml")))

    @keeper.duty("poke", interval_s=60)
    async def poke(ctx: DutyContext, vault: str) -> str | None:
        ...

    asyncio.run(keeper.run())
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from eth_account.signers.local import LocalAccount

from cohort.errors import ContractRevert
from keeper import __version__, policy
from keeper.abi import strategies_calls, vault_calls
from keeper.breaker import BreakerGuard
from keeper.columns import Submission
from keeper.duties import DutyContext, DutyFn, DutySkipped, register_standard_duties
from keeper.errors import ConfigError, RpcUnavailable
from keeper.intake import Intake, Verifier
from keeper.master_pipeline import MasterPipeline
from keeper.masters import MasterIntake, MasterVerifier, StrategyDirectory
from keeper.metrics import KeeperMetrics
from keeper.node import Node
from keeper.pipeline import Parked, SignalPipeline
from keeper.policy import SignalState
from keeper.rpc import Rpc
from keeper.sender import TxSender
from keeper.settings import KeeperSettings
from keeper.store import Store
from keeper.vaults import VaultDirectory

log = logging.getLogger("keeper")


def _wake(waiters: dict[int, asyncio.Event], key: int) -> None:
    """Answer the long-polls waiting for signal or master `key` (it is final)."""
    waiter = waiters.pop(key, None)
    if waiter is not None:
        waiter.set()


async def _wait_final(waiters: dict[int, asyncio.Event], key: int, record: Submission | None,
                      timeout: float) -> None:
    """Wait until `_wake(waiters, key)` or `timeout`; at once when the record is missing or final."""
    if record is None or record.terminal or timeout <= 0:
        return
    waiter = waiters.setdefault(key, asyncio.Event())
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(waiter.wait(), timeout)


@dataclass
class Duty:
    name: str
    interval_s: float
    fn: DutyFn
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)  # vault -> last run


class _Server(uvicorn.Server):
    """uvicorn inside the keeper's loop; the keeper, not uvicorn, handles SIGTERM and SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Keeper:
    def __init__(self, settings: KeeperSettings, *, account: LocalAccount | None = None) -> None:
        self.settings = settings
        self.account = account or settings.load_account()
        self.address = self.account.address
        self.vault_addresses = settings.vault_addresses()
        self.store = Store(settings.db_path, synchronous=settings.sqlite_synchronous)
        self.metrics = KeeperMetrics(self.store)
        self.rpc = Rpc(settings.rpc_url, timeout=settings.rpc_timeout_s)
        self.abi = vault_calls()
        self.node = Node(self.rpc, poll_interval=settings.poll_interval_s,
                         backoff_initial=settings.rpc_backoff_initial_s,
                         backoff_max=settings.rpc_backoff_max_s, metrics=self.metrics)
        self.breaker = BreakerGuard(settings.breaker_threshold, settings.breaker_cooldown_s, self.metrics)
        self.directory = VaultDirectory(self.vault_addresses, self.rpc, self.abi)
        self.sender = TxSender(node=self.node, store=self.store, account=self.account, settings=settings,
                               breaker=self.breaker, metrics=self.metrics)
        self.verifier = Verifier(directory=self.directory, node=self.node, expected_chain_id=settings.chain_id,
                                 deadline_margin_s=settings.deadline_margin_s)
        self.intake = Intake(store=self.store, verifier=self.verifier, node=self.node, metrics=self.metrics,
                             max_body_bytes=settings.max_body_bytes, enqueue=self.enqueue,
                             refusals=policy.RefusalBudget(settings.refusal_burst, settings.refusals_per_s))
        self.started_at = time.time()
        self.pipeline = SignalPipeline(store=self.store, node=self.node, sender=self.sender, verifier=self.verifier,
                                       directory=self.directory, abi=self.abi, breaker=self.breaker,
                                       metrics=self.metrics, settings=settings, started_at=self.started_at,
                                       on_finished=self._finished)
        self.strategies = StrategyDirectory(settings.strategies_address(), self.node)
        self.master_intake = MasterIntake(
            store=self.store, node=self.node, metrics=self.metrics, max_body_bytes=settings.max_body_bytes,
            verifier=MasterVerifier(directory=self.strategies, node=self.node, expected_chain_id=settings.chain_id,
                                    deadline_margin_s=settings.deadline_margin_s),
            enqueue=self.enqueue_master, refusals=self.intake.refusals)
        self.masters = MasterPipeline(store=self.store, node=self.node, sender=self.sender,
                                      strategies_dir=self.strategies, vaults=self.directory, vault_abi=self.abi,
                                      abi=strategies_calls(), breaker=self.breaker, settings=settings,
                                      on_finished=self._master_finished)
        self._master_queue: asyncio.Queue[int] = asyncio.Queue()
        self._masters_active: set[int] = set()
        self._master_waiters: dict[int, asyncio.Event] = {}
        self.duties: list[Duty] = []
        self.ready = threading.Event()  # set once the chain is reached and workers run (tests, CLI)
        self.http_port: int | None = None
        self._queues: dict[str, asyncio.Queue[int]] = {v: asyncio.Queue() for v in self.vault_addresses}
        self._active: set[int] = set()
        self._waiters: dict[int, asyncio.Event] = {}
        self._stop = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: _Server | None = None

    def __repr__(self) -> str:
        return f"Keeper(account={self.address}, vaults={len(self.vault_addresses)})"

    # ---------------------------------------------------------------- handlers
    def duty(self, name: str, *, interval_s: float) -> Callable[[DutyFn], DutyFn]:
        """Register `fn(ctx, vault)` to run for every vault every `interval_s` (0 disables it)."""
        def register(fn: DutyFn) -> DutyFn:
            if interval_s > 0:
                self.duties.append(Duty(name=name, interval_s=interval_s, fn=fn))
            return fn
        return register

    # ---------------------------------------------------------------- intake side
    def enqueue(self, signal_id: int, vault: str) -> None:
        if signal_id in self._active:
            return
        queue = self._queues.get(vault)
        if queue is None:  # not served (any more): the pipeline records that
            queue = self._queues[self.vault_addresses[0]]
        self._active.add(signal_id)
        queue.put_nowait(signal_id)

    def _finished(self, signal_id: int, state: str) -> None:
        _wake(self._waiters, signal_id)

    def enqueue_master(self, master_id: int) -> None:
        if master_id not in self._masters_active:
            self._masters_active.add(master_id)
            self._master_queue.put_nowait(master_id)

    def _master_finished(self, master_id: int, state: str) -> None:
        _wake(self._master_waiters, master_id)

    async def wait_master_finished(self, master_id: int, timeout: float) -> None:
        """Return when the master signal is final, or after `timeout` seconds (long-poll)."""
        await _wait_final(self._master_waiters, master_id, self.store.master(master_id), timeout)

    async def wait_finished(self, signal_id: int, timeout: float) -> None:
        """Return when the signal is final, or after `timeout` seconds (long-poll)."""
        await _wait_final(self._waiters, signal_id, self.store.get(signal_id), timeout)

    def health(self) -> tuple[int, dict[str, Any]]:
        rpc = self.node.health()
        breaker = self.breaker.state.snapshot()
        if breaker["open"]:
            status = "breaker_open"
        elif not rpc["up"]:
            status = "rpc_down"
        elif not self.ready.is_set():
            status = "starting"
        else:
            status = "ok"
        body = {"status": status, "version": __version__, "account": self.address, "rpc": rpc, "breaker": breaker,
                "signals": self.store.counts_by_state(), "in_progress": len(self._active),
                "masters": self.store.master_counts(), "strategies": self.strategies.address,
                "vaults": self.vault_addresses,
                "duties": {d.name: {"interval_s": d.interval_s, "vaults": d.runs} for d in self.duties},
                "started_at": self.started_at}
        return (200 if status == "ok" else 503), body

    # ---------------------------------------------------------------- lifecycle
    def request_stop(self) -> None:
        """Ask the keeper to stop (thread-safe; the CLI calls it on SIGTERM/SIGINT)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)

    async def run(self) -> None:
        """Serve until `request_stop()`; then stop taking signals, let the workers stop at a safe
        point (every step is recorded, so a restart carries on), close the store."""
        self._loop = asyncio.get_running_loop()
        tasks: list[asyncio.Task[Any]] = []
        try:
            tasks.append(asyncio.create_task(self._serve_http(), name="http"))
            while self._server is None or not self._server.started:
                if tasks[0].done():
                    tasks[0].result()  # the server could not start: raise why
                await asyncio.sleep(0.005)
            if not await self._connect():
                return
            tasks.append(asyncio.create_task(self.node.watch(self._stop), name="watch"))
            tasks += [asyncio.create_task(self._vault_worker(v), name=f"signals:{v}") for v in self.vault_addresses]
            tasks += [asyncio.create_task(self._run_duty(d, v), name=f"{d.name}:{v}")
                      for d in self.duties for v in self.vault_addresses]
            tasks.append(asyncio.create_task(self._resume_duty_txs(), name="resume-duty-txs"))
            tasks.append(asyncio.create_task(self._scan_store(), name="scan-store"))
            tasks.append(asyncio.create_task(self._master_worker(), name="masters"))
            for record in self.store.pending():
                self.enqueue(record.id, record.vault or "")
            for master in self.store.pending_masters():
                self.enqueue_master(master.id)
            self.ready.set()
            log.info("keeper running", extra={"account": self.address, "vaults": self.vault_addresses,
                                              "http_port": self.http_port, "duties": [d.name for d in self.duties]})
            await self._stop.wait()
        finally:
            log.info("keeper stopping")
            if self._server is not None:
                self._server.should_exit = True
            for waiter in [*self._waiters.values(), *self._master_waiters.values()]:  # answer long-polls now
                waiter.set()
            for task in tasks[1:]:
                task.cancel()
            await asyncio.gather(*tasks[1:], return_exceptions=True)
            if tasks:
                with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(tasks[0], 5.0)
            await self.rpc.close()
            self.store.close()
            self.ready.clear()
            log.info("keeper stopped")

    async def _serve_http(self) -> None:
        from keeper.http import create_app

        # IPPROTO_TCP spelled out: asyncio disables Nagle only on sockets that say so, and
        # without TCP_NODELAY every keep-alive answer waits ~40 ms for a delayed ACK
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.settings.host, self.settings.port))
        self.http_port = int(sock.getsockname()[1])
        config = uvicorn.Config(create_app(self), log_config=None, access_log=False, lifespan="off",
                                timeout_graceful_shutdown=5)
        self._server = _Server(config)
        try:
            await self._server.serve(sockets=[sock])
        finally:
            sock.close()

    async def _connect(self) -> bool:
        """Reach the node (waiting out an outage), check it is the right chain, sync the nonce."""
        stop = self._stop
        try:
            chain_id, genesis = await self.node.retrying(self.node.identify, stop)
        except RpcUnavailable:
            return False
        if self.settings.chain_id is not None and chain_id != self.settings.chain_id:
            raise ConfigError(f"the node at {self.settings.rpc_url} is chain {chain_id}, "
                              f"settings say {self.settings.chain_id}")
        stored = (self.store.meta("chain_id"), self.store.meta("genesis_hash"))
        if stored == (None, None):
            self.store.set_meta("chain_id", str(chain_id))
            self.store.set_meta("genesis_hash", genesis)
            self.store.set_meta("account", self.address)
        elif stored != (str(chain_id), genesis):
            raise ConfigError(f"{self.settings.db_path} belongs to chain {stored[0]} (genesis {stored[1]}), "
                              f"the node is chain {chain_id} (genesis {genesis}): use another db_path")
        await self.node.retrying(self.node.refresh, stop)
        await self.node.retrying(self.sender.sync_nonce, stop)
        for vault in self.vault_addresses:
            info = await self.node.retrying(functools.partial(self.directory.info, vault), stop)
            allowed = await self.node.retrying(functools.partial(self.directory.is_keeper, vault, self.address), stop)
            if not allowed:
                log.warning("this account is not an allowed keeper of the vault: its signals will fail",
                            extra={"vault": vault, "account": self.address})
            log.info("serving vault", extra={"vault": vault, "manager": info.manager, "domain": info.domain.name})
        return True

    async def _vault_worker(self, vault: str) -> None:
        """A vault's signals, in turn; one that waits (parked) lets the vault's others go on."""
        await self._work(self._queues[vault], self.pipeline.process, self._active,
                         lambda signal_id: self.enqueue(signal_id, vault), "signal")

    async def _master_worker(self) -> None:
        """Master signals, one at a time (each is many transactions of this keeper's account)."""
        await self._work(self._master_queue, self.masters.process, self._masters_active, self.enqueue_master,
                         "master")

    async def _work(self, queue: asyncio.Queue[int], process: Callable[[int], Awaitable[Parked | None]],
                    active: set[int], enqueue: Callable[[int], None], what: str) -> None:
        """Take each queued id as far as it goes; one that waits, or whose step failed unexpectedly,
        is queued again later (`enqueue`)."""
        while True:
            key = await queue.get()
            try:
                parked = await process(key)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(f"{what} processing failed; retrying it later", extra={f"{what}_id": key})
                parked = Parked(self.settings.retry_delay_s)
            active.discard(key)
            if parked is not None:
                self._loop_later(parked.seconds, enqueue, key)

    def _loop_later(self, delay: float, fn: Callable[..., None], *args: Any) -> None:
        assert self._loop is not None
        self._loop.call_later(delay, fn, *args)

    async def _scan_store(self) -> None:
        """Pick up signals written straight into the store (`cohort-keeper submit --direct`)."""
        while True:
            for record in self.store.pending(state=str(SignalState.RECEIVED)):
                if record.id not in self._active:
                    self.metrics.received.labels(record.source).inc()
                    self.enqueue(record.id, record.vault or "")
            await asyncio.sleep(max(self.settings.poll_interval_s, 0.5))

    async def _resume_duty_txs(self) -> None:
        """Duty transactions that were in flight when the keeper stopped: see them through."""
        groups: dict[int, list[Any]] = {}
        for tx in self.store.open_txs(self.address):
            if tx.signal_id is None and tx.master_id is None:  # signals and masters settle their own
                groups.setdefault(tx.nonce, []).append(tx)
        for nonce, attempts in sorted(groups.items()):
            outcome = await self.sender.settle(attempts)
            log.info("resumed duty transaction settled", extra={"nonce": nonce, "outcome": type(outcome).__name__})

    async def _run_duty(self, duty: Duty, vault: str) -> None:
        ctx = DutyContext(abi=self.abi, rpc=self.rpc, sender=self.sender, breaker=self.breaker,
                          settings=self.settings, directory=self.directory)
        while True:
            started = time.time()
            try:
                result = await duty.fn(ctx, vault)
                outcome, detail = ("acted", result) if result else ("idle", None)
                if result:
                    log.info("duty %s: %s", duty.name, result, extra={"duty": duty.name, "vault": vault})
            except asyncio.CancelledError:
                raise
            except (DutySkipped, RpcUnavailable) as exc:
                outcome, detail = "skipped", str(exc)
            except ContractRevert as exc:
                outcome, detail = "reverted", str(exc)
                log.warning("duty %s reverted: %s", duty.name, exc, extra={"duty": duty.name, "vault": vault})
            except Exception as exc:
                outcome, detail = "error", f"{type(exc).__name__}: {exc}"
                log.exception("duty %s failed", duty.name, extra={"duty": duty.name, "vault": vault})
            self.metrics.duty_runs.labels(duty.name, outcome).inc()
            duty.runs[vault] = {"at": started, "outcome": outcome, "detail": detail}
            await asyncio.sleep(duty.interval_s)


def build_keeper(settings: KeeperSettings, *, account: LocalAccount | None = None) -> Keeper:
    """A keeper with the standard duties (fees, redemptions, de-risking) registered."""
    keeper = Keeper(settings, account=account)
    register_standard_duties(keeper)
    return keeper
