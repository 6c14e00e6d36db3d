"""The local dev stack: anvil, the keeper and the API as processes this code starts, watches and stops.

One home for the process supervision that `make demo`, `make devnet`, the benchmarks and the
tests' fixtures share: free ports, a child in its own session with its output in a log, waiting
until it answers (while watching that it still runs), the log's tail when it dies, and stopping
it (SIGTERM to its process group, SIGKILL if it lingers).

Anvil comes from npm (`@foundry-rs/anvil`); its native binary is started directly, never
through the Node wrapper in `node_modules/.bin`, which exits on SIGTERM before its child does.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from web3 import Web3

from cohort.accounts import DEV_ACCOUNTS, DEV_MNEMONIC
from cohort.artifacts import NODE_MODULES, REPO_ROOT
from cohort.chain import DEVNET_CHAIN_ID, connect, rpc_alive
from cohort.dev.anvil import pid_alive
from cohort.errors import ChainUnavailable, CohortError

T = TypeVar("T")
ANVIL_BIN_DIR = NODE_MODULES / "@foundry-rs" / "anvil-linux-amd64" / "bin"
# pids of every process this one started: the test session checks none outlives it.
STARTED_PIDS: set[int] = set()
# settings of the user's shell that would override the ones a stack gives its children
SHELL_SETTINGS = ("COHORT_", "KEEPER_", "API_")


class StackError(CohortError, RuntimeError):
    """A process of the stack did not start, or stopped; the message shows its log's tail."""


class StackTimeout(StackError):
    """Something the stack waited for did not happen in time."""


# ==================================================================== ports


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def choose_port(requested: int | None, default: int, what: str, flag: str,
                taken: list[int] | None = None) -> tuple[int, str | None]:
    """(port, a note to print or None). None: `default` if free, else any free port; 0: any free
    port; anything else must be free. Never one of `taken`."""
    taken = taken or []

    def any_free() -> int:
        port = free_port()
        while port in taken:
            port = free_port()
        return port

    if requested == 0:
        return any_free(), None
    if requested is not None:
        if requested in taken or not port_free(requested):
            raise StackError(f"port {requested} for the {what} is in use: pick another with {flag} (0: any free port)")
        return requested, None
    if default not in taken and port_free(default):
        return default, None
    port = any_free()
    if what == "chain" and rpc_alive(f"http://127.0.0.1:{default}"):
        return port, (f"a chain already answers on port {default} (your devnet?): it is left alone; "
                      f"the demo's anvil uses port {port}")
    return port, f"port {default} is in use: the {what} uses port {port}"


# ==================================================================== one child process


