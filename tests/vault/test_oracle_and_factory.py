"""The TWAP oracle (ticks composed across hops, spot deviation, named failures) and the
factory (full deployments from code chunks, VaultCreated carries every parameter)."""

from __future__ import annotations

from collections.abc import Mapping

from eth_utils import keccak
from web3 import Web3

from cohort import manifest as mf
from cohort.artifacts import project_artifact
from cohort.deploy import at, deploy
from cohort.dev.anvil import DevChain
from cohort.protocol import VaultConfig, vault_params
from cohort.tx import call, transact
from cohort.vault import Vault
from tests.conftest import Roles
from tests.helpers import Market, reverts


def _plain(value):
    """Decoded ABI values (named mappings, lists) as nested tuples."""
    if isinstance(value, Mapping):
        return tuple(_plain(v) for v in value.values())
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    return value.lower() if isinstance(value, str) else value


def _oracle(w3: Web3, m: mf.Manifest, roles: Roles):
    return deploy(w3, project_artifact("UniswapV3TwapOracle"), roles.deployer, m.token("USDC").address,
                  sender=roles.deployer)


def test_a_two_hop_feed_prices_like_the_direct_pool(w3: Web3, deployment: mf.Manifest, roles: Roles) -> None:
    oracle = _oracle(w3, deployment, roles)
    usdc, weth, wbtc = (deployment.token(s).address for s in ("USDC", "WETH", "WBTC"))
    transact(oracle.functions.setFeed(weth, deployment.v3_pool("WETH", "USDC", 3000).address), roles.deployer)
    transact(oracle.functions.setFeed(wbtc, deployment.v3_pool("WBTC", "WETH", 3000).address), roles.deployer)
    assert tuple(call(oracle.functions.feedOf(wbtc))) == (deployment.v3_pool("WBTC", "WETH", 3000).address, weth)
    via_weth, _ = call(oracle.functions.quote(wbtc, 10**8, usdc, 1800))
    direct, _ = call(at(w3, "UniswapV3TwapOracle", deployment.cohort.oracle).functions.quote(wbtc, 10**8, usdc, 1800))
    assert abs(via_weth - direct) * 10_000 <= direct * 3  # within 3 ticks of rounding
    # a quote between two non-numeraire tokens composes their ticks
    wbtc_in_weth, _ = call(oracle.functions.quote(wbtc, 10**8, weth, 1800))
    assert 19 * 10**18 < wbtc_in_weth < 21 * 10**18
    # quoteMany reads each price once and agrees with quote
    legs = [(wbtc, 10**8, usdc), (weth, 10**18, usdc), (wbtc, 10**8, weth)]
    out, _deviations = call(oracle.functions.quoteMany(legs, 1800))
    assert list(out) == [via_weth, call(oracle.functions.quote(weth, 10**18, usdc, 1800))[0], wbtc_in_weth]


def test_feeds_are_validated_and_failures_are_named(w3: Web3, chain: DevChain, deployment: mf.Manifest,
                                                    roles: Roles) -> None:
    oracle = _oracle(w3, deployment, roles)
    usdc, weth, wbtc, link = (deployment.token(s).address for s in ("USDC", "WETH", "WBTC", "LINK"))
    with reverts("OracleInvalidFeed"):  # the pool does not hold the token
        transact(oracle.functions.setFeed(link, deployment.v3_pool("WETH", "USDC", 3000).address), roles.deployer)
    with reverts("OracleInvalidFeed"):  # WBTC via WETH while WETH has no feed yet
        transact(oracle.functions.setFeed(wbtc, deployment.v3_pool("WBTC", "WETH", 3000).address), roles.deployer)
    with reverts("OwnableUnauthorizedAccount"):
        transact(oracle.functions.setFeed(weth, deployment.v3_pool("WETH", "USDC", 3000).address), roles.outsider)
    with reverts("OracleNoFeed", link):
        call(oracle.functions.quote(link, 10**18, usdc, 1800))
    transact(oracle.functions.setFeed(weth, deployment.v3_pool("WETH", "USDC", 3000).address), roles.deployer)
    with reverts("OracleObservationUnavailable"):  # far longer than the pool's history
        call(oracle.functions.quote(weth, 10**18, usdc, 10 * 86_400))
    assert call(oracle.functions.hasFeed(usdc)) and not call(oracle.functions.hasFeed(link))


def test_the_deviation_is_the_distance_between_spot_and_twap(w3: Web3, chain: DevChain, deployment: mf.Manifest,
                                                             roles: Roles, v3) -> None:
    oracle = at(w3, "UniswapV3TwapOracle", deployment.cohort.oracle)
    weth, usdc = deployment.token("WETH").address, deployment.token("USDC").address
    assert call(oracle.functions.quote(weth, 10**18, usdc, 1800))[1] == 0
    Market(w3, deployment, v3).move("WETH", 5)
    twap, spot = call(oracle.functions.ticksOf(weth, 1800))
    deviation = call(oracle.functions.quote(weth, 10**18, usdc, 1800))[1]
    assert deviation == abs(spot - twap) and 400 < deviation < 600  # ~5% is ~488 ticks
    chain.increase_time(1800)
    assert call(oracle.functions.quote(weth, 10**18, usdc, 1800))[1] <= 1


def test_the_factory_deploys_full_vaults_and_announces_every_parameter(w3: Web3, deployment: mf.Manifest,
                                                                       roles: Roles) -> None:
    factory = at(w3, "VaultFactory", deployment.cohort.factory)
    code = bytes.fromhex(project_artifact("CohortVault").bytecode[2:])
    assert bytes(call(factory.functions.vaultCodeHash())) == keccak(code)
    cfg = VaultConfig(name="Cohort Gamma", symbol="cGAMMA", management_fee_bps=150, performance_fee_bps=1500)
    params = vault_params(deployment, cfg, owner=roles.owner, manager=roles.manager.address, guardian=roles.guardian,
                          fee_recipient=roles.fee_recipient, keepers=[roles.keeper])
    salt = b"\x11" * 32
    predicted = call(factory.functions.vaultAddress(params, salt, roles.owner))
    receipt = transact(factory.functions.createVault(params, salt), roles.owner, gas=12_000_000)
    (created,) = [dict(e["args"]) for e in factory.events.VaultCreated().process_receipt(receipt)]
    assert created["vault"] == predicted and call(factory.functions.isVault(predicted))
    assert (created["asset"], created["manager"], created["creator"]) == (
        deployment.token("USDC").address, roles.manager.address, roles.owner)
    assert created["admin"] == deployment.cohort.admin
    assert _plain(created["params"]) == _plain(params)  # everything an indexer needs, in one event
    vault = Vault(w3, predicted)
    assert call(vault.fn.name()) == "Cohort Gamma" and vault.fee_state().management_fee_bps == 150
    assert w3.eth.get_code(predicted) != b"" and len(w3.eth.get_code(predicted)) < 24_576
    with reverts("VaultFactoryCreateFailed"):  # the same creator and salt cannot be used twice
        transact(factory.functions.createVault(params, salt), roles.owner, gas=12_000_000)
    bad = list(params)
    bad[12] = (10, 200, 5000, 100, 200, 86_400, 2000)  # a 10-second TWAP window
    with reverts("CohortInvalidParameter"):  # the constructor's own error, bubbled by the factory
        transact(factory.functions.createVault(tuple(bad), b"\x12" * 32), roles.owner, gas=12_000_000)
    assert vault.events(receipt, "FeesSet")  # setters emitted their events at construction
