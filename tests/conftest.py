"""Shared fixtures: one anvil per test session with the markets deployed, and a snapshot
around every test (and, through `chain.isolated()`, around every Hypothesis example)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from cohort import devnet
from cohort import manifest as mf
from cohort.chain import STARTED_PIDS, Anvil, DevChain, connect, pid_alive
from cohort.uniswap import UniswapV2, UniswapV3


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
def accounts(chain: DevChain) -> list[str]:
    return chain.dev_accounts()


@pytest.fixture(scope="session")
def v3(w3: Web3, markets: mf.Manifest) -> UniswapV3:
    return devnet.v3_from_manifest(w3, markets)


@pytest.fixture(scope="session")
def v2(w3: Web3, markets: mf.Manifest) -> UniswapV2:
    return devnet.v2_from_manifest(w3, markets)


@pytest.fixture(autouse=True)
def _isolate(request: pytest.FixtureRequest) -> Iterator[None]:
    """Undo every test's chain changes (only for tests that use the chain)."""
    if "chain" not in request.fixturenames and "markets" not in request.fixturenames:
        yield
        return
    chain: DevChain = request.getfixturevalue("chain")
    request.getfixturevalue("markets")
    with chain.isolated():
        yield


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leftovers = sorted(pid for pid in STARTED_PIDS if pid_alive(pid))
    if leftovers:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        raise RuntimeError(f"anvil processes outlived the test session: {leftovers}")