def wait_for(probe: Callable[[], T | None], what: str, timeout: float, *, check: Callable[[], None] = lambda: None,
             interval: float = 0.05, tick: Callable[[], None] = lambda: None) -> T:
    """Poll `probe` until it returns something. `check` raises if a watched process died; a probe
    that cannot connect yet (HTTP or socket error) counts as no answer; StackTimeout after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        check()
        with contextlib.suppress(httpx.HTTPError, ConnectionError, OSError):
            result = probe()
            if result is not None:
                return result
        if time.monotonic() > deadline:
            raise StackTimeout(f"gave up {what} after {timeout:g} s")
        tick()
        time.sleep(interval)


def log_tail(path: Path | None, lines: int = 15) -> str:
    """The last `lines` lines of a log, indented for an error message."""
    try:
        text = path.read_text(errors="replace").rstrip().splitlines() if path else None
    except OSError:
        text = None
    if text is None:
        return "    | (no log)"
    return "\n".join(f"    | {line[:240]}" for line in text[-lines:]) or "    | (empty log)"


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a child process: ours, without the COHORT_*, KEEPER_* and API_* settings
    of the user's shell (they would override the stack's), with the repository importable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SHELL_SETTINGS)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    return {**env, **(extra or {})}


def console_script(name: str, module: str) -> list[str]:
    """The installed console script next to this interpreter, else `python -m module`."""
    script = Path(sys.executable).parent / name
    return [str(script)] if script.exists() else [sys.executable, "-m", module]


@dataclass
class Child:
    """A program started in its own session (so its whole group can be signalled), its output in
    `log_path`; it can be started again after it stopped."""

    name: str
    argv: list[str]
    env: dict[str, str] | None = None
    log_path: Path | None = None
    cwd: Path = REPO_ROOT
    ready: Callable[[], Any] | None = None  # answers (not None) once the process serves
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115 - the child's
        try:
            self.process = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        finally:
            if log is not subprocess.DEVNULL:
                log.close()  # type: ignore[union-attr]
        STARTED_PIDS.add(self.process.pid)

    @property
    def pid(self) -> int:
        return -1 if self.process is None else self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, lines: int = 15) -> str:
        return log_tail(self.log_path, lines)

    def check(self, consequence: str = "") -> None:
        """Raise StackError, with the log's tail, if the process was started and has stopped."""
        if self.process is not None and self.process.poll() is not None:
            raise StackError(f"the {self.name} stopped (exit code {self.process.returncode}){consequence}. "
                             f"Last lines of {self.log_path}:\n{self.tail()}")

    def wait_until(self, probe: Callable[[], T | None], what: str, timeout: float = 60.0,
                   interval: float = 0.05) -> T:
        """`wait_for(probe)` while this process runs; on a timeout the error shows its log's tail."""
        try:
            return wait_for(probe, what, timeout, check=self.check, interval=interval)
        except StackTimeout as exc:
            raise StackTimeout(f"{exc}. Last lines of {self.log_path}:\n{self.tail()}") from None

    def wait_ready(self, timeout: float = 60.0, interval: float = 0.05) -> Any:
        """Wait until the `ready` probe answers; its answer."""
        assert self.ready is not None, f"the {self.name} has no readiness probe"
        return self.wait_until(self.ready, f"starting the {self.name}", timeout, interval)

    def signal(self, signum: int) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signum)

    def terminate(self, timeout: float = 15.0) -> int:
        """SIGTERM to the group (a graceful stop), then SIGKILL if it lingers; the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: no chance to record anything more."""
        assert self.process is not None
        self.signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout: float = 15.0) -> None:
        if self.running:
            self.terminate(timeout)


