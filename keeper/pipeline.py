"""The life of one accepted signal: verify (if intake could not), simulate, send, settle, record.

`process()` is restartable at any point: it reads the signal and its transactions from the
store and carries on from there. A signal with a transaction that may be in flight is settled
(never sent again under a new nonce); one whose transaction was mined, or whose nonce is used,
is reconciled with the chain (executed by us, by another keeper, or cancelled). The vault's
nonce bitmap makes a second execution impossible on-chain; the store makes the keeper never
even try.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from cohort import reverts, signals
from cohort.errors import ContractRevert
from cohort.reverts import Disposition
from keeper import policy
from keeper.abi import VaultAbi
from keeper.breaker import BreakerGuard
from keeper.errors import (
    DeadlinePassed,
    Rejection,
    RpcError,
    RpcUnavailable,
    SendRejected,
    Superseded,
)
from keeper.intake import EXPIRED, UNKNOWN_VAULT, Verifier, hexstr
from keeper.metrics import KeeperMetrics
from keeper.node import Node
from keeper.policy import Execution, SignalState
from keeper.sender import CANCEL, PENDING, Mined, NonceLost, TxSender
from keeper.settings import KeeperSettings
from keeper.store import OPEN_TX, TX_MINED, SignalRecord, Store
from keeper.vaults import VaultDirectory

log = logging.getLogger("keeper.pipeline")


@dataclass(frozen=True)
class Parked:
    """The signal waits (a retry, its turn among keepers, another keeper's pending transaction):
    its vault's queue moves on and the signal comes back after `seconds`."""

    seconds: float


Step = bool | Parked  # True: final; False: take the next step now; Parked: come back later


class Terminal(Protocol):
    @property
    def terminal(self) -> bool: ...


R = TypeVar("R", bound=Terminal)


async def advance_until_parked(load: Callable[[], R | None], advance: Callable[[R], Awaitable[Step]],
                               node: Node, settings: KeeperSettings) -> Parked | None:
    """Take one record (a signal or a master) as far as it goes now: to a final state (None), or to
    a point where it must wait (Parked). A node outage waits with growing delays, which start
    again from the shortest once a step succeeds."""
    def fresh() -> Iterator[float]:
        return policy.backoff_delays(settings.rpc_backoff_initial_s, settings.rpc_backoff_max_s)

    backoff = fresh()
    while True:
        rec = load()
        if rec is None or rec.terminal:
            return None
        try:
            step = await advance(rec)
            if step is True:
                return None
            if isinstance(step, Parked):
                return step
            backoff = fresh()
        except RpcUnavailable as exc:
            node.mark_unavailable(str(exc))
            await asyncio.sleep(next(backoff))


class SignalPipeline:
    def __init__(self, *, store: Store, node: Node, sender: TxSender, verifier: Verifier,
                 directory: VaultDirectory, abi: VaultAbi, breaker: BreakerGuard, metrics: KeeperMetrics,
                 settings: KeeperSettings, started_at: float, on_finished: Callable[[int, str], None]) -> None:
        self.store = store
        self.node = node
        self.sender = sender
        self.verifier = verifier
        self.directory = directory
        self.abi = abi
        self.breaker = breaker
        self.metrics = metrics
        self.settings = settings
        self.started_at = started_at
        self.on_finished = on_finished
        self.me = sender.address
        self._keepers_unknown: set[str] = set()

    # ---------------------------------------------------------------- driver
    async def process(self, signal_id: int) -> Parked | None:
        """Take one signal as far as it goes now: to a final state (None), or to a point where it
        must wait (Parked), so that a signal that waits never holds up the others of its vault."""
        return await advance_until_parked(lambda: self.store.get(signal_id), self._advance, self.node, self.settings)

    async def _advance(self, rec: SignalRecord) -> Step:
        """One step; True once the signal is final."""
        signed = signals.SignedSignal.from_json_dict(json.loads(rec.payload))
        vault = self.directory.resolve(rec.vault or "")
        if vault is None:
            return self._finish(rec, SignalState.REJECTED, UNKNOWN_VAULT, f"vault {rec.vault} is not served any more")
        if rec.state == SignalState.RECEIVED:
            return await self._verify(rec, signed, vault)
        txs = self.store.txs_for_signal(rec.id)
        open_txs = [t for t in txs if t.status in OPEN_TX]
        if open_txs:  # a transaction may be in flight (we restarted, or it is just sent): settle it
            nonce = min(t.nonce for t in open_txs)
            outcome = await self.sender.settle([t for t in open_txs if t.nonce == nonce])
            return await self._on_outcome(rec, signed, vault, outcome)
        settled_before = rec.state == SignalState.SUBMITTED or any(t.status == TX_MINED for t in txs)
        # a receipt was recorded but not its meaning (a crash in between): ask the chain
        if settled_before and await self._settle_from_chain(rec, vault):
            return True
        return await self._attempt(rec, signed, vault)

    # ---------------------------------------------------------------- verification (deferred)
    async def _verify(self, rec: SignalRecord, signed: signals.SignedSignal, vault: str) -> Step:
        digest: bytes | None = None
        try:
            self.verifier.check_chain(signed)
            digest = await self.verifier.digest(signed, vault)
            earlier = self.store.find_accepted(hexstr(digest))
            if earlier is not None and earlier.id < rec.id:
                return self._finish(rec, SignalState.REJECTED, "duplicate", f"same signal as #{earlier.id}",
                                    digest=hexstr(digest))
            await self.verifier.check(signed, vault, digest)
        except Rejection as rejection:
            state = SignalState.EXPIRED if rejection.code == EXPIRED else SignalState.REJECTED
            extra = {} if digest is None else {"digest": hexstr(digest)}
            return self._finish(rec, state, rejection.code, rejection.detail, **extra)
        self.store.update_signal(rec.id, state=SignalState.VERIFIED, digest=hexstr(digest), reason=None, detail=None)
        return False

    # ---------------------------------------------------------------- simulate and send
    async def _attempt(self, rec: SignalRecord, signed: signals.SignedSignal, vault: str) -> Step:
        if not self._may_send(rec):
            return self._expire(rec, "its deadline came before it could be sent; it was never sent")
        turn = await self._wait_for_turn(rec, vault)
        if turn is not None:
            return turn
        if not await self._breaker_allows(rec):
            return self._expire(rec, "its deadline came while the circuit breaker was open; it was never sent")
        data = self.abi.encode("executeSignal", signed.signal.as_tuple(), signed.signature)
        try:
            # against the pending block: a transaction another keeper has already sent for this
            # signal makes the simulation revert (nonce used), and we send nothing
            gas = await self.sender.simulate(vault, data)
        except ContractRevert as revert:
            return await self._on_revert(rec, signed, vault, revert)
        except RpcError as exc:
            return self._retry_later(rec, "rpc_error", f"simulation failed: {exc}")
        try:
            nonce = signed.signal.nonce
            tx = await self.sender.send(
                kind="signal", to=vault, data=data, gas=gas, deadline=rec.deadline, signal_id=rec.id, vault=vault,
                # the last look at the pending block, milliseconds before the bytes leave
                still_wanted=(lambda: self._nonce_free_in_pending(vault, nonce)) if await self._shared(vault) else None)
        except DeadlinePassed:
            return self._expire(rec, "its deadline came before it could be sent; it was never sent")
        except Superseded:
            self.store.update_signal(rec.id, state=SignalState.VERIFIED, reason="pending_elsewhere",
                                     detail=f"another transaction using nonce {rec.nonce} is pending; "
                                            "waiting for it to be mined")
            return self._park(rec, self.settings.poll_interval_s)
        except SendRejected as exc:
            self.store.update_signal(rec.id, state=SignalState.VERIFIED, reason="send_refused", detail=str(exc))
            return self._park(rec, self.settings.retry_delay_s)
        if tx.sent_at is not None and rec.received_at >= self.started_at:
            self.metrics.to_broadcast.observe(max(0.0, tx.sent_at - rec.received_at))
        outcome = await self.sender.settle([tx])
        return await self._on_outcome(rec, signed, vault, outcome)

    async def _wait_for_turn(self, rec: SignalRecord, vault: str) -> Parked | None:
        """Several keepers relaying one signal take turns instead of racing: each allowed keeper of
        the vault has a place in line for this digest (policy.relay_order); the r-th sends only r
        claim slots after it received the signal, later still while a keeper ahead of it is busy
        sending (it will get there), and then only if the pending block shows nobody has sent it.
        The first in line waits for nothing."""
        if rec.retries or not rec.digest or self.settings.claim_slot_s <= 0:
            return None
        keepers = await self._keepers(vault)
        if keepers is None:  # not known: no turns; the pending block is still checked before sending
            return None
        order = policy.relay_order(bytes.fromhex(rec.digest[2:]), [*keepers, self.me])
        rank = order.index(self.me.lower())
        if rank == 0:
            return None
        slot, now = self.settings.claim_slot_s, time.time()
        busy = now >= rec.received_at + rank * slot and await self._busy(order[:rank])
        wait = policy.wait_for_keepers_ahead(rank=rank, received_at=rec.received_at, now=now, slot_s=slot,
                                             ahead_busy=busy)
        if wait <= 0:
            return None
        if rec.reason != "waiting_turn":
            self.store.update_signal(rec.id, reason="waiting_turn",
                                     detail=f"{rank} other keeper(s) of this vault go first for this signal; "
                                            f"this keeper sends it in {wait:.1f}s or more unless one of them has")
        return Parked(wait)

    async def _busy(self, keepers: list[str]) -> bool:
        """Has any of `keepers` a transaction waiting in the pool (so it is alive and sending)?"""
        counts = await self.node.rpc.batch([("eth_getTransactionCount", [k, block])
                                            for k in keepers for block in ("pending", "latest")])
        if any(isinstance(c, RpcError) for c in counts):
            return False
        return any(int(counts[i], 16) > int(counts[i + 1], 16) for i in range(0, len(counts), 2))

    async def _keepers(self, vault: str) -> list[str] | None:
        """The vault's allowed keepers, or None when the node will not give its KeeperSet logs
        (some providers cap eth_getLogs ranges)."""
        try:
            return await self.directory.keepers(vault)
        except RpcError as exc:
            if vault not in self._keepers_unknown:
                self._keepers_unknown.add(vault)
                log.warning("the vault's keepers cannot be read (%s): no turns with other keepers; the pending "
                            "block is still checked before each send", exc, extra={"vault": vault})
            return None

    async def _shared(self, vault: str) -> bool:
        """May another keeper serve this vault? (Then look at the pending block once more before sending.)"""
        keepers = await self._keepers(vault)
        return keepers is None or any(k.lower() != self.me.lower() for k in keepers)

    async def _nonce_free_in_pending(self, vault: str, nonce: int) -> bool:
        return not await self.directory.nonce_used(vault, nonce, block=PENDING)

    async def _on_revert(self, rec: SignalRecord, signed: signals.SignedSignal, vault: str,
                         revert: ContractRevert) -> Step:
        what = await self._explain(revert, signed)
        disposition = reverts.classify(revert.name)
        if disposition is Disposition.REJECT:
            return self._finish(rec, SignalState.REJECTED, "bad_signature", f"the vault refused it: {what}")
        if disposition is Disposition.EXPIRE:
            return self._expire(rec, f"the vault says it expired: {what}; it was never sent")
        if disposition is Disposition.RECONCILE:
            if await self._settle_from_chain(rec, vault):
                return True
            # unused in the latest block, used in the pending one: a transaction for this nonce
            # (another keeper's, or the manager's cancellation) waits to be mined; so do we
            self.store.update_signal(rec.id, reason="pending_elsewhere",
                                     detail=f"another transaction using nonce {rec.nonce} is pending; "
                                            "waiting for it to be mined")
            return self._park(rec, self.settings.poll_interval_s)
        if disposition is Disposition.FAIL:
            return self._finish(rec, SignalState.FAILED, "simulation_reverted",
                                f"{what}: it can never execute as signed")
        if disposition is Disposition.KEEPER_FAULT:
            self.breaker.failure(f"simulating signal #{rec.id}: {what}")
            self.store.update_signal(rec.id, reason="keeper_fault", detail=what)
            return self._park(rec, self.settings.retry_delay_s)
        return self._retry_later(rec, "simulation_reverted", what)

    async def _explain(self, revert: ContractRevert, signed: signals.SignedSignal) -> str:
        s = signed.signal
        names = {a.lower(): await self.directory.symbol(a) for a in (s.token_in, s.token_out)}
        return reverts.explain(revert, name_of=lambda a: names.get(str(a).lower(), str(a)),
                               context={"token_in": s.token_in, "token_out": s.token_out, "size_mode": s.size_mode})

    def _retry_later(self, rec: SignalRecord, reason: str, what: str) -> Step:
        retries = rec.retries + 1
        if retries > self.settings.retry_limit:
            return self._finish(rec, SignalState.FAILED, reason, f"{what} (gave up after {rec.retries} retries)")
        self.store.update_signal(rec.id, retries=retries, reason=reason,
                                 detail=f"{what}; retry {retries}/{self.settings.retry_limit}")
        return self._park(rec, self.settings.retry_delay_s)

    # ---------------------------------------------------------------- outcomes
    async def _on_outcome(self, rec: SignalRecord, signed: signals.SignedSignal, vault: str,
                          outcome: Mined | NonceLost) -> Step:
        if isinstance(outcome, NonceLost):
            if await self._settle_from_chain(rec, vault):
                return True
            self.store.update_signal(rec.id, reason="nonce_lost", detail=outcome.detail)
            return False
        tx, receipt = outcome.tx, outcome.receipt
        if tx.kind == CANCEL:
            return self._expire(rec, f"its deadline came while its transaction was pending; {tx.tx_hash} "
                                     "cancelled it (never sent late)")
        if outcome.succeeded:
            self.breaker.success()
            execution = self.abi.execution_in_receipt(receipt, vault, rec.digest or "")
            if execution is not None:
                return self._executed(rec, execution, receipt)
            return self._finish(rec, SignalState.FAILED, "no_trade_event",
                                f"{tx.tx_hash} succeeded without TradeExecuted")
        if await self._settle_from_chain(rec, vault):  # reverted: lost a race to another keeper?
            return True
        data = self.abi.encode("executeSignal", signed.signal.as_tuple(), signed.signature)
        why = await self._why(vault, data)
        self.breaker.failure(f"signal #{rec.id}: transaction {tx.tx_hash} reverted on-chain ({why})")
        return self._retry_later(rec, "reverted_on_chain", f"{tx.tx_hash} reverted: {why}")

    async def _why(self, vault: str, data: str) -> str:
        try:
            await self.sender.simulate(vault, data)
        except ContractRevert as revert:
            return str(revert)
        except RpcError as exc:
            return str(exc)
        return "it would pass now (the chain changed in between)"

    async def _settle_from_chain(self, rec: SignalRecord, vault: str) -> bool:
        """Record the outcome the chain shows (nonce used: by us, another keeper, or a
        cancellation); False while the nonce is still unused."""
        nonce = int(rec.nonce or 0)
        used = await self.directory.nonce_used(vault, nonce)
        execution = await self._find_execution(vault, rec.digest or "", rec.received_block) if used else None
        state = policy.outcome_from_chain(used, execution, self.me)
        if state is None:
            return False
        if execution is not None and state is SignalState.EXECUTED:
            receipt = await self.node.rpc.receipt(execution.tx_hash)
            return self._executed(rec, execution, receipt or {})
        if execution is not None:
            return self._finish(rec, state, "executed_by_other",
                                f"keeper {execution.keeper} executed it in {execution.tx_hash}",
                                tx_hash=execution.tx_hash, executed_by=execution.keeper,
                                block_number=execution.block_number)
        return self._finish(rec, SignalState.REJECTED, "nonce_used",
                            f"nonce {nonce} was used without executing this signal (cancelled by the manager, "
                            "or spent by another signal)")

    async def _find_execution(self, vault: str, digest: str, from_block: int | None) -> Execution | None:
        head = int(await self.node.rpc.request("eth_blockNumber"), 16)  # fresher than the watcher's head
        start = max(0, (from_block or 0) - 1)
        step = self.settings.log_chunk_blocks
        topics = self.abi.trade_executed.topics_of(digest)
        while start <= head:
            end = min(head, start + step - 1)
            logs = await self.node.rpc.get_logs(vault, topics, start, end)
            if logs:
                return self.abi.trade_executed.decode(logs[0])
            start = end + 1
        return None

    def _executed(self, rec: SignalRecord, execution: Execution, receipt: dict[str, Any]) -> bool:
        now = time.time()
        if rec.received_at >= self.started_at:
            self.metrics.to_mined.observe(max(0.0, now - rec.received_at))
        gas_used = int(receipt.get("gasUsed", "0x0"), 16) if receipt else None
        price = str(int(receipt.get("effectiveGasPrice", "0x0"), 16)) if receipt else None
        return self._finish(rec, SignalState.EXECUTED, None, None, tx_hash=execution.tx_hash,
                            executed_by=execution.keeper, block_number=execution.block_number, gas_used=gas_used,
                            effective_gas_price=price, mined_at=now)

    # ---------------------------------------------------------------- helpers
    def _finish(self, rec: SignalRecord, state: SignalState, reason: str | None, detail: str | None,
                **fields: Any) -> bool:
        self.store.update_signal(rec.id, state=state, reason=reason, detail=detail, **fields)
        self.metrics.outcomes.labels(str(state)).inc()
        level = logging.INFO if state in (SignalState.EXECUTED, SignalState.EXECUTED_BY_OTHER) else logging.WARNING
        log.log(level, f"signal {state}" + (": %s" if detail else ""), *([detail] if detail else []),
                extra={"signal_id": rec.id, "vault": rec.vault, "reason": reason, **fields})
        self.on_finished(rec.id, str(state))
        return True

    def _expire(self, rec: SignalRecord, detail: str) -> bool:
        return self._finish(rec, SignalState.EXPIRED, "expired", detail)

    def _may_send(self, rec: SignalRecord) -> bool:
        return policy.sendable(rec.deadline, self.node.chain_now(), self.settings.deadline_margin_s)

    async def _breaker_allows(self, rec: SignalRecord) -> bool:
        """Wait while the circuit breaker is open; False if the deadline comes meanwhile."""
        noted = False
        while not self.breaker.allows_sending():
            if not self._may_send(rec):
                return False
            if not noted:
                self.store.update_signal(rec.id, reason="breaker_open",
                                         detail=f"waiting: circuit breaker open ({self.breaker.reason})")
                noted = True
            await self.breaker.wait_change(0.5)
        return True

    def _park(self, rec: SignalRecord, seconds: float) -> Parked:
        """Come back after `seconds`, but not past the point where the deadline forbids sending."""
        if rec.deadline is not None:
            seconds = min(seconds, max(0.0, rec.deadline - self.settings.deadline_margin_s - self.node.chain_now()))
        return Parked(seconds)
