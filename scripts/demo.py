"""`make demo`: Cohort end to end on a local chain, as a scenario a person can follow.

    python -m scripts.demo [--exit] [--state-dir .demo] [--rpc-port N] [--keeper-port N] [--api-port N]

It starts anvil, deploys Uniswap (V3 and V2), the test tokens and Cohort, creates two vaults
with different managers, fees and risk limits, and starts the keeper (`cohort-keeper run`)
and the API (`cohort-api serve`, SQLite) as processes of their own. Then it plays the story:
investors deposit from their wallets; the managers sign trade signals that the keeper
executes on Uniswap; the market script (`python -m scripts.market`, a separate process)
moves prices with real swaps; a month passes; the keeper crystallises the fees; investors
request withdrawals; the notice period passes; the keeper unwinds and settles; investors
claim. It ends with every investor's sub-account as the API serves it (the MAM view),
checked against a second endpoint of the API, the chain's own views at the same block and
the demo's record of what each investor put in and took out, and the API's URL.

Without --exit the stack keeps running until Ctrl-C (the keeper, the API and anvil are then
stopped); with --exit everything is stopped and the exit code says whether all went well.

Everything the demo writes is in the state folder (`.demo/` by default: the manifest
`local.json`, `keeper.toml`, the keeper's store, the API's SQLite file and the three logs); it
is emptied at the start of a run. A chain already on port 8545 (`make devnet`, say) is left
alone: the demo's anvil takes a free port, and so do the keeper and the API when theirs are
busy. Ports given explicitly must be free (0: any free port). Settings are also read from
`COHORT_DEMO_*` environment variables (`COHORT_DEMO_STATE_DIR`, `COHORT_DEMO_EXIT`, ...).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
from eth_account.signers.local import LocalAccount
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from web3 import Web3

from cohort import manifest as mf
from cohort import protocol, signals, units
from cohort.accounts import dev_account
from cohort.artifacts import REPO_ROOT
from cohort.chain import DEVNET_CHAIN_ID, connect, rpc_alive
from cohort.dev import devnet
from cohort.dev.anvil import Anvil, DevChain, free_port, pid_alive
from cohort.dev.market import WHALE, Market
from cohort.errors import CohortError
from cohort.protocol import RiskLimits, VaultConfig
from cohort.tx import call
from cohort.uniswap import encode_v3_path
from cohort.vault import Vault

T = TypeVar("T")
DAY = 86_400
USDC = 10**6
BPS = 10_000

STEPS = (
    "Start a local chain",
    "Deploy Uniswap, the test tokens and Cohort",
    "Create two vaults",
    "Start the keeper and the API",
    "Investors deposit from their wallets",
    "Managers sign signals; the keeper executes them on Uniswap",
    "The market moves (scripts/market.py, real swaps)",
    "Time passes",
    "Fees crystallise",
    "Investors request withdrawals",
    "The notice period passes",
    "The keeper unwinds and settles",
    "Investors claim",
    "Every investor's sub-account, from the API",
)
MATCH_LINE = "summary matches the API"


# ==================================================================== settings


class DemoSettings(BaseSettings):
    """The demo's settings: flags, else `COHORT_DEMO_*` environment variables, else these."""

    model_config = SettingsConfigDict(env_prefix="COHORT_DEMO_", extra="forbid")

    exit: bool = False  # run the scenario, stop everything and exit (else serve until Ctrl-C)
    state_dir: Path = REPO_ROOT / ".demo"
    rpc_port: int | None = Field(None, ge=0, le=65535)  # None: 8545 if free; 0: any free port
    keeper_port: int | None = Field(None, ge=0, le=65535)  # None: 8547 if free
    api_port: int | None = Field(None, ge=0, le=65535)  # None: 8000 if free
    wait_timeout_s: float = Field(90.0, gt=0)  # longest wait for one thing (a process, a duty)


class DemoError(CohortError, RuntimeError):
    """The demo cannot go on; the message says why (and shows a log tail when a process died)."""


# ==================================================================== the cast and the plan


@dataclass(frozen=True)
class Person:
    name: str
    index: int  # anvil dev account: the key is public, devnet only

    @property
    def account(self) -> LocalAccount:
        return dev_account(self.index)

    @property
    def address(self) -> str:
        return str(self.account.address)


OWNER, KEEPER, GUARDIAN = Person("owner", 1), Person("keeper", 2), Person("guardian", 3)
MIA, NOAH = Person("Mia", 5), Person("Noah", 6)  # the managers; fees are minted to them
ALICE, BOB, CAROL, DAVE, ERIN = (Person("Alice", 7), Person("Bob", 8), Person("Carol", 9), Person("Dave", 10),
                                 Person("Erin", 11))
INVESTORS = (ALICE, BOB, CAROL, DAVE, ERIN)


@dataclass(frozen=True)
class TradePlan:
    token_in: str
    token_out: str
    size_mode: int  # signals.SIZE_OF_HOLDINGS or SIZE_OF_NAV
    size_bps: int
    limit_margin_bps: int  # the limit the manager signs: this far worse than the spot price
    slippage_bps: int  # largest slippage against the oracle the signal allows


@dataclass(frozen=True)
class VaultPlan:
    label: str
    config: VaultConfig
    manager: Person
    deposits: tuple[tuple[Person, int], ...]  # whole USDC
    trades: tuple[TradePlan, ...]
    redemptions: tuple[tuple[Person, int], ...]  # share of the investor's shares, bps


ALPHA = VaultPlan(
    label="alpha",
    config=VaultConfig(name="Cohort Alpha USDC", symbol="cALPHA", assets=("WETH", "WBTC"), management_fee_bps=200,
                       performance_fee_bps=2000, risk=RiskLimits(), notice_period=DAY, epoch_length=DAY,
                       gate_bps=5000, timelock=DAY),
    manager=MIA,
    deposits=((ALICE, 40_000), (BOB, 35_000), (CAROL, 25_000)),
    trades=(TradePlan("USDC", "WETH", signals.SIZE_OF_HOLDINGS, 5000, 200, 100),
            TradePlan("USDC", "WBTC", signals.SIZE_OF_HOLDINGS, 5000, 200, 100)),
    redemptions=((ALICE, BPS), (BOB, 2000)),
)
BETA = VaultPlan(
    label="beta",
    config=VaultConfig(name="Cohort Beta USDC", symbol="cBETA", assets=("WETH", "LINK"), management_fee_bps=100,
                       performance_fee_bps=1000,
                       risk=RiskLimits(twap_window=900, max_deviation_ticks=150, max_trade_bps=3000,
                                       max_slippage_bps=75, loss_budget_bps=150, loss_window=DAY, drawdown_bps=1500),
                       notice_period=2 * DAY, epoch_length=DAY, gate_bps=2500, timelock=2 * DAY),
    manager=NOAH,
    deposits=((CAROL, 15_000), (DAVE, 45_000), (ERIN, 30_000)),
    trades=(TradePlan("USDC", "LINK", signals.SIZE_OF_NAV, 2800, 200, 75),
            TradePlan("USDC", "WETH", signals.SIZE_OF_NAV, 2500, 200, 75)),
    redemptions=((DAVE, 3333),),
)
PLANS = (ALPHA, BETA)
MARKET_MOVES = ("WETH", "+8", "WBTC", "+4", "LINK", "-6")
TIME_PASSES_S = 30 * DAY
LATE_REQUEST = (BETA, ERIN, 2000)  # after the settlement: still pending at the end
LEAVES_CLAIMABLE = BOB  # does not claim: the table shows his claimable assets
KEEPER_DUTIES = {"fees_interval_s": 3.0, "redemptions_interval_s": 2.0, "risk_interval_s": 5.0}


