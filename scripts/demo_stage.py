"""The demo's stage: its settings, its state folder, the stack (anvil, keeper, API) it starts in
steps 1-4, and the helpers every step uses (waiting, asking the API, naming tokens and blocks)."""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from web3 import Web3

from cohort import manifest as mf
from cohort import protocol
from cohort.artifacts import REPO_ROOT
from cohort.chain import DEVNET_CHAIN_ID, connect
from cohort.dev import devnet
from cohort.dev.anvil import DevChain
from cohort.dev.market import Market
from cohort.dev.stack import (
    Anvil,
    Stack,
    api_process,
    choose_port,
    keeper_process,
    keeper_started,
    pid_alive,
    private_key_of,
    wait_for,
)
from cohort.errors import CohortError
from cohort.vault import Vault
from scripts.demo_cast import (
    ALPHA,
    BOB,
    CAROL,
    FOLLOWERS,
    GUARDIAN,
    INVESTORS,
    KEEPER,
    KEEPER_DUTIES,
    MIA,
    NOAH,
    OWNER,
    PLANS,
    STEPS,
)
from scripts.demo_report import Console, Ledger, amount, days, pct, price, short

T = TypeVar("T")
KEEPER_CONFIG_NOTE = ("# Written by scripts/demo.py. The keeper's key (dev account 2) is in KEEPER_PRIVATE_KEY.\n"
                      "# Duties run every few seconds so that the demo's jumps in time are acted on at once.\n")


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


def parse_settings(argv: list[str] | None, description: str | None) -> DemoSettings:
    """The settings from the command line (`--exit`, `--state-dir`, ports), else the environment."""
    parser = argparse.ArgumentParser(prog="python -m scripts.demo", description=description,
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


def is_demo(pid: int) -> bool:
    """Is process `pid` a demo (not some process that reused a stale lock's pid)?"""
    try:
        return b"scripts.demo" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


class Stage:
    """The stack, the deployment and the console the scenario plays on."""

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
        """Poll `probe` until it returns something, watching the processes and showing progress."""
        with self.out.progress(what) as tick:
            return wait_for(probe, what, timeout or self.settings.wait_timeout_s, check=self.stack.check,
                            interval=0.2, tick=tick)

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
        return self.m.symbols().get(address.lower()) or short(address)

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

    def mismatched(self, problems: list[str], heading: str) -> bool:
        """Print `heading` and each problem, if there are any (a check's failure); whether there were."""
        if problems:
            self.out.line(heading)
            for problem in problems:
                self.out.line(f"- {problem}", 4)
        return bool(problems)

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
        anvil = Anvil(port=port, log_path=self.dir / "anvil.log")
        self.stack.start_anvil(anvil)
        self.rpc_url = anvil.rpc_url
        # the investors' wallets sign their own transactions (local keys); the node only relays them
        self.w3 = connect(self.rpc_url, accounts=tuple(p.account for p in INVESTORS))
        self.out.line(f"anvil on {self.rpc_url} (chain id {self.w3.eth.chain_id}, automine); "
                      f"log {self.dir / 'anvil.log'}")

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
                          f"{pct(cfg.management_fee_bps)} management a year, "
                          f"{pct(cfg.performance_fee_bps)} performance over a high-water mark", 6)
            self.out.line(f"trades USDC <-> {', '.join(cfg.assets)}; risk: trades up to {pct(r.max_trade_bps)} of NAV, "
                          f"slippage <= {pct(r.max_slippage_bps)} vs a {r.twap_window // 60}-min TWAP, loss budget "
                          f"{pct(r.loss_budget_bps)}/day, drawdown breaker at {pct(r.drawdown_bps)}", 6)
            self.out.line(f"withdrawals: {days(cfg.notice_period)} notice after the daily epoch closes, gate "
                          f"{pct(cfg.gate_bps)} of NAV per epoch; keeper {short(KEEPER.address)} allow-listed", 6)
        self.m = mf.load(self.manifest_path)

    def start_services(self) -> None:
        self.out.step(STEPS[3])
        keeper_port, api_port = self.keeper_port, self.api_port
        settings: dict[str, Any] = {
            "rpc_url": self.rpc_url, "chain_id": DEVNET_CHAIN_ID, "manifest": str(self.manifest_path),
            "vaults": [p.label for p in PLANS] + [f.label for f in FOLLOWERS], "db_path": str(self.dir / "keeper.db"),
            "host": "127.0.0.1",
            "port": keeper_port, "poll_interval_s": 0.2, "retry_delay_s": 0.5, **KEEPER_DUTIES,
            "log_level": "INFO", "log_json": True}
        keeper = self.stack.start(keeper_process(self.dir / "keeper.toml", settings, private_key_of(KEEPER.account),
                                                 self.dir / "keeper.log", comment=KEEPER_CONFIG_NOTE))
        # The API relays the web app's signed signals to this keeper (the manager console).
        api = self.stack.start(api_process(self.rpc_url, f"sqlite:///{self.dir / 'api.sqlite3'}", self.manifest_path,
                                           api_port, self.dir / "api.log",
                                           env={"API_POLL_INTERVAL": "0.2",
                                                "API_KEEPER_URL": f"http://127.0.0.1:{keeper_port}"}))
        for child in (keeper, api):
            self.out.line(f"$ {' '.join(Path(a).name if i == 0 else a for i, a in enumerate(child.argv))}")
        self.keeper_url = f"http://127.0.0.1:{keeper_port}"
        self.api_url = f"http://127.0.0.1:{api_port}"

        def api_ready() -> dict[str, Any] | None:
            body: dict[str, Any] = httpx.get(f"{self.api_url}/health", timeout=2).json()
            return body if body.get("status") == "ok" and body.get("vaults", 0) >= len(PLANS) else None

        health = self.wait("starting the keeper", lambda: keeper_started(self.keeper_url))
        duties = ", ".join(f"{name} every {d['interval_s']:g} s" for name, d in health["duties"].items())
        self.out.line(f"keeper {self.keeper_url}: account {short(health['account'])}, serving {len(health['vaults'])} "
                      f"vaults; duties: {duties}")
        api_health = self.wait("starting the API and indexing the chain", api_ready)
        self.out.line(f"API {self.api_url}: indexed block {api_health['indexed_block']}, "
                      f"{api_health['vaults']} vaults, {api_health['events']} events "
                      f"(SQLite {self.dir / 'api.sqlite3'})")

    def endpoints(self) -> None:
        alice = self.vaults[ALPHA.label]
        self.out.line()
        self.out.line(f"App:    {self.api_url}/    (investors, managers, auditors: connect a wallet to {self.rpc_url}, "
                      f"chain id {DEVNET_CHAIN_ID})")
        self.out.line(f"API:    {self.api_url}    (OpenAPI docs: {self.api_url}/docs)")
        self.out.line(f"        e.g. {self.api_url}/vaults/{alice.address}/investors/{BOB.address}")
        self.out.line(f"        {self.api_url}/vaults/{alice.address}/trades    "
                      f"{self.api_url}/investors/{CAROL.address}")
        self.out.line(f"keeper: {self.keeper_url}/healthz    chain: {self.rpc_url} (chain id {DEVNET_CHAIN_ID})")
        self.out.line(f"state and logs: {self.dir}")

    def serve_until_interrupted(self) -> None:
        self.out.line()
        self.out.line("The stack keeps running (the keeper's duties too). Press Ctrl-C to stop the keeper, the API "
                      "and anvil.")
        while True:
            self.stack.check()
            time.sleep(1)


