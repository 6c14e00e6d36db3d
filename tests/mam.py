"""MAM fixtures shared by the contract, keeper and CLI tests: a strategy, follower vaults that follow
it (a vault with no timelock applies `followStrategy` at once), and master signals signed by its
manager."""

from __future__ import annotations

import itertools
from dataclasses import replace
from decimal import Decimal
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from cohort import manifest as mf
from cohort import protocol, signals, strategies
from cohort.onchain import SizeMode
from cohort.strategies import FollowRule, MasterSignal, RuleKind, SignedMaster, Strategies
from cohort.tx import transact
from cohort.uniswap import encode_v3_path
from cohort.vault import Vault
from tests.conftest import Roles, make_vault
from tests.helpers import deposit

USDC = 10**6
WETH_PER_USDC = signals.limit_price_wad(Decimal(1) / 3000)  # about the devnet's price
_nonces = itertools.count(1_000)
_labels = itertools.count(1)


def follower(w3: Web3, m: mf.Manifest, roles: Roles, s: Strategies, strategy_id: int, rule: FollowRule,
             deposit_usdc: int = 20_000, investor: int = 0, cfg: protocol.VaultConfig | None = None) -> Vault:
    """A new vault (no timelock unless `cfg` says) with `deposit_usdc` USDC that follows
    `strategy_id` with `rule`."""
    label = next(_labels)
    cfg = replace(cfg or protocol.VaultConfig(timelock=0), name=f"Follower {label}")
    v = make_vault(w3, m, roles, f"follower-{label}", cfg)
    deposit(w3, m, v, roles.investors[investor], deposit_usdc * USDC)
    change = strategies.follow(v, strategy_id, rule, roles.owner)
    assert change.applied, change
    return v


class MasterBook:
    """Builds and signs master signals of one strategy; a fresh nonce each by default."""

    def __init__(self, s: Strategies, m: mf.Manifest, strategy_id: int, manager: LocalAccount) -> None:
        self.s = s
        self.m = m
        self.strategy_id = strategy_id
        self.manager = manager
        self.domain = s.domain()

    def build(self, *, size_bps: int = 1000, lots: int = 0, nonce: int | None = None, deadline: int = 2**40,
              slippage_bps: int = 100, ref_price: int = WETH_PER_USDC, **changes: Any) -> MasterSignal:
        usdc, weth = self.m.token("USDC").address, self.m.token("WETH").address
        master = MasterSignal(
            strategy_id=self.strategy_id, token_in=usdc, token_out=weth, size_mode=SizeMode.HOLDINGS,
            size_bps=size_bps, lots=lots, limit_price=WETH_PER_USDC // 2, ref_price=ref_price,
            max_slippage_bps=slippage_bps, adapter=self.m.cohort.adapters["uniswap-v3"],
            path=encode_v3_path([usdc, weth], [3000]), nonce=next(_nonces) if nonce is None else nonce,
            deadline=deadline)
        return replace(master, **changes)

    def sign(self, master: MasterSignal, signer: LocalAccount | None = None,
             domain: signals.Domain | None = None) -> SignedMaster:
        return strategies.sign(master, domain or self.domain, signer or self.manager)

    def signed(self, **kwargs: Any) -> SignedMaster:
        return self.sign(self.build(**kwargs))


def new_strategy(w3: Web3, m: mf.Manifest, roles: Roles) -> tuple[Strategies, int]:
    assert m.cohort.strategies, "the deployment has no CohortStrategies"
    s = Strategies(w3, m.cohort.strategies)
    return s, s.create(roles.manager.address, "keeper test", roles.owner)


def pause(v: Vault, guardian: str) -> None:
    transact(v.fn.setPaused(True), guardian)


EQUITY = FollowRule(RuleKind.EQUITY)
HALF = FollowRule(RuleKind.MULTIPLIER, multiplier_bps=5_000)
ONE_AND_HALF = FollowRule(RuleKind.MULTIPLIER, multiplier_bps=15_000)