# ==================================================================== formatting (pure)


def short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"


amount = units.format_amount


def signed_amount(wei: int, decimals: int) -> str:
    return ("+" if wei > 0 else "") + amount(wei, decimals)


def pct(bps: int) -> str:
    return f"{Decimal(bps) / 100:.2f}%"


def days(seconds: int) -> str:
    return f"{seconds / DAY:g} day{'s' if seconds != DAY else ''}"


price = units.format_price


def compact_signal(signed: signals.SignedSignal, symbols: dict[str, str], adapters: dict[str, str]) -> str:
    """The signed signal's JSON on one line, with token and adapter names beside addresses."""
    data = signed.to_json_dict()
    sig = data["signal"]
    sig["tokenIn"] = symbols.get(sig["tokenIn"], sig["tokenIn"])
    sig["tokenOut"] = symbols.get(sig["tokenOut"], sig["tokenOut"])
    sig["adapter"] = adapters.get(sig["adapter"], sig["adapter"])
    sig["path"] = sig["path"][:10] + "…"
    data["vault"] = short(data["vault"])
    data["digest"] = data["digest"][:10] + "…"
    data["signature"] = data["signature"][:10] + "…"
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def limit_prices(spot: Decimal, margin_bps: int, buying: bool) -> tuple[Decimal, Decimal]:
    """The worst price a manager accepts, `margin_bps` off the spot price (USDC per asset), and the
    same as the signal's limit (whole tokenOut per whole tokenIn)."""
    margin = Decimal(margin_bps) / BPS
    worst = spot * (1 + margin) if buying else spot * (1 - margin)
    return worst, (1 / worst if buying else worst)


def base_per_asset(token_out_per_in: str | None, buying: bool) -> Decimal | None:
    """API prices are whole tokenOut per whole tokenIn; quote them as base per asset."""
    if token_out_per_in is None:
        return None
    value = Decimal(token_out_per_in)
    return (1 / value if value else Decimal(0)) if buying else value


# ==================================================================== ports


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
            raise DemoError(f"port {requested} for the {what} is in use: pick another with {flag} (0: any free port)")
        return requested, None
    if default not in taken and port_free(default):
        return default, None
    port = any_free()
    if what == "chain" and rpc_alive(f"http://127.0.0.1:{default}"):
        return port, (f"a chain already answers on port {default} (your devnet?): it is left alone; "
                      f"the demo's anvil uses port {port}")
    return port, f"port {default} is in use: the {what} uses port {port}"


# ==================================================================== the processes


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def running(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 15) -> str:
        return log_tail(self.log_path, lines)


def log_tail(path: Path, lines: int = 15) -> str:
    """The last `lines` lines of a log, indented for an error message."""
    try:
        text = path.read_text(errors="replace").rstrip().splitlines()
    except OSError:
        return "    | (no log)"
    return "\n".join(f"    | {line[:240]}" for line in text[-lines:]) or "    | (empty log)"


def is_demo(pid: int) -> bool:
    """Is process `pid` a demo (not some process that reused a stale lock's pid)?"""
    try:
        return b"scripts.demo" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment of a child process: ours, without COHORT_*, KEEPER_* and API_* settings of
    the user's shell (they would override the demo's), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COHORT_", "KEEPER_", "API_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    return {**env, **extra}


def console_script(name: str, module: str) -> list[str]:
    """The installed console script next to this interpreter, else `python -m module`."""
    script = Path(sys.executable).parent / name
    return [str(script)] if script.exists() else [sys.executable, "-m", module]


