"""Browser fixtures: the API (with its indexer and the web app) served by uvicorn, a keeper running
for real, Debian's chromium driven by Playwright, and a wallet: an injected EIP-1193 provider whose
requests go to anvil through a binding to Python, which signs transactions and typed data with a dev
key (eth_account), as a wallet extension would.

Screenshots are written to tests/web/screenshots/ (git ignores it)."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from api.main import create_app
from api.settings import Settings
from cohort import manifest as mf
from cohort.dev.stack import Anvil, free_port
from cohort.vault import Vault
from tests.conftest import Roles, make_vault
from tests.keeper.conftest import ThreadKeeper, base_settings, start_thread_keeper

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"

# The wallet a page is given before its scripts run: every request goes to window.cohortWallet (Python).
WALLET_JS = """
(() => {
  const handlers = {};
  window.ethereum = {
    isCohortTestWallet: true,
    on(event, f) { (handlers[event] ??= []).push(f); return this; },
    removeListener(event, f) { handlers[event] = (handlers[event] ?? []).filter((g) => g !== f); return this; },
    async request({ method, params }) {
      const answer = await window.cohortWallet(method, params ?? []);
      if (answer.error) {
        const err = new Error(answer.error.message);
        err.code = answer.error.code;
        err.data = answer.error.data;
        throw err;
      }
      return answer.result;
    },
  };
})();
"""


@dataclass
class Wallet:
    """What a browser wallet does for one account: answers from the node, signs locally."""

    w3: Web3
    account: LocalAccount
    chain_id: int | None = None  # report another chain (a wallet on the wrong network)
    connected: bool = False  # like a wallet extension: no account until the site asks for one

    def handle(self, method: str, params: list[Any]) -> dict[str, Any]:
        try:
            if method == "eth_requestAccounts":
                self.connected = True
            if method in ("eth_accounts", "eth_requestAccounts"):
                return {"result": [self.account.address] if self.connected else []}
            if method == "eth_chainId" and self.chain_id is not None:
                return {"result": hex(self.chain_id)}
            if method == "wallet_switchEthereumChain":  # the person agrees to move to the node's chain
                if int(params[0]["chainId"], 16) != self.w3.eth.chain_id:
                    return {"error": {"code": 4902, "message": "Unrecognized chain ID"}}
                self.chain_id = None
                return {"result": None}
            if method == "eth_sendTransaction":
                return {"result": self.send(params[0])}
            if method == "eth_signTypedData_v4":
                assert Web3.to_checksum_address(params[0]) == self.account.address
                signed = Account.sign_typed_data(self.account.key, full_message=json.loads(params[1]))
                return {"result": "0x" + bytes(signed.signature).hex()}
            answer = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
            if "error" in answer:
                return {"error": dict(answer["error"])}
            return {"result": answer["result"]}
        except Exception as exc:  # the page sees it as a wallet error
            return {"error": {"code": -32603, "message": f"{type(exc).__name__}: {exc}"}}

    def send(self, tx: dict[str, Any]) -> str:
        call = {"from": self.account.address, "to": Web3.to_checksum_address(tx["to"]), "data": tx.get("data", "0x"),
                "value": int(tx.get("value", "0x0"), 16)}
        gas = int(tx["gas"], 16) if tx.get("gas") else int(self.w3.eth.estimate_gas(call))  # type: ignore[arg-type]
        base = int(self.w3.eth.get_block("latest")["baseFeePerGas"])
        signed = self.account.sign_transaction({
            **call, "gas": gas, "nonce": self.w3.eth.get_transaction_count(self.account.address, "pending"),
            "maxPriorityFeePerGas": 10**9, "maxFeePerGas": 2 * base + 10**9, "chainId": self.w3.eth.chain_id,
            "type": 2})
        return "0x" + bytes(self.w3.eth.send_raw_transaction(signed.raw_transaction)).hex()


@dataclass
class Server:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def get(self, path: str, **params: Any) -> Any:
        answer = httpx.get(self.url + path, params=params, timeout=30)
        assert answer.status_code == 200, (path, answer.status_code, answer.text)
        return answer.json()

    def wait_indexed(self, block: int) -> None:
        deadline = time.monotonic() + 30
        while self.get("/health")["indexed_block"] < block:
            assert time.monotonic() < deadline, f"the API did not index block {block}"
            time.sleep(0.05)


@pytest.fixture
def web_vault(w3: Web3, deployment: mf.Manifest, roles: Roles) -> Vault:
    return make_vault(w3, deployment, roles, "web")


@pytest.fixture
def keeper(anvil: Anvil, web_vault: Vault, tmp_path: Path) -> Iterator[ThreadKeeper]:
    """A keeper relaying the vault's signals and settling its redemptions as soon as they are due."""
    k = start_thread_keeper(base_settings(anvil.rpc_url, [web_vault.address], tmp_path / "keeper.db",
                                          redemptions_interval_s=0.3))
    yield k
    k.stop()
    assert not k.errors, f"keeper raised: {k.errors}"


@pytest.fixture
def app_server(anvil: Anvil, manifest_path: Path, keeper: ThreadKeeper, tmp_path: Path) -> Iterator[Server]:
    """`cohort-api serve` in a thread: the REST API, its indexer and the web app, on a free port."""
    settings = Settings(rpc_url=anvil.rpc_url, manifest=manifest_path,
                        database_url=f"sqlite:///{tmp_path / 'api.sqlite3'}", poll_interval=0.1,
                        stream_poll_interval=0.1, port=free_port(), keeper_url=keeper.client.url)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=settings.port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.02)
    yield Server(f"http://127.0.0.1:{settings.port}", server, thread)
    server.should_exit = True
    thread.join(15)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"], headless=True)
        yield b
        b.close()


OpenPage = Callable[..., Any]


@pytest.fixture
def open_page(browser: Any, w3: Web3) -> Iterator[OpenPage]:
    """`open_page(url, account=None, chain_id=None)`: a fresh browser context with a wallet for `account`."""
    contexts: list[Any] = []

    def open_(url: str, account: LocalAccount | None = None, chain_id: int | None = None) -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: print(f"[browser {m.type}] {m.text}"))  # shown when a test fails
        page.on("pageerror", lambda e: print(f"[browser error] {e}"))
        if account is not None:
            wallet = Wallet(w3, account, chain_id)
            page.expose_function("cohortWallet", wallet.handle)
            page.add_init_script(WALLET_JS)
        page.goto(url)
        return page

    yield open_
    for c in contexts:
        c.close()
