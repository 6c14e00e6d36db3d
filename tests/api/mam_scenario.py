"""A strategy history on the session chain for the strategy endpoints' tests, and the figures
they are checked against, taken from the receipts' logs as web3 decodes them (never from the
indexer's code).

The history: a strategy ("Trend") with four followers: conservative (0.5x), aggressive (1.5x),
one paused by its guardian and one whose price tolerance (10 bps) the master's reference price
puts out of reach. One master signal buys WETH with 10% of each follower's USDC: two fill at
one block price, two are skipped with their reasons; the paused one is unpaused and the same
master fills it in a second execution. Then the conservative vault unfollows and the strategy
gets a new manager.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from web3 import Web3

from cohort import manifest as mf
from cohort import signals
from cohort import strategies as st
from cohort.onchain import SizeMode
from cohort.protocol import VaultConfig
from cohort.tx import decode_revert, transact
from cohort.uniswap import encode_v3_path
from cohort.vault import Vault
from tests.conftest import Roles, make_vault
from tests.helpers import deposit
from tests.mam import EQUITY, HALF, ONE_AND_HALF, USDC

CONSERVATIVE, AGGRESSIVE = HALF, ONE_AND_HALF
PICKY = replace(EQUITY, tolerance_bps=10)
REF_PRICE = "0.0005"  # WETH at 2,000 USDC: the pools trade it near 3,000, so fills are ~33% worse


@dataclass
class Execution:
    receipt: Any
    master: dict[str, Any]  # MasterExecuted args
    fills: dict[str, dict[str, Any]]  # follower -> its TradeExecuted args
    allocations: dict[str, dict[str, Any]]  # follower -> its StrategyAllocated args
    skipped: dict[str, tuple[str, tuple[Any, ...]]]  # follower -> decoded revert


@dataclass
class MamScenario:
    strategies: st.Strategies
    strategy_id: int
    owner: str
    manager: str
    new_manager: str
    vaults: dict[str, Vault]  # conservative, aggressive, paused, picky
    investors: dict[str, str]  # the same keys: each vault's one investor
    signed: st.SignedMaster
    follow_blocks: dict[str, int]
    unfollow_block: int
    manager_block: int
    executions: list[Execution] = field(default_factory=list)


def _execute(strategies: st.Strategies, signed: st.SignedMaster, followers: list[Vault], keeper: str) -> Execution:
    receipt, _floor = strategies.execute_at_market(signed, [f.address for f in followers], keeper, 10)
    fills = {v.address: e for v in followers for e in v.events(receipt, "TradeExecuted")}
    allocations = {v.address: e for v in followers for e in v.events(receipt, "StrategyAllocated")}
    skipped = {e["follower"]: decode_revert(e["reason"]) for e in strategies.events(receipt, "FollowerSkipped")}
    return Execution(receipt, strategies.events(receipt, "MasterExecuted")[0], fills, allocations, skipped)


def build_mam(w3: Web3, m: mf.Manifest, roles: Roles) -> MamScenario:
    strategies = st.Strategies(w3, m.cohort.strategies or "")
    manager = roles.manager
    strategy_id = strategies.create(manager.address, "Trend", roles.owner)
    rules = {"conservative": CONSERVATIVE, "aggressive": AGGRESSIVE, "paused": EQUITY, "picky": PICKY}
    vaults: dict[str, Vault] = {}
    investors: dict[str, str] = {}
    follow_blocks: dict[str, int] = {}
    for i, (label, rule) in enumerate(rules.items()):
        vault = make_vault(w3, m, roles, f"mam-{label}", VaultConfig(name=f"MAM {label}", timelock=0))
        change = st.follow(vault, strategy_id, rule, roles.owner)
        assert change.applied, change
        follow_blocks[label] = int(change.receipt["blockNumber"])
        investors[label] = roles.investors[i]
        deposit(w3, m, vault, investors[label], 100_000 * USDC)
        vaults[label] = vault
    transact(vaults["paused"].fn.setPaused(True), roles.guardian)
    tin, tout = m.token("USDC").address, m.token("WETH").address
    master = st.MasterSignal(strategy_id, tin, tout, SizeMode.HOLDINGS, 1000, 0, signals.limit_price_wad("0.0001"),
                             signals.limit_price_wad(REF_PRICE), 100, m.cohort.adapters["uniswap-v3"],
                             encode_v3_path([tin, tout], [3000]), signals.new_nonce(), 2**40)
    signed = st.sign(master, strategies.domain(), manager)
    first = _execute(strategies, signed, list(vaults.values()), roles.keeper)
    transact(vaults["paused"].fn.setPaused(False), roles.owner)
    second = _execute(strategies, signed, [vaults["paused"]], roles.keeper)
    unfollow = st.unfollow(vaults["conservative"], roles.owner)
    new_manager = roles.investors[-1]
    changed = transact(strategies.fn.setManager(strategy_id, new_manager), roles.owner)
    return MamScenario(strategies=strategies, strategy_id=strategy_id, owner=roles.owner, manager=manager.address,
                       new_manager=new_manager, vaults=vaults, investors=investors, signed=signed,
                       follow_blocks=follow_blocks, unfollow_block=int(unfollow["blockNumber"]),
                       manager_block=int(changed["blockNumber"]), executions=[first, second])
