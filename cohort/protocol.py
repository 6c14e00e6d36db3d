"""The Cohort layer on a chain: TWAP oracle, swap adapters, admin module, factory and vaults.

`ensure_protocol` deploys what the manifest lacks (idempotent, like the market layer) and
`create_vault` deploys a vault through the factory and records it in the manifest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import keccak
from web3 import Web3

from cohort import manifest as mf
from cohort.artifacts import project_artifact
from cohort.deploy import at, deploy, has_code
from cohort.errors import ContractRevert
from cohort.tx import call, transact
from cohort.uniswap import encode_v2_path, encode_v3_path
from cohort.vault import Vault

ZERO = "0x" + "00" * 20
# A data contract returns its payload as code: PUSH2 size DUP1 PUSH1 12 PUSH1 0 CODECOPY PUSH1 0 RETURN
_DATA_PREFIX = "61{size:04x}80600c6000396000f3"
_CHUNK_PAYLOAD = 24_000  # below the 24,576-byte code limit, with the leading STOP byte


@dataclass(frozen=True)
class RiskLimits:
    twap_window: int = 1800
    max_deviation_ticks: int = 200  # ~2%
    max_trade_bps: int = 5000
    max_slippage_bps: int = 100
    loss_budget_bps: int = 200
    loss_window: int = 86_400
    drawdown_bps: int = 2000

    def as_tuple(self) -> tuple[int, ...]:
        return (self.twap_window, self.max_deviation_ticks, self.max_trade_bps, self.max_slippage_bps,
                self.loss_budget_bps, self.loss_window, self.drawdown_bps)


@dataclass(frozen=True)
class VaultConfig:
    """What `create_vault` needs beyond roles; defaults suit the devnet."""

    name: str = "Cohort Alpha USDC"
    symbol: str = "cALPHA"
    base: str = "USDC"
    assets: tuple[str, ...] = ("WETH", "WBTC")
    management_fee_bps: int = 200
    performance_fee_bps: int = 2000
    deposit_cap: int = 2**128 - 1
    min_deposit: int = 1_000_000  # 1 USDC
    risk: RiskLimits = field(default_factory=RiskLimits)
    notice_period: int = 86_400
    epoch_length: int = 86_400
    gate_bps: int = 2500
    timelock: int = 86_400


def _log(progress: Callable[[str], None] | None, msg: str) -> None:
    if progress:
        progress(msg)


def deploy_data_contract(w3: Web3, payload: bytes, sender: str) -> str:
    runtime = b"\x00" + payload  # a leading STOP: the chunk can never run as code
    init = "0x" + _DATA_PREFIX.format(size=len(runtime)) + runtime.hex()
    tx_hash = w3.eth.send_transaction({"from": sender, "data": init, "gas": 6_000_000})  # type: ignore[typeddict-item]
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    if receipt["status"] != 1 or not receipt["contractAddress"]:
        raise ContractRevert("deploy code chunk: TransactionFailed", (tx_hash.hex(),))
    return str(receipt["contractAddress"])


def _protocol_intact(w3: Web3, m: mf.Manifest) -> bool:
    c = m.cohort
    return all(has_code(w3, a) for a in (c.oracle, c.factory, c.strategies, *c.adapters.values())) \
        and len(c.adapters) == 2


def ensure_protocol(w3: Web3, m: mf.Manifest, path: Path, *,
                    progress: Callable[[str], None] | None = None) -> mf.Manifest:
    """Deploy the oracle (feeds for every market token), adapters, strategies, vault modules and factory."""
    if _protocol_intact(w3, m):
        _log(progress, "reusing the Cohort contracts recorded in the manifest")
        return m
    deployer = m.deployer
    usdc = m.token("USDC").address
    _log(progress, "deploying the TWAP oracle, swap adapters, strategies, vault modules and vault factory")
    oracle = deploy(w3, project_artifact("UniswapV3TwapOracle"), deployer, usdc, sender=deployer)
    for symbol in m.tokens:  # a feed for every token with a 0.3% pool against USDC
        key = f"{symbol}/USDC/3000"
        if symbol != "USDC" and (key in m.uniswap_v3.pools or f"USDC/{symbol}/3000" in m.uniswap_v3.pools):
            pool = m.v3_pool(symbol, "USDC", 3000).address
            transact(oracle.functions.setFeed(m.token(symbol).address, pool), deployer)
    v3_adapter = deploy(w3, project_artifact("UniswapV3Adapter"), m.uniswap_v3.swap_router, sender=deployer)
    v2_adapter = deploy(w3, project_artifact("UniswapV2Adapter"), m.uniswap_v2.router02, sender=deployer)
    strategies = deploy(w3, project_artifact("CohortStrategies"), sender=deployer)
    follower = deploy(w3, project_artifact("CohortVaultFollower"), strategies.address, sender=deployer)
    admin = deploy(w3, project_artifact("CohortVaultAdmin"), follower.address, sender=deployer)
    code = bytes.fromhex(project_artifact("CohortVault").bytecode[2:])
    chunks = [deploy_data_contract(w3, code[i:i + _CHUNK_PAYLOAD], deployer)
              for i in range(0, len(code), _CHUNK_PAYLOAD)]
    factory = deploy(w3, project_artifact("VaultFactory"), admin.address, chunks, sender=deployer)
    if bytes(call(factory.functions.vaultCodeHash())) != keccak(code):
        raise ContractRevert("VaultFactoryCodeHashMismatch", ())
    receipt_block = w3.eth.block_number
    m = m.model_copy(deep=True)
    m.cohort = mf.CohortInfo(oracle=oracle.address, factory=factory.address, factory_block=receipt_block,
                             admin=admin.address, follower=follower.address, strategies=strategies.address,
                             adapters={"uniswap-v3": v3_adapter.address, "uniswap-v2": v2_adapter.address},
                             vaults={})
    mf.save(m, path)
    return m


def vault_params(m: mf.Manifest, cfg: VaultConfig, *, owner: str, manager: str, guardian: str,
                 fee_recipient: str, keepers: list[str]) -> tuple[Any, ...]:
    """The VaultParams tuple for `VaultFactory.createVault`."""
    base = m.token(cfg.base).address
    v3 = m.cohort.adapters["uniswap-v3"]
    listings = []
    for symbol in cfg.assets:
        token = m.token(symbol).address
        pool = m.v3_pool(symbol, cfg.base, 3000)
        listings.append((token, v3, encode_v3_path([token, base], [pool.fee])))
    return (base, cfg.name, cfg.symbol, owner, manager, guardian, fee_recipient, m.cohort.oracle,
            cfg.management_fee_bps, cfg.performance_fee_bps, cfg.deposit_cap, cfg.min_deposit,
            cfg.risk.as_tuple(), cfg.notice_period, cfg.epoch_length, cfg.gate_bps, cfg.timelock,
            keepers, list(m.cohort.adapters.values()), listings)


def create_vault(w3: Web3, m: mf.Manifest, cfg: VaultConfig, *, label: str, owner: str, manager: str,
                 guardian: str, fee_recipient: str, keepers: list[str], sender: str,
                 salt: bytes | None = None, path: Path | None = None) -> Vault:
    """Deploy a vault through the factory; record it in the manifest when `path` is given."""
    if m.cohort.factory is None:
        raise ContractRevert("NoFactory", ("run ensure_protocol first",))
    factory = at(w3, "VaultFactory", m.cohort.factory)
    params = vault_params(m, cfg, owner=owner, manager=manager, guardian=guardian,
                          fee_recipient=fee_recipient, keepers=keepers)
    salt = salt or keccak(text=label)
    address = call(factory.functions.vaultAddress(params, salt, sender))
    receipt = transact(factory.functions.createVault(params, salt), sender, gas=12_000_000)
    if path is not None:
        m.cohort.vaults[label] = mf.VaultInfo(address=address, name=cfg.name, symbol=cfg.symbol,
                                              asset=m.token(cfg.base).address, manager=manager,
                                              deployed_block=receipt["blockNumber"])
        mf.save(m, path)
    return Vault(w3, address)


def two_hop_path(m: mf.Manifest, a: str, b: str, c: str) -> bytes:
    return encode_v3_path([m.token(a).address, m.token(b).address, m.token(c).address], [3000, 3000])


def v2_route(m: mf.Manifest, *symbols: str) -> bytes:
    return encode_v2_path([m.token(s).address for s in symbols])
