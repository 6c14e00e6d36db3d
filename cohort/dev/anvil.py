"""A local anvil process for the devnet and the tests, and devnet-only controls over its RPC.

Anvil comes from npm (`@foundry-rs/anvil`); its native binary is started directly, never
through the Node wrapper in `node_modules/.bin`, which exits on SIGTERM before its child does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from web3 import Web3

from cohort.accounts import DEV_ACCOUNTS, DEV_MNEMONIC
from cohort.artifacts import NODE_MODULES
from cohort.chain import DEVNET_CHAIN_ID, wait_for_rpc
from cohort.errors import ChainUnavailable

ANVIL_BIN_DIR = NODE_MODULES / "@foundry-rs" / "anvil-linux-amd64" / "bin"
# pids of every anvil this process started: the test session checks none outlives it.
STARTED_PIDS: set[int] = set()


def pid_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def anvil_binary() -> Path:
    path = ANVIL_BIN_DIR / "anvil"
    if not path.exists():
        raise ChainUnavailable(f"{path} is missing: run `make setup` (npm install)")
    return path


@dataclass
class Anvil:
    """An anvil process this code started (and stops).

    `state_path`, if given, is loaded at start and dumped at stop, so a chain survives a
    restart (used by the keeper fault tests and `make devnet`).
    """

    port: int = field(default_factory=free_port)
    chain_id: int = DEVNET_CHAIN_ID
    block_time: float | None = None
    state_path: Path | None = None
    log_path: Path | None = None
    extra_args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    # anvil traces every step when asked, which slows each mined swap by tens of milliseconds; only
    # call-level traces of failed transactions (cohort.tx) and gas studies want it
    steps_tracing: bool = False

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> Web3:
        args = [str(anvil_binary()), "--port", str(self.port), "--chain-id", str(self.chain_id),
                "--accounts", str(DEV_ACCOUNTS), "--balance", "1000000", "--hardfork", "prague",
                "--mnemonic", DEV_MNEMONIC, *(("--steps-tracing",) if self.steps_tracing else ()), *self.extra_args]
        if self.block_time:
            args += ["--block-time", str(self.block_time)]
        if self.state_path:
            args += ["--state", str(self.state_path)]
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        if log is not subprocess.DEVNULL:
            log.close()  # type: ignore[union-attr]
        STARTED_PIDS.add(self.process.pid)
        try:
            return wait_for_rpc(self.rpc_url, timeout)
        except ChainUnavailable:
            self.stop()
            raise

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (anvil dumps `--state` on it), then SIGKILL if it lingers."""
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> Anvil:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class DevChain:
    """Devnet-only controls over anvil's RPC: time, mining, snapshots, balances."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3

    def _rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in response:
            raise ChainUnavailable(f"{method} failed: {response['error']}")
        return response.get("result")

    def snapshot(self) -> str:
        return str(self._rpc("evm_snapshot", []))

    def revert(self, snapshot_id: str) -> None:
        if not self._rpc("evm_revert", [snapshot_id]):
            raise ChainUnavailable(f"evm_revert({snapshot_id}) failed")

    @contextlib.contextmanager
    def isolated(self) -> Iterator[None]:
        """Everything done inside is undone at exit (evm_snapshot / evm_revert)."""
        snap = self.snapshot()
        try:
            yield
        finally:
            self.revert(snap)

    def mine(self, blocks: int = 1, interval: int | None = None) -> None:
        params: list[Any] = [hex(blocks)]
        if interval is not None:
            params.append(hex(interval))
        self._rpc("anvil_mine", params)

    def increase_time(self, seconds: int, *, mine: bool = True) -> None:
        self._rpc("evm_increaseTime", [hex(seconds)])
        if mine:
            self.mine()

    def timestamp(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def align_clock(self) -> None:
        """After anvil restarts from a --state dump, its clock is the wall clock again, which may
        be behind the last block (the devnet runs hours ahead to give pools a TWAP history);
        views at a pending block would then see time run backwards. Move the clock past it."""
        latest = self.timestamp()
        if latest >= int(time.time()):
            self._rpc("evm_setTime", [latest + 1])
            self.mine()

    def set_next_timestamp(self, ts: int) -> None:
        self._rpc("evm_setNextBlockTimestamp", [hex(ts)])

    def set_balance(self, address: str, wei: int) -> None:
        self._rpc("anvil_setBalance", [address, hex(wei)])

    def set_automine(self, enabled: bool) -> None:
        self._rpc("evm_setAutomine", [enabled])

    def set_chain_id(self, chain_id: int) -> None:
        self._rpc("anvil_setChainId", [chain_id])

    def impersonate(self, address: str) -> None:
        self._rpc("anvil_impersonateAccount", [address])

    def stop_impersonating(self, address: str) -> None:
        self._rpc("anvil_stopImpersonatingAccount", [address])

    def reorg(self, depth: int, txs: list[Any] | None = None) -> None:
        self._rpc("anvil_reorg", [depth, txs or []])

    def rollback(self, depth: int) -> None:
        self._rpc("anvil_rollback", [depth])

    def dev_accounts(self) -> list[str]:
        return [Web3.to_checksum_address(a) for a in self.w3.eth.accounts]
