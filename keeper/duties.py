"""The keeper's scheduled duties, each idempotent and driven by the vault's own views.

As in Yearn's tokenized strategies, the chain says whether there is work: `pendingFeeShares()`,
`redemptionStatus()`, `riskState()` and a simulated `tripBreaker()`. A duty that finds nothing
to do sends nothing; running it twice, or from two keepers, does no harm (the second call
either finds nothing to do or reverts in simulation with a named "nothing to do" error).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from web3 import Web3

from cohort.errors import ContractRevert
from cohort.onchain import PendingFeeShares, RedemptionStatus, RiskState
from cohort.reverts import NOTHING_TO_DO, gate_spent
from keeper import policy
from keeper.abi import VaultAbi
from keeper.breaker import BreakerGuard
from keeper.errors import KeeperError
from keeper.policy import RedemptionStep
from keeper.rpc import Rpc
from keeper.sender import NonceLost, TxSender
from keeper.settings import KeeperSettings
from keeper.vaults import VaultDirectory

log = logging.getLogger("keeper.duties")
MAX_REDEMPTION_ROUNDS = 16  # settlements per vault per run (one epoch, or one gate round, each)


class DutySkipped(KeeperError, RuntimeError):
    """The duty could not act this round (the circuit breaker is open)."""


class DutyContext:
    """What a duty handler may use: read a view, send a call (simulated first), and the vault
    directory (token symbols and amounts for messages). Built from the keeper's parts, so duties
    do not depend on the service that runs them."""

    def __init__(self, *, abi: VaultAbi, rpc: Rpc, sender: TxSender, breaker: BreakerGuard,
                 settings: KeeperSettings, directory: VaultDirectory) -> None:
        self.abi = abi
        self.rpc = rpc
        self.sender = sender
        self.breaker = breaker
        self.settings = settings
        self.directory = directory

    async def view(self, vault: str, fn: str, *args: Any) -> tuple[Any, ...]:
        function = self.abi[fn]
        return function.decode(await self.rpc.eth_call(vault, function.encode(*args), sender=self.sender.address))

    async def transact(self, vault: str, fn: str, *args: Any) -> dict[str, Any] | None:
        """Simulate `fn(*args)` on `vault` and send it. None when the simulation reverts with one of
        `fn`'s nothing-to-do errors (cohort.reverts.NOTHING_TO_DO); other reverts raise
        ContractRevert. Waits until mined."""
        data = self.abi.encode(fn, *args)
        try:
            gas = await self.sender.simulate(vault, data)
        except ContractRevert as revert:
            if revert.name in NOTHING_TO_DO.get(fn, frozenset()):
                return None
            raise
        if not self.breaker.allows_sending():
            raise DutySkipped(f"circuit breaker open ({self.breaker.reason})")
        tx = await self.sender.send(kind=f"duty:{fn}", to=vault, data=data, gas=gas, vault=vault)
        outcome = await self.sender.settle([tx])
        if isinstance(outcome, NonceLost):
            raise KeeperError(outcome.detail)
        if not outcome.succeeded:
            self.breaker.failure(f"duty {fn} on {vault}: {tx.tx_hash} reverted on-chain")
            raise ContractRevert("TransactionFailed", (outcome.tx.tx_hash,))
        self.breaker.success()
        return outcome.receipt


DutyFn = Callable[[DutyContext, str], Awaitable[str | None]]


class DutyRegistry(Protocol):
    """Where duties are registered (keeper.service.Keeper is one)."""

    settings: KeeperSettings

    def duty(self, name: str, *, interval_s: float) -> Callable[[DutyFn], DutyFn]: ...


def register_standard_duties(keeper: DutyRegistry) -> None:
    """Fee accrual, redemption settlement (with its unwind) and de-risking."""
    settings = keeper.settings

    @keeper.duty("accrue_fees", interval_s=settings.fees_interval_s)
    async def accrue_fees(ctx: DutyContext, vault: str) -> str | None:
        pending = PendingFeeShares.decode(await ctx.view(vault, "pendingFeeShares"))
        if not policy.fees_due(pending.management_shares, pending.performance_shares):
            return None
        if await ctx.transact(vault, "accrueFees") is None:
            return None
        amount = ctx.directory.amount
        return (f"accrued fees: {await amount(vault, pending.management_shares)} for management and "
                f"{await amount(vault, pending.performance_shares)} for performance")

    @keeper.duty("settle_redemptions", interval_s=settings.redemptions_interval_s)
    async def settle_redemptions(ctx: DutyContext, vault: str) -> str | None:
        done: list[str] = []
        unwound: int | None = None
        for _ in range(MAX_REDEMPTION_ROUNDS):
            status = RedemptionStatus.decode(await ctx.view(vault, "redemptionStatus"))
            step = policy.next_redemption_step(status, unwound)
            if step is RedemptionStep.NONE:
                break
            if step is RedemptionStep.UNWIND:
                unwound = status.epoch
                if await ctx.transact(vault, "unwindForRedemptions") is not None:
                    base = (await ctx.view(vault, "asset"))[0]
                    amount = ctx.directory.amount
                    done.append(f"unwound for epoch {status.epoch} (needs {await amount(base, status.assets_needed)}, "
                                f"had {await amount(base, status.base_available)})")
                continue
            try:
                receipt = await ctx.transact(vault, "settleRedemptions")
            except ContractRevert as revert:
                if not gate_spent(revert):
                    raise
                # a normal partial settlement: the gate caps what one window pays; the rest of the
                # epoch settles pro rata in the next windows
                log.info("redemptions: the gate of this window is spent; epoch %d settles on in the next one",
                         status.epoch, extra={"duty": "settle_redemptions", "vault": vault, "epoch": status.epoch})
                done.append(f"epoch {status.epoch}: gate reached, the rest settles in later windows")
                break
            if receipt is None:
                break
            done.append(f"settled epoch {status.epoch}")
        return "; ".join(done) or None

    @keeper.duty("derisk", interval_s=settings.risk_interval_s)
    async def derisk(ctx: DutyContext, vault: str) -> str | None:
        risk = RiskState.decode(await ctx.view(vault, "riskState"))
        done: list[str] = []
        if risk.paused:
            return None
        if not risk.risk_off:
            receipt = await ctx.transact(vault, "tripBreaker")
            if receipt is None:
                return None
            done.append("tripped the drawdown breaker")
        assets: list[str] = [Web3.to_checksum_address(a) for a in (await ctx.view(vault, "listedAssets"))[0]]
        holdings: dict[str, int] = {a: int((await ctx.view(vault, "holdings", a))[0]) for a in assets}
        for asset in policy.derisk_targets(risk_off=True, paused=risk.paused, holdings=holdings):
            if await ctx.transact(vault, "derisk", asset, settings.derisk_bps) is not None:
                done.append(f"sold {settings.derisk_bps} bps of {asset}")
        return "; ".join(done) or None