def stop_group(pid: int, timeout: float = 5.0) -> None:
    """SIGTERM the process group that `pid` leads (a child a previous run started, known by its pid
    file) and wait until it is gone."""
    if not pid_alive(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


# ==================================================================== anvil, the keeper, the API


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
    child: Child | None = None
    # anvil traces every step when asked, which slows each mined swap by tens of milliseconds; only
    # call-level traces of failed transactions (cohort.tx) and gas studies want it
    steps_tracing: bool = False

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return None if self.child is None else self.child.process

    def start(self, timeout: float = 15.0) -> Web3:
        args = [str(anvil_binary()), "--port", str(self.port), "--chain-id", str(self.chain_id),
                "--accounts", str(DEV_ACCOUNTS), "--balance", "1000000", "--hardfork", "prague",
                "--mnemonic", DEV_MNEMONIC, *(("--steps-tracing",) if self.steps_tracing else ()), *self.extra_args]
        if self.block_time:
            args += ["--block-time", str(self.block_time)]
        if self.state_path:
            args += ["--state", str(self.state_path)]
        self.child = Child("anvil", args, log_path=self.log_path)
        self.child.start()
        try:
            self.child.wait_until(lambda: rpc_alive(self.rpc_url) or None, f"anvil on port {self.port}", timeout,
                                  interval=0.02)
        except StackError as exc:
            self.stop()
            raise ChainUnavailable(f"no RPC answer from {self.rpc_url}: {exc}") from None
        return connect(self.rpc_url)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (anvil dumps `--state` on it), then SIGKILL if it lingers."""
        if self.child is not None:
            self.child.stop(timeout)

    @property
    def running(self) -> bool:
        return self.child is not None and self.child.running

    def __enter__(self) -> Anvil:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def private_key_of(account: Any) -> str:
    return "0x" + bytes(account.key).hex()


def keeper_process(config: Path, settings: Mapping[str, Any], private_key: str, log_path: Path, *,
                   name: str = "keeper", comment: str = "") -> Child:
    """`cohort-keeper run --config config` (not started yet), the file written from `settings` (its
    [keeper] table; `port` among them), the key in KEEPER_PRIVATE_KEY."""
    config.write_text(comment + "[keeper]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items()))
    argv = [*console_script("cohort-keeper", "keeper"), "run", "--config", str(config)]
    url = f"http://127.0.0.1:{settings['port']}"
    return Child(name, argv, child_env({"KEEPER_PRIVATE_KEY": private_key}), log_path,
                 ready=lambda: keeper_started(url))


def keeper_started(url: str) -> dict[str, Any] | None:
    """The keeper's health once it has started and reaches its node (else None)."""
    body: dict[str, Any] = httpx.get(f"{url}/healthz", timeout=2).json()
    return body if body.get("status") != "starting" and body.get("rpc", {}).get("up") else None


def api_process(rpc_url: str, database_url: str, manifest: Path, port: int, log_path: Path, *,
                indexer: bool = True, env: Mapping[str, str] | None = None) -> Child:
    """`cohort-api serve` on `port` (not started yet); without its indexer if `indexer` is False."""
    argv = [*console_script("cohort-api", "api.cli"), "--rpc-url", rpc_url, "--database-url", database_url,
            "--manifest", str(manifest), "serve", "--port", str(port), *(() if indexer else ("--no-indexer",))]
    url = f"http://127.0.0.1:{port}"
    return Child("API", argv, child_env(env), log_path, ready=lambda: api_answers(url))


def api_answers(url: str) -> dict[str, Any] | None:
    """The API's /health once it answers 200 (else None)."""
    answer = httpx.get(f"{url}/health", timeout=2)
    return dict(answer.json()) if answer.status_code == 200 else None


# ==================================================================== a whole stack


class Stack:
    """anvil and the processes that use it (keeper, API): stopped together, in reverse order."""

    def __init__(self) -> None:
        self.anvil: Anvil | None = None
        self.children: list[Child] = []

    def start_anvil(self, anvil: Anvil) -> Web3:
        self.anvil = anvil
        try:
            return anvil.start()
        except ChainUnavailable as exc:
            raise StackError(f"anvil did not start on port {anvil.port}: {exc}") from None

    def start(self, child: Child) -> Child:
        self.children.append(child)
        child.start()
        return child

    def check(self) -> None:
        """Raise StackError, with the log's tail, if a process of the stack has stopped."""
        if self.anvil is not None and self.anvil.child is not None:
            self.anvil.child.check("; the chain is gone")
        for child in self.children:
            child.check()

    def diagnose(self, exc: BaseException, doing: str) -> StackError:
        """A clear error for an exception met while `doing` something: a dead process first."""
        try:
            self.check()
        except StackError as dead:
            return dead
        if isinstance(exc, ConnectionError | OSError) and self.anvil is not None and not rpc_alive(self.anvil.rpc_url):
            return StackError(f"the chain at {self.anvil.rpc_url} does not answer while {doing}: {exc}")
        return StackError(f"{doing} failed: {type(exc).__name__}: {exc}")

    def stop(self) -> list[str]:
        """SIGTERM every child at once (they stop gracefully), then anvil; SIGKILL stragglers.
        Returns what was stopped, as `name (pid N)`."""
        stopped = []
        for child in reversed(self.children):
            if child.running:
                child.signal(signal.SIGTERM)
        for child in reversed(self.children):
            if child.process is not None:
                child.terminate()
                stopped.append(f"{child.name} (pid {child.pid})")
        if self.anvil is not None and self.anvil.child is not None:
            self.anvil.stop()
            stopped.append(f"anvil (pid {self.anvil.child.pid})")
        self.children.clear()
        self.anvil = None
        return stopped
