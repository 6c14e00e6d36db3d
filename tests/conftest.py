"""Shared fixtures: one anvil per test session with the markets and the Cohort contracts
deployed, a standard vault, named roles, and a snapshot around every test that touches the
chain (Hypothesis examples use `chain.isolated()` themselves)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from cohort import manifest as mf
from cohort import protocol
from cohort.accounts import dev_account
from cohort.chain import connect
from cohort.dev import devnet
from cohort.dev.anvil import DevChain, pid_alive
from cohort.dev.stack import STARTED_PIDS, Anvil
from cohort.settings import CohortSettings
from cohort.uniswap import UniswapV2, UniswapV3
from cohort.vault import Vault


@dataclass(frozen=True)
class Roles:
    deployer: str
    owner: str
    keeper: str
    guardian: str
    fee_recipient: str
    manager: LocalAccount  # signs signals; also has ETH on the devnet
    outsider: str
    investors: tuple[str, ...]


@pytest.fixture(scope="session")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Anvil]:
    node = Anvil(log_path=tmp_path_factory.mktemp("anvil") / "anvil.log")
    node.start()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def w3(anvil: Anvil) -> Web3:
    return connect(anvil.rpc_url)


@pytest.fixture(scope="session")
def chain(w3: Web3) -> DevChain:
    return DevChain(w3)


@pytest.fixture(scope="session")
def manifest_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("deployments") / "local.json"


@pytest.fixture(scope="session")
def markets(w3: Web3, anvil: Anvil, manifest_path: Path) -> mf.Manifest:
    """Tokens, WETH9, Uniswap V3 and V2 with deep pools (the market layer of the devnet)."""
    return devnet.bootstrap(w3, manifest_path, rpc_url=anvil.rpc_url)


@pytest.fixture(scope="session")
def deployment(w3: Web3, markets: mf.Manifest, manifest_path: Path) -> mf.Manifest:
    """The markets plus Cohort's oracle, adapters, admin module and factory."""
    return protocol.ensure_protocol(w3, markets, manifest_path)


@pytest.fixture()
def settings(anvil: Anvil, manifest_path: Path, deployment: mf.Manifest) -> CohortSettings:
    """The `cohort` command line's settings against the devnet (tests/helpers.run_cli)."""
    return CohortSettings(rpc_url=anvil.rpc_url, manifest=manifest_path)


@pytest.fixture(scope="session")
def accounts(chain: DevChain) -> list[str]:
    return chain.dev_accounts()


@pytest.fixture(scope="session")
def roles(accounts: list[str]) -> Roles:
    return Roles(deployer=accounts[0], owner=accounts[1], keeper=accounts[2], guardian=accounts[3],
                 fee_recipient=accounts[4], manager=dev_account(5), outsider=accounts[6],
                 investors=tuple(accounts[7:19]))


def make_vault(w3: Web3, deployment: mf.Manifest, roles: Roles, label: str,
               cfg: protocol.VaultConfig | None = None, manager: str | None = None) -> Vault:
    """A vault with the standard roles (keeper, guardian, fee recipient) and `cfg`."""
    return protocol.create_vault(w3, deployment, cfg or protocol.VaultConfig(), label=label,
                                 owner=roles.owner, manager=manager or roles.manager.address,
                                 guardian=roles.guardian, fee_recipient=roles.fee_recipient,
                                 keepers=[roles.keeper], sender=roles.owner)


@pytest.fixture(scope="session")
def vault(w3: Web3, deployment: mf.Manifest, roles: Roles) -> Vault:
    """The standard USDC vault (WETH and WBTC listed; 2%/20% fees; 1-day notice and epochs)."""
    return make_vault(w3, deployment, roles, "alpha")


@pytest.fixture(scope="session")
def v3(w3: Web3, markets: mf.Manifest) -> UniswapV3:
    return devnet.v3_from_manifest(w3, markets)


@pytest.fixture(scope="session")
def v2(w3: Web3, markets: mf.Manifest) -> UniswapV2:
    return devnet.v2_from_manifest(w3, markets)


@pytest.fixture(autouse=True)
def _isolate(request: pytest.FixtureRequest) -> Iterator[None]:
    """Undo every test's chain changes (for tests that use the chain). Session fixtures are
    set up before this one, so their deployments survive."""
    if "w3" not in request.fixturenames:
        yield
        return
    chain = DevChain(request.getfixturevalue("w3"))
    with chain.isolated():
        yield


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leftovers = sorted(pid for pid in STARTED_PIDS if pid_alive(pid))
    if leftovers:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        raise RuntimeError(f"processes started by the tests outlived the session: {leftovers}")