class Stack:
    """anvil, the keeper and the API: started by the demo, and stopped by it, in reverse order."""

    def __init__(self) -> None:
        self.anvil: Anvil | None = None
        self.anvil_log: Path | None = None
        self.services: list[Service] = []

    def start_anvil(self, port: int, log_path: Path) -> Web3:
        self.anvil_log = log_path
        self.anvil = Anvil(port=port, log_path=log_path)
        try:
            return self.anvil.start()
        except CohortError as exc:
            raise DemoError(f"anvil did not start on port {port}: {exc}\n{self._anvil_tail()}") from None

    def spawn(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> Service:
        with open(log_path, "ab") as log:
            process = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        service = Service(name, process, log_path)
        self.services.append(service)
        return service

    def _anvil_tail(self) -> str:
        return "" if self.anvil_log is None else log_tail(self.anvil_log)

    def check(self) -> None:
        """Raise DemoError, with the log tail, if a process of the stack has stopped."""
        if self.anvil is not None and self.anvil.process is not None and not self.anvil.running:
            raise DemoError(f"anvil stopped (exit code {self.anvil.process.returncode}); the chain is gone. "
                            f"Last lines of {self.anvil_log}:\n{self._anvil_tail()}")
        for service in self.services:
            if not service.running():
                raise DemoError(f"the {service.name} stopped (exit code {service.process.returncode}). "
                                f"Last lines of {service.log_path}:\n{service.tail()}")

    def diagnose(self, exc: BaseException, doing: str) -> DemoError:
        """A clear error for an exception met while `doing` something: a dead process first."""
        try:
            self.check()
        except DemoError as dead:
            return dead
        if isinstance(exc, ConnectionError | OSError) and self.anvil is not None and not rpc_alive(self.anvil.rpc_url):
            return DemoError(f"the chain at {self.anvil.rpc_url} does not answer while {doing}: {exc}")
        return DemoError(f"{doing} failed: {type(exc).__name__}: {exc}")

    def stop(self) -> list[str]:
        """SIGTERM the keeper and the API (they stop gracefully), then anvil; SIGKILL stragglers."""
        stopped = []
        for service in reversed(self.services):
            if service.running():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(service.process.pid, signal.SIGTERM)
        for service in reversed(self.services):
            try:
                service.process.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(service.process.pid, signal.SIGKILL)
                service.process.wait(5)
            stopped.append(f"{service.name} (pid {service.process.pid})")
        if self.anvil is not None and self.anvil.process is not None:
            self.anvil.stop()
            stopped.append(f"anvil (pid {self.anvil.process.pid})")
        self.services.clear()
        self.anvil = None
        return stopped


# ==================================================================== output


class Console:
    def __init__(self) -> None:
        self.step_no = 0
        self.tty = sys.stdout.isatty()

    def step(self, title: str) -> None:
        self.step_no += 1
        print(f"\n[{self.step_no:>2}/{len(STEPS)}] {title}", flush=True)

    def line(self, text: str = "", indent: int = 2) -> None:
        print(" " * indent + text if text else "", flush=True)

    @contextlib.contextmanager
    def progress(self, what: str) -> Iterator[Callable[[], None]]:
        """A progress line for a step that may take a while: `tick()` refreshes it. Nothing is
        shown for waits under a second; on a terminal the line counts the seconds in place."""
        started = time.monotonic()
        shown = [False, 0.0]  # printed anything, when the last line was printed

        def tick() -> None:
            elapsed = time.monotonic() - started
            if elapsed < 1:
                return
            if self.tty:
                print(f"\r\033[K  … {what} ({elapsed:.0f} s)", end="", flush=True)
                shown[0] = True
            elif not shown[0] or elapsed - shown[1] >= 10:
                print(f"  … {what}" + (f" ({elapsed:.0f} s)" if shown[0] else ""), flush=True)
                shown[0], shown[1] = True, elapsed

        yield tick
        elapsed = time.monotonic() - started
        tick()
        if shown[0]:
            print(("\r\033[K" if self.tty else "") + f"  … {what}: done in {elapsed:.1f} s", flush=True)


# ==================================================================== the summary (pure)

ROW_FIELDS = ("shares", "equity", "net_deposits", "total_pnl", "fees_borne", "pending_shares", "claimable_assets")


@dataclass(frozen=True)
class SubAccount:
    """One investor's sub-account in one vault, as the API serves it (integers in token units)."""

    vault: str
    who: str
    address: str
    redemption: str
    shares: int
    equity: int
    net_deposits: int
    total_pnl: int
    fees_borne: int
    pending_shares: int
    claimable_assets: int

    @classmethod
    def from_api(cls, vault: str, who: str, body: dict[str, Any]) -> SubAccount:
        return cls(vault=vault, who=who, address=Web3.to_checksum_address(body["address"]),
                   redemption=body["redemption"]["state"], shares=int(body["shares"]), equity=int(body["equity"]),
                   net_deposits=int(body["net_deposits"]), total_pnl=int(body["total_pnl"]),
                   fees_borne=int(body["fees_borne"]), pending_shares=int(body["pending_shares"]),
                   claimable_assets=int(body["redemption"]["claimable_assets"]))


def render_table(rows: list[SubAccount], share_decimals: int, asset_decimals: int) -> list[str]:
    header = ("vault", "account", "shares", "equity", "net deposits", "P&L", "fees borne", "pending sh.",
              "claimable", "redemption")
    body = [(r.vault, r.who, amount(r.shares, share_decimals), amount(r.equity, asset_decimals),
             amount(r.net_deposits, asset_decimals), signed_amount(r.total_pnl, asset_decimals),
             amount(r.fees_borne, asset_decimals), amount(r.pending_shares, share_decimals),
             amount(r.claimable_assets, asset_decimals), r.redemption) for r in rows]
    widths = [max(len(str(row[i])) for row in (header, *body)) for i in range(len(header))]

    def fmt(row: tuple[str, ...]) -> str:
        cells = [str(c).ljust(w) if i in (0, 1, 9) else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths,
                                                                                                        strict=True))]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return [fmt(header), rule, *(fmt(row) for row in body)]


def differences(printed: list[SubAccount], other: dict[tuple[str, str], dict[str, int]], source: str) -> list[str]:
    """Every figure of `printed` that `other` (keyed by (vault, address)) does not repeat exactly."""
    out = []
    for row in printed:
        figures = other.get((row.vault, row.address))
        if figures is None:
            out.append(f"{row.vault}/{row.who}: missing from {source}")
            continue
        for name, value in figures.items():
            if getattr(row, name) != value:
                out.append(f"{row.vault}/{row.who}: {name} is {getattr(row, name)} in the table, {value} in {source}")
    return out


# ==================================================================== the scenario


@dataclass
class Ledger:
    """What the demo itself did: assets each investor put in and took out, per vault."""

    deposited: dict[tuple[str, str], int] = field(default_factory=dict)
    claimed: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, book: dict[tuple[str, str], int], vault: str, address: str, assets: int) -> None:
        book[(vault, address)] = book.get((vault, address), 0) + assets

    def net(self, vault: str, address: str) -> int:
        return self.deposited.get((vault, address), 0) - self.claimed.get((vault, address), 0)


class Demo:
    def __init__(self, settings: DemoSettings, stack: Stack, console: Console) -> None:
        self.settings = settings
        self.stack = stack
        self.out = console
        self.dir = settings.state_dir.resolve()
        self.manifest_path = self.dir / "local.json"
        self.rpc_url = ""
        self.keeper_url = ""
        self.api_url = ""
        self.keeper_port = self.api_port = 0
        self.w3: Web3
        self.m: mf.Manifest
        self.vaults: dict[str, Vault] = {}
        self.ledger = Ledger()
        self.names = {p.address: p.name for p in (*INVESTORS, MIA, NOAH, KEEPER, OWNER, GUARDIAN)}

    # ---------------------------------------------------------------- helpers
    def wait(self, what: str, probe: Callable[[], T | None], timeout: float | None = None) -> T:
        """Poll `probe` until it returns something, watching the processes; DemoError on timeout."""
        limit = timeout or self.settings.wait_timeout_s
        deadline = time.monotonic() + limit
        with self.out.progress(what) as tick:
            while True:
                self.stack.check()
                try:
                    result = probe()
                except (httpx.HTTPError, ConnectionError, OSError):
                    result = None  # not up yet, or a transient refusal: the deadline decides
                if result is not None:
                    return result
                if time.monotonic() > deadline:
                    raise DemoError(f"gave up {what} after {limit:.0f} s")
                tick()
                time.sleep(0.2)

    def api(self, path: str, **params: Any) -> Any:
        answer = httpx.get(f"{self.api_url}{path}", params=params, timeout=15)
        if answer.status_code != 200:
            raise DemoError(f"the API answered {answer.status_code} to GET {path}: {answer.text[:300]}")
        return answer.json()

    def api_indexed(self, block: int) -> None:
        """Wait until the API has indexed `block`."""
        def probe() -> int | None:
            health = httpx.get(f"{self.api_url}/health", timeout=5).json()
            indexed = health.get("indexed_block")
            return indexed if indexed is not None and indexed >= block else None

        self.wait(f"waiting for the API to index block {block}", probe)

    def usdc(self, wei: int) -> str:
        return f"{amount(wei, self.m.token('USDC').decimals)} USDC"

    def symbol_of(self, address: str) -> str:
        for symbol, token in self.m.tokens.items():
            if token.address.lower() == address.lower():
                return symbol
        return short(address)

    def token_amount(self, wei: int, token: str, places: int = 4) -> str:
        """`wei` of `token` (a symbol or an address) in whole tokens, with its symbol."""
        symbol = token if token in self.m.tokens else self.symbol_of(token)
        places = 2 if symbol == "USDC" else places
        return f"{amount(wei, self.m.token(symbol).decimals, places)} {symbol}"

    def events(self, vault: Vault, name: str, from_block: int) -> list[Any]:
        head = self.head()
        if from_block > head:
            return []
        event = getattr(vault.contract.events, name)
        return list(event.get_logs(from_block=from_block, to_block=head))

    def sender_of(self, log: Any) -> str:
        return str(self.w3.eth.get_transaction(log["transactionHash"])["from"])

    def head(self) -> int:
        return int(self.w3.eth.block_number)

    def chain_date(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(DevChain(self.w3).timestamp()))

    # ---------------------------------------------------------------- 1-4: the stack
    def prepare_state_dir(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        lock = self.dir / "demo.pid"
        if lock.exists():
            with contextlib.suppress(ValueError):
                other = int(lock.read_text().strip() or 0)
                if other and other != os.getpid() and pid_alive(other) and is_demo(other):
                    raise DemoError(f"another demo (pid {other}) is running in {self.dir}: stop it with Ctrl-C, "
                                    "or give this one another --state-dir")
        for pattern in ("local.json", "local.json.tmp", "keeper.toml", "keeper.db*", "api.sqlite3*", "*.log"):
            for path in self.dir.glob(pattern):
                path.unlink()
        lock.write_text(str(os.getpid()))

    def release_state_dir(self) -> None:
        lock = self.dir / "demo.pid"
        with contextlib.suppress(OSError, ValueError):
            if int(lock.read_text().strip()) == os.getpid():
                lock.unlink()

    def start_chain(self) -> None:
        self.out.step(STEPS[0])
        ports: list[int] = []
        for requested, default, what, flag in ((self.settings.rpc_port, 8545, "chain", "--rpc-port"),
                                               (self.settings.keeper_port, 8547, "keeper", "--keeper-port"),
                                               (self.settings.api_port, 8000, "API", "--api-port")):
            port, note = choose_port(requested, default, what, flag, taken=ports)
            if note:
                self.out.line(note)
            ports.append(port)
        port, self.keeper_port, self.api_port = ports
        self.w3 = self.stack.start_anvil(port, self.dir / "anvil.log")
        assert self.stack.anvil is not None
        self.rpc_url = self.stack.anvil.rpc_url
        # the investors' wallets sign their own transactions (local keys); the node only relays them
        self.w3 = connect(self.rpc_url, accounts=tuple(p.account for p in INVESTORS))
        self.out.line(f"anvil on {self.rpc_url} (chain id {self.w3.eth.chain_id}, automine); log {self.dir / 'anvil.log'}")

    def deploy(self) -> None:
        self.out.step(STEPS[1])
        progress = self.out.line
        m = devnet.bootstrap(self.w3, self.manifest_path, rpc_url=self.rpc_url, progress=lambda s: progress(f"- {s}"))
        self.m = protocol.ensure_protocol(self.w3, m, self.manifest_path, progress=lambda s: progress(f"- {s}"))
        market = Market(self.w3, self.m)
        quotes = ", ".join(f"{s} {price(market.spot_price(s))}" for s in ("WETH", "WBTC", "LINK"))
        self.out.line(f"Uniswap V3 SwapRouter {short(self.m.uniswap_v3.swap_router)}; spot prices in USDC: {quotes}")
        self.out.line(f"VaultFactory {self.m.cohort.factory}, TWAP oracle {short(str(self.m.cohort.oracle))}; "
                      f"manifest {self.manifest_path}")

    def create_vaults(self) -> None:
        self.out.step(STEPS[2])
        for plan in PLANS:
            cfg, r = plan.config, plan.config.risk
            vault = protocol.create_vault(self.w3, self.m, cfg, label=plan.label, owner=OWNER.address,
                                          manager=plan.manager.address, guardian=GUARDIAN.address,
                                          fee_recipient=plan.manager.address, keepers=[KEEPER.address],
                                          sender=OWNER.address, path=self.manifest_path)
            self.vaults[plan.label] = vault
            self.out.line(f"{plan.label}: {cfg.name} ({cfg.symbol}) at {vault.address}")
            self.out.line(f"manager {plan.manager.name} {short(plan.manager.address)} (fees are minted to them): "
                          f"{pct(cfg.management_fee_bps)} management a year, {pct(cfg.performance_fee_bps)} performance "
                          f"over a high-water mark", 6)
            self.out.line(f"trades USDC <-> {', '.join(cfg.assets)}; risk: trades up to {pct(r.max_trade_bps)} of NAV, "
                          f"slippage <= {pct(r.max_slippage_bps)} vs a {r.twap_window // 60}-min TWAP, loss budget "
                          f"{pct(r.loss_budget_bps)}/day, drawdown breaker at {pct(r.drawdown_bps)}", 6)
            self.out.line(f"withdrawals: {days(cfg.notice_period)} notice after the daily epoch closes, gate "
                          f"{pct(cfg.gate_bps)} of NAV per epoch; keeper {short(KEEPER.address)} allow-listed", 6)
        self.m = mf.load(self.manifest_path)

    def start_services(self) -> None:
        self.out.step(STEPS[3])
        keeper_port, api_port = self.keeper_port, self.api_port
        config = self.dir / "keeper.toml"
        settings: dict[str, Any] = {
            "rpc_url": self.rpc_url, "chain_id": DEVNET_CHAIN_ID, "manifest": str(self.manifest_path),
            "vaults": [p.label for p in PLANS], "db_path": str(self.dir / "keeper.db"), "host": "127.0.0.1",
            "port": keeper_port, "poll_interval_s": 0.2, "retry_delay_s": 0.5, **KEEPER_DUTIES,
            "log_level": "INFO", "log_json": True}
        config.write_text("# Written by scripts/demo.py. The keeper's key (dev account 2) is in KEEPER_PRIVATE_KEY.\n"
                          "# Duties run every few seconds so that the demo's jumps in time are acted on at once.\n"
                          "[keeper]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items()))
        keeper_argv = [*console_script("cohort-keeper", "keeper"), "run", "--config", str(config)]
        database_url = f"sqlite:///{self.dir / 'api.sqlite3'}"
        api_argv = [*console_script("cohort-api", "api.cli"), "--rpc-url", self.rpc_url, "--database-url",
                    database_url, "--manifest", str(self.manifest_path), "serve", "--port", str(api_port)]
        key = "0x" + bytes(KEEPER.account.key).hex()
        self.stack.spawn("keeper", keeper_argv, child_env({"KEEPER_PRIVATE_KEY": key}), self.dir / "keeper.log")
        # The API relays the web app's signed signals to this keeper (the manager console).
        self.stack.spawn("API", api_argv, child_env({"API_POLL_INTERVAL": "0.2",
                                                     "API_KEEPER_URL": f"http://127.0.0.1:{keeper_port}"}),
                         self.dir / "api.log")
        self.out.line(f"$ {' '.join(Path(a).name if i == 0 else a for i, a in enumerate(keeper_argv))}")
        self.out.line(f"$ {' '.join(Path(a).name if i == 0 else a for i, a in enumerate(api_argv))}")
        self.keeper_url = f"http://127.0.0.1:{keeper_port}"
        self.api_url = f"http://127.0.0.1:{api_port}"

        def keeper_ready() -> dict[str, Any] | None:
            answer = httpx.get(f"{self.keeper_url}/healthz", timeout=2)
            return answer.json() if answer.status_code == 200 else None

        def api_ready() -> dict[str, Any] | None:
            body: dict[str, Any] = httpx.get(f"{self.api_url}/health", timeout=2).json()
            return body if body.get("status") == "ok" and body.get("vaults", 0) >= len(PLANS) else None

        health = self.wait("starting the keeper", keeper_ready)
        duties = ", ".join(f"{name} every {d['interval_s']:g} s" for name, d in health["duties"].items())
        self.out.line(f"keeper {self.keeper_url}: account {short(health['account'])}, serving {len(health['vaults'])} "
                      f"vaults; duties: {duties}")
        api_health = self.wait("starting the API and indexing the chain", api_ready)
        self.out.line(f"API {self.api_url}: indexed block {api_health['indexed_block']}, {api_health['vaults']} vaults, "
                      f"{api_health['events']} events (SQLite {self.dir / 'api.sqlite3'})")

    # ---------------------------------------------------------------- 5-6: deposits and signals
    def deposit(self) -> None:
        self.out.step(STEPS[4])
        decimals = self.m.token("USDC").decimals
        for plan in PLANS:
            vault = self.vaults[plan.label]
            share_decimals = int(call(vault.fn.decimals()))
            for person, whole in plan.deposits:
                assets = whole * 10**decimals
                devnet.fund(self.w3, self.m, "USDC", person.address, assets)  # the devnet faucet
                before = vault.balance_of(person.address)
                receipt = vault.deposit(assets, person.address)
                shares = vault.balance_of(person.address) - before
                self.ledger.add(self.ledger.deposited, plan.label, person.address, assets)
                self.out.line(f"{person.name:<5} {short(person.address)} deposits {self.usdc(assets):>15} into "
                              f"{plan.label}: {amount(shares, share_decimals)} {plan.config.symbol} "
                              f"(block {receipt['blockNumber']})")
            self.out.line(f"{plan.label}: NAV {self.usdc(vault.nav())}, {amount(vault.total_supply(), share_decimals)} "
                          "shares", 4)

    def post_signal(self, signed: signals.SignedSignal) -> httpx.Response:
        return httpx.post(f"{self.keeper_url}/signals", content=signed.to_json(),
                          headers={"content-type": "application/json"}, timeout=15)

    def trade(self) -> None:
        self.out.step(STEPS[5])
        market = Market(self.w3, self.m)
        nonce = 0
        for plan in PLANS:
            for tp in plan.trades:
                nonce += 1
                spot = market.spot_price(tp.token_out if tp.token_in == "USDC" else tp.token_in)
                signed = self.sign_trade(plan, tp, nonce, spot)
                record = self.relay(signed, plan.manager)
                self.show_trade(plan, tp, record)
        self.refused_signal(nonce + 1)

    def sign_trade(self, plan: VaultPlan, tp: TradePlan, nonce: int, spot: Decimal) -> signals.SignedSignal:
        """The manager looks at the market, signs a signal and prints it."""
        buying = tp.token_in == "USDC"
        asset = tp.token_out if buying else tp.token_in
        worst, limit = limit_prices(spot, tp.limit_margin_bps, buying)
        tin, tout = self.m.token(tp.token_in).address, self.m.token(tp.token_out).address
        signal = signals.TradeSignal(tin, tout, tp.size_mode, tp.size_bps, signals.limit_price_wad(limit),
                                     tp.slippage_bps, self.m.cohort.adapters["uniswap-v3"],
                                     encode_v3_path([tin, tout], [3000]), nonce, DevChain(self.w3).timestamp() + 3600)
        signed = signals.sign(signal, self.vaults[plan.label].domain(), plan.manager.account)
        of = "the vault's " + tp.token_in if tp.size_mode == signals.SIZE_OF_HOLDINGS else "NAV"
        self.out.line(f"{plan.manager.name} signs for {plan.label}: {'buy' if buying else 'sell'} {asset} with "
                      f"{pct(tp.size_bps)} of {of}, at {'most' if buying else 'least'} {price(worst)} USDC/{asset}, "
                      f"slippage <= {pct(tp.slippage_bps)} vs the oracle (nonce {nonce})")
        symbols = {t.address: s for s, t in self.m.tokens.items()}
        adapters = {a: name for name, a in self.m.cohort.adapters.items()}
        self.out.line(compact_signal(signed, symbols, adapters), 6)
        return signed

    def relay(self, signed: signals.SignedSignal, manager: Person) -> dict[str, Any]:
        """POST the signal to the keeper and wait for its outcome (the keeper's record)."""
        answer = self.post_signal(signed)
        if answer.status_code != 202:
            raise DemoError(f"the keeper refused {manager.name}'s signal: {answer.status_code} {answer.text}")
        accepted = answer.json()
        self.out.line(f"POST {self.keeper_url}/signals -> {answer.status_code} "
                      f"{json.dumps({k: accepted[k] for k in ('id', 'state')})}", 6)
        record: dict[str, Any] = httpx.get(f"{self.keeper_url}/signals/{accepted['id']}", params={"wait": 30},
                                           timeout=45).json()
        if record["state"] != "executed":
            raise DemoError(f"signal #{accepted['id']} ended {record['state']}: {record.get('reason')} "
                            f"{record.get('detail')}")
        return record

    def show_trade(self, plan: VaultPlan, tp: TradePlan, record: dict[str, Any]) -> None:
        """The trade as the API serves it: amounts, and limit vs oracle vs execution price."""
        block = int(record["block_number"])
        self.api_indexed(block)
        vault = self.vaults[plan.label]
        trade = self.api(f"/vaults/{vault.address}/trades", from_block=block, to_block=block, kind="signal")["items"][0]
        buying = tp.token_in == "USDC"
        asset = tp.token_out if buying else tp.token_in
        self.out.line(f"keeper executed it in block {block} (tx {str(record['tx_hash'])[:12]}…); the API's "
                      f"{plan.label} trade #{trade['id']}: {self.token_amount(int(trade['amount_in']), tp.token_in)} "
                      f"-> {self.token_amount(int(trade['amount_out']), tp.token_out)}", 6)
        limit_q, oracle_q, exec_q = (price(q) if q is not None else "-" for q in
                                     (base_per_asset(trade[k], buying)
                                      for k in ("limit_price", "oracle_price", "execution_price")))
        self.out.line(f"limit {'<=' if buying else '>='} {limit_q} · oracle {oracle_q} · execution {exec_q} "
                      f"USDC/{asset}  (slippage vs oracle {Decimal(trade['slippage_bps']):.1f} bps)", 6)

    def refused_signal(self, nonce: int) -> None:
        """A signal signed by someone who is not the manager is refused at the door."""
        vault = self.vaults[BETA.label]
        tin, tout = self.m.token("USDC").address, self.m.token("LINK").address
        sig = signals.TradeSignal(tin, tout, signals.SIZE_OF_HOLDINGS, 10_000, 1, 1000,
                                  self.m.cohort.adapters["uniswap-v3"], encode_v3_path([tin, tout], [3000]), nonce,
                                  DevChain(self.w3).timestamp() + 3600)
        answer = self.post_signal(signals.sign(sig, vault.domain(), ERIN.account))
        body = answer.json()
        if answer.status_code < 400:
            raise DemoError(f"the keeper accepted a signal Erin signed for beta: {answer.text}")
        self.out.line(f"Erin signs a signal for beta (all its USDC into LINK at any price): the keeper answers "
                      f"{answer.status_code} {body.get('error')} ({body.get('detail')})")

    # ---------------------------------------------------------------- 7-9: market, time, fees
    def move_market(self) -> None:
        self.out.step(STEPS[6])
        argv = [sys.executable, "-m", "scripts.market", "--rpc-url", self.rpc_url, "--manifest",
                str(self.manifest_path), "move", *MARKET_MOVES]
        self.out.line(f"$ python -m scripts.market --rpc-url {self.rpc_url} --manifest {self.manifest_path} move "
                      f"{' '.join(MARKET_MOVES)}")
        market = subprocess.Popen(argv, cwd=REPO_ROOT, env=child_env({}), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        try:
            with self.out.progress(f"swapping on Uniswap from the whale (dev account {WHALE})") as tick:
                deadline = time.monotonic() + self.settings.wait_timeout_s
                while market.poll() is None and time.monotonic() < deadline:
                    tick()
                    time.sleep(0.1)
            stdout, stderr = market.communicate(timeout=1)
        except subprocess.TimeoutExpired:
            raise DemoError(f"the market script did not finish in {self.settings.wait_timeout_s:.0f} s") from None
        finally:
            if market.poll() is None:
                market.kill()
                market.wait()
        for line in stdout.splitlines():
            self.out.line(line, 4)
        if market.returncode != 0:
            raise DemoError(f"the market script failed (exit code {market.returncode}): {stderr.strip()[-800:]}")
        self.out.line("vaults value holdings with TWAPs: the moves reach their NAV as the oracle window passes")

    def pass_time(self) -> tuple[int, int]:
        """Returns the block before the jump and the chain time after it."""
        self.out.step(STEPS[7])
        chain = DevChain(self.w3)
        before_date, before_block = self.chain_date(), self.head()
        navs = {label: vault.nav() for label, vault in self.vaults.items()}
        jump_to = chain.timestamp() + TIME_PASSES_S
        chain.increase_time(TIME_PASSES_S)
        self.out.line(f"evm_increaseTime({TIME_PASSES_S}): chain clock {before_date} -> {self.chain_date()} "
                      f"({days(TIME_PASSES_S)}); the TWAPs now carry the new prices")
        for label, vault in self.vaults.items():
            self.out.line(f"{label}: NAV {self.usdc(navs[label])} -> {self.usdc(vault.nav())}", 4)
        return before_block, jump_to

    def crystallise_fees(self, before_block: int, jump_to: int) -> None:
        self.out.step(STEPS[8])
        self.out.line("the keeper's accrue_fees duty sees pendingFeeShares() > 0 and calls accrueFees()")
        for plan in PLANS:
            vault = self.vaults[plan.label]
            share_decimals = int(call(vault.fn.decimals()))

            def accrued(v: Vault = vault) -> Any | None:
                """The keeper's first accrual after the jump in time."""
                for log in self.events(v, "FeesAccrued", before_block + 1):
                    if (self.sender_of(log) == KEEPER.address
                            and int(self.w3.eth.get_block(log["blockNumber"])["timestamp"]) >= jump_to):
                        return log
                return None

            log = self.wait(f"waiting for the keeper to accrue {plan.label}'s fees", accrued)
            a = log["args"]
            minted = int(a["managementShares"]) + int(a["performanceShares"])
            value = minted * int(a["nav"]) // int(a["supply"])
            self.out.line(f"{plan.label}: block {log['blockNumber']}, keeper {short(KEEPER.address)} minted "
                          f"{amount(int(a['managementShares']), share_decimals)} management + "
                          f"{amount(int(a['performanceShares']), share_decimals)} performance shares to "
                          f"{plan.manager.name} (worth {self.usdc(value)})")
            self.out.line(f"NAV {self.usdc(int(a['nav']))}, price per share {Decimal(a['pricePerShare']) / 10**18:.6f} "
                          f"USDC, high-water mark {Decimal(a['highWaterMark']) / 10**18:.6f}", 6)

    # ---------------------------------------------------------------- 10-13: withdrawals
    def request_withdrawals(self) -> list[tuple[str, Person]]:
        self.out.step(STEPS[9])
        requests = []
        for plan in PLANS:
            vault = self.vaults[plan.label]
            share_decimals = int(call(vault.fn.decimals()))
            for person, share_bps in plan.redemptions:
                shares = vault.balance_of(person.address) * share_bps // BPS
                vault.request_redeem(shares, person.address)
                request = vault.redeem_request_of(person.address)
                requests.append((plan.label, person))
                self.out.line(f"{person.name:<5} requests {amount(shares, share_decimals)} {plan.config.symbol} "
                              f"({pct(share_bps)} of their shares) from {plan.label}: escrowed in epoch {request.epoch}")
            status = vault.redemption_status()
            self.out.line(f"{plan.label}: epoch {status.epoch} can be settled from "
                          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(status.matures_at))} "
                          f"(after the epoch closes + {days(plan.config.notice_period)} notice)", 4)
        return requests

    def pass_notice(self) -> int:
        self.out.step(STEPS[10])
        matures = max(v.redemption_status().matures_at for v in self.vaults.values())
        wait = max(0, matures - DevChain(self.w3).timestamp()) + 60
        before_block = self.head()
        DevChain(self.w3).increase_time(wait)
        self.out.line(f"evm_increaseTime({wait}): chain clock now {self.chain_date()}; both epochs are due")
        return before_block

    def settle(self, requests: list[tuple[str, Person]], after_block: int) -> None:
        self.out.step(STEPS[11])
        self.out.line("the keeper's settle_redemptions duty reads redemptionStatus(): it unwinds when the free USDC "
                      "is short, then settles")
        log_offset = (self.dir / "keeper.log").stat().st_size
        for label in self.vaults:
            vault = self.vaults[label]
            mine = [p for lab, p in requests if lab == label]

            def settled(v: Vault = vault, people: list[Person] = mine) -> bool | None:
                return True if all(v.redeem_request_of(p.address).pending == 0 for p in people) else None

            self.wait(f"waiting for the keeper to settle {label}", settled)
            share_decimals = int(call(vault.fn.decimals()))
            for log in self.events(vault, "LiquiditySold", after_block + 1):
                a = log["args"]
                kind = "unwindForRedemptions" if int(a["reason"]) == 0 else "derisk"
                self.out.line(f"{label}: keeper {kind}(): sold {self.token_amount(int(a['amountIn']), a['asset'])} "
                              f"for {self.usdc(int(a['amountOut']))} (oracle value {self.usdc(int(a['oracleAmountOut']))})")
            for log in self.events(vault, "RedemptionsSettled", after_block + 1):
                a = log["args"]
                by = self.names.get(self.sender_of(log), "someone")
                self.out.line(f"{label}: {by} settleRedemptions(): epoch {a['epoch']}, "
                              f"{amount(int(a['sharesBurned']), share_decimals)} shares burnt, "
                              f"{self.usdc(int(a['assetsReserved']))} reserved for claims")
        deadline = time.monotonic() + 3  # the keeper logs a duty just after its last receipt
        lines = self.keeper_log_lines(log_offset, "settle_redemptions")
        while len({line.split(":")[0] for line in lines}) < len(self.vaults) and time.monotonic() < deadline:
            time.sleep(0.1)
            lines = self.keeper_log_lines(log_offset, "settle_redemptions")
        for line in lines:
            self.out.line(f"keeper log: {line}")

    def keeper_log_lines(self, offset: int, duty: str) -> list[str]:
        """`vault label: message` of the keeper's JSON log lines about `duty` after `offset`."""
        lines = []
        with open(self.dir / "keeper.log", "rb") as log:
            log.seek(offset)
            for raw in log.read().decode(errors="replace").splitlines():
                with contextlib.suppress(ValueError):
                    record = json.loads(raw)
                    if isinstance(record, dict) and record.get("duty") == duty:
                        label = next((lab for lab, v in self.vaults.items() if v.address == record.get("vault")), "?")
                        lines.append(f"{label}: {record.get('msg')}")
        return lines

    def claim(self, requests: list[tuple[str, Person]]) -> None:
        self.out.step(STEPS[12])
        usdc = devnet.token(self.w3, self.m, "USDC")
        for label, person in requests:
            vault = self.vaults[label]
            request = vault.redeem_request_of(person.address)
            if person == LEAVES_CLAIMABLE:
                self.out.line(f"{person.name:<5} leaves {self.usdc(request.claimable_assets)} claimable in {label} "
                              "for later (claims never expire, pausing never blocks them)")
                continue
            before = int(call(usdc.functions.balanceOf(person.address)))
            vault.claim(person.address)
            received = int(call(usdc.functions.balanceOf(person.address))) - before
            self.ledger.add(self.ledger.claimed, label, person.address, received)
            self.out.line(f"{person.name:<5} claims from {label}: {self.usdc(received)} arrive in their wallet")
        plan, person, share_bps = LATE_REQUEST
        vault = self.vaults[plan.label]
        shares = vault.balance_of(person.address) * share_bps // BPS
        vault.request_redeem(shares, person.address)
        self.out.line(f"{person.name:<5} requests {pct(share_bps)} of their {plan.label} shares now: pending until "
                      f"epoch {vault.redeem_request_of(person.address).epoch} is settled")

    # ---------------------------------------------------------------- 14: the summary
    def accounts_of(self, plan: VaultPlan) -> list[Person]:
        people = [p for p, _ in plan.deposits]
        return [*people, plan.manager]

    def snapshot(self) -> tuple[int, list[SubAccount], dict[tuple[str, str], dict[str, int]]]:
        """The MAM view of every account at one indexed block, and the manager's accounts list
        at that same block (retried if the chain moved in between)."""
        for _attempt in range(10):
            self.api_indexed(self.head())
            rows: list[SubAccount] = []
            blocks: set[int] = set()
            for plan in PLANS:
                vault = self.vaults[plan.label]
                for person in self.accounts_of(plan):
                    body = self.api(f"/vaults/{vault.address}/investors/{person.address}", tickets_limit=0)
                    blocks.add(int(body["block_number"]))
                    rows.append(SubAccount.from_api(plan.label, person.name + (" (fees)" if person in (MIA, NOAH)
                                                                               else ""), body))
            served: dict[tuple[str, str], dict[str, int]] = {}
            for plan in PLANS:
                vault = self.vaults[plan.label]
                listing = self.api(f"/vaults/{vault.address}/accounts", include_empty="true", limit=1000)
                blocks.add(int(listing["block_number"]))
                for item in listing["accounts"]["items"]:
                    row = SubAccount.from_api(plan.label, "", item)
                    served[(plan.label, row.address)] = {name: getattr(row, name) for name in ROW_FIELDS}
            if len(blocks) == 1:
                return blocks.pop(), rows, served
            time.sleep(0.3)
        raise DemoError("the chain kept moving while the API was read: no consistent snapshot")

    def chain_figures(self, block: int) -> dict[tuple[str, str], dict[str, int]]:
        """The same figures from the vaults' own views at `block`, and the demo's own ledger."""
        out: dict[tuple[str, str], dict[str, int]] = {}
        for plan in PLANS:
            vault = self.vaults[plan.label]
            fee_logs = list(vault.contract.events.FeesAccrued.get_logs(from_block=0, to_block=block))
            for person in self.accounts_of(plan):
                who = person.address
                _epoch, _requested, pending, _cs, claimable = (int(x) for x in call(vault.fn.redeemRequestOf(who),
                                                                                     block=block))
                wallet = vault.balance_of(who, block)
                equity = int(call(vault.fn.convertToAssets(wallet + pending), block=block)) + claimable
                net = self.ledger.net(plan.label, who)
                out[(plan.label, who)] = {"shares": wallet, "pending_shares": pending, "claimable_assets": claimable,
                                          "equity": equity, "net_deposits": net, "total_pnl": equity - net,
                                          "fees_borne": fees_borne(vault, who, fee_logs)}
        return out

    def summary(self) -> bool:
        self.out.step(STEPS[13])
        with self.out.progress("letting the keeper finish its duties") as tick:
            self.quiesce(tick)
        block, rows, served = self.snapshot()
        alpha = self.vaults[ALPHA.label]
        share_decimals = int(call(alpha.fn.decimals()))
        self.out.line(f"GET {self.api_url}/vaults/{{vault}}/investors/{{investor}} for every account, at block {block}; "
                      "amounts in USDC, shares in vault shares")
        self.out.line()
        for line in render_table(rows, share_decimals, self.m.token("USDC").decimals):
            self.out.line(line)
        self.out.line()
        self.out.line("equity = shares' value + claimable USDC; net deposits = deposited - claimed; P&L = realised + "
                      "unrealised (average cost); fees borne = the account's share of every fee mint's dilution")
        problems = differences(rows, served, "the API's accounts list (GET /vaults/{vault}/accounts)")
        problems += differences(rows, self.chain_figures(block), f"the chain's views at block {block} and the "
                                                                 "demo's deposits and claims")
        if problems:
            self.out.line("the summary does NOT match:")
            for problem in problems:
                self.out.line(f"- {problem}", 4)
            return False
        self.out.line(f"{MATCH_LINE}: {len(rows)} sub-accounts at block {block} equal the API's accounts list, the "
                      "vaults' views at that block (balanceOf, redeemRequestOf, convertToAssets), the demo's own "
                      "deposits and claims (P&L = equity - net deposits) and fees borne rebuilt from FeesAccrued")
        return True

    def quiesce(self, tick: Callable[[], None]) -> None:
        """Let the keeper's duties act on the last transactions (an accrual follows each block)."""
        quiet_for = KEEPER_DUTIES["fees_interval_s"] + 1.5
        last, since = self.head(), time.monotonic()
        deadline = time.monotonic() + self.settings.wait_timeout_s
        while time.monotonic() - since < quiet_for and time.monotonic() < deadline:
            self.stack.check()
            tick()
            time.sleep(0.25)
            head = self.head()
            if head != last:
                last, since = head, time.monotonic()

    def endpoints(self) -> None:
        alice = self.vaults[ALPHA.label]
        self.out.line()
        self.out.line(f"App:    {self.api_url}/    (investors, managers, auditors: connect a wallet to {self.rpc_url}, "
                      f"chain id {DEVNET_CHAIN_ID})")
        self.out.line(f"API:    {self.api_url}    (OpenAPI docs: {self.api_url}/docs)")
        self.out.line(f"        e.g. {self.api_url}/vaults/{alice.address}/investors/{BOB.address}")
        self.out.line(f"        {self.api_url}/vaults/{alice.address}/trades    {self.api_url}/investors/{CAROL.address}")
        self.out.line(f"keeper: {self.keeper_url}/healthz    chain: {self.rpc_url} (chain id {DEVNET_CHAIN_ID})")
        self.out.line(f"state and logs: {self.dir}")

    # ---------------------------------------------------------------- the whole story
    def run(self) -> bool:
        self.start_chain()
        self.deploy()
        self.create_vaults()
        self.start_services()
        self.deposit()
        self.trade()
        self.move_market()
        before_block, jump_to = self.pass_time()
        self.crystallise_fees(before_block, jump_to)
        requests = self.request_withdrawals()
        due = self.pass_notice()
        self.settle(requests, due)
        self.claim(requests)
        ok = self.summary()
        self.endpoints()
        return ok

    def serve_until_interrupted(self) -> None:
        self.out.line()
        self.out.line("The stack keeps running (the keeper's duties too). Press Ctrl-C to stop the keeper, the API "
                      "and anvil.")
        while True:
            self.stack.check()
            time.sleep(1)


def fees_borne(vault: Vault, who: str, fee_logs: list[Any]) -> int:
    """An account's share of every fee mint's dilution, from the FeesAccrued logs and its position
    (wallet + pending) just before each: floor(sum(position * floor(m*n*1e36 / (S*(S-m)))) / 1e36)."""
    scale = 10**36
    total = 0
    for log in fee_logs:
        a = log["args"]
        minted = int(a["managementShares"]) + int(a["performanceShares"])
        supply = int(a["supply"])
        if minted == 0:
            continue
        before = log["blockNumber"] - 1
        position = vault.balance_of(who, before) + int(call(vault.fn.redeemRequestOf(who), block=before)[2])
        total += position * (minted * int(a["nav"]) * scale // (supply * (supply - minted)))
    return total // scale


# ==================================================================== entry point


class _Stop(Exception):
    """SIGTERM: stop like Ctrl-C."""


def _on_sigterm(_signum: int, _frame: Any) -> None:
    raise _Stop


def parse_settings(argv: list[str] | None) -> DemoSettings:
    parser = argparse.ArgumentParser(prog="python -m scripts.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exit", action="store_true", default=None,
                        help="run the scenario, stop everything and exit (make demo EXIT=1)")
    parser.add_argument("--state-dir", type=Path, help="where the demo keeps its files (default .demo/)")
    parser.add_argument("--rpc-port", type=int, help="anvil's port (default 8545 if free; 0: any free port)")
    parser.add_argument("--keeper-port", type=int, help="the keeper's port (default 8547 if free)")
    parser.add_argument("--api-port", type=int, help="the API's port (default 8000 if free)")
    args = parser.parse_args(argv)
    given = {k: v for k, v in vars(args).items() if v is not None}
    try:
        return DemoSettings(**given)
    except ValueError as exc:
        parser.error(str(exc))
        raise  # unreachable: parser.error exits


def main(argv: list[str] | None = None) -> int:
    settings = parse_settings(argv)
    console = Console()
    stack = Stack()
    demo = Demo(settings, stack, console)
    started = time.monotonic()
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    # Ctrl-C stops the stack even when started from a shell that ignores SIGINT in background jobs
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    code, serving = 0, False
    try:
        demo.prepare_state_dir()
        print(f"Cohort demo: {len(STEPS)} steps; files and logs in {demo.dir}", flush=True)
        try:
            ok = demo.run()
        except DemoError:
            raise
        except Exception as exc:  # a web3, HTTP or chain error: say what failed, keep the traceback in a file
            trace = demo.dir / "demo-error.log"
            trace.write_text(traceback.format_exc())
            doing = f"step {console.step_no} ({STEPS[max(console.step_no, 1) - 1]})"
            raise DemoError(f"{stack.diagnose(exc, doing)}\n(traceback in {trace})") from exc
        code = 0 if ok else 1
        if not ok:
            print("\ndemo: the summary table does not match what the API serves (see above)", file=sys.stderr,
                  flush=True)
        print(f"\nscenario finished in {time.monotonic() - started:.1f} s", flush=True)
        if ok and not settings.exit:
            serving = True
            demo.serve_until_interrupted()
    except DemoError as exc:
        print(f"\ndemo: {exc}", file=sys.stderr, flush=True)
        code = 1
    except (KeyboardInterrupt, _Stop):
        print("\ninterrupted: stopping the keeper, the API and anvil", flush=True)
        code = 0 if serving else 130
    finally:
        # a second Ctrl-C or SIGTERM must not cut the shutdown short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stopped = stack.stop()
        if stopped:
            print(f"stopped {', '.join(stopped)}", flush=True)
        demo.release_state_dir()
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
    return code


if __name__ == "__main__":
    sys.exit(main())
