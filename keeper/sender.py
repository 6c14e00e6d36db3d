"""Sending the keeper's own transactions: simulation, nonces, EIP-1559 fees, write-ahead
records, broadcast, receipts, and replacement of stuck transactions.

Rules this module keeps:
- a transaction is recorded (signed bytes, hash, nonce, fees) *before* it is broadcast, so a
  crash at any point leaves a record to reconcile;
- nonces are handed out under one lock; a nonce the node refused is taken back at once;
- a transaction bound by a deadline is never broadcast (first time, again, or as a
  replacement) once the deadline is within `deadline_margin_s`; a stuck one is then replaced
  by a cancellation (a 0-value transfer to ourselves with the same nonce);
- only the lowest pending nonce is replaced (the others wait for it anyway), with both fee
  caps raised by at least `fee_bump_bps`, never above `max_fee_gwei`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from eth_account.signers.local import LocalAccount

from keeper import policy
from keeper.breaker import BreakerGuard
from keeper.errors import DeadlinePassed, RpcError, RpcUnavailable, SendRejected, Superseded
from keeper.metrics import KeeperMetrics
from keeper.node import Node
from keeper.policy import Fees, SignalState, StuckAction
from keeper.rpc import as_revert
from keeper.settings import KeeperSettings
from keeper.store import OPEN_TX, NewTx, Store, TxRecord

log = logging.getLogger("keeper.sender")
CANCEL = "cancel"
PENDING = "pending"  # simulations see the node's pool: what is sent but not yet mined


@dataclass(frozen=True)
class Mined:
    tx: TxRecord
    receipt: dict[str, Any]

    @property
    def succeeded(self) -> bool:
        return int(self.receipt.get("status", "0x0"), 16) == 1


@dataclass(frozen=True)
class NonceLost:
    """Our nonce was consumed by a transaction we have no record of: none of ours was mined."""

    nonce: int
    detail: str


def _already_known(err: RpcError) -> bool:
    text = err.message.lower()
    return "already known" in text or "already imported" in text or "known transaction" in text


def _nonce_too_low(err: RpcError) -> bool:
    return "nonce too low" in err.message.lower()


class TxSender:
    def __init__(self, *, node: Node, store: Store, account: LocalAccount, settings: KeeperSettings,
                 breaker: BreakerGuard, metrics: KeeperMetrics) -> None:
        self.node = node
        self.rpc = node.rpc
        self.store = store
        self.account = account
        self.address = account.address
        self.settings = settings
        self.breaker = breaker
        self.metrics = metrics
        self.cap = int(settings.max_fee_gwei * policy.GWEI)
        self.priority = int(settings.priority_fee_gwei * policy.GWEI)
        self._lock = asyncio.Lock()
        self._next_nonce: int | None = None
        self._access_list = True

    # ---------------------------------------------------------------- simulation
    async def simulate(self, to: str, data: str) -> int:
        """eth_call `data` from our account against the pending block (so a transaction another
        keeper has sent but nobody has mined counts); returns a gas limit. A revert raises
        ContractRevert with the custom error decoded by name."""
        call, used = await asyncio.gather(self.rpc.eth_call(to, data, sender=self.address, block=PENDING),
                                          self._gas_used(to, data), return_exceptions=True)
        if isinstance(call, BaseException):
            raise call
        if isinstance(used, BaseException):
            raise used
        return policy.gas_limit(used, self.settings.gas_headroom_pct)

    async def _gas_used(self, to: str, data: str) -> int:
        tx = {"from": self.address, "to": to, "data": data}
        if self._access_list:  # one execution, unlike eth_estimateGas's binary search
            try:
                result = await self.rpc.request("eth_createAccessList", [tx, PENDING])
                return int(result["gasUsed"], 16)
            except RpcError as exc:
                if exc.revert_data is not None or "revert" in exc.message.lower():
                    raise as_revert(exc) from None
                log.info("eth_createAccessList unavailable (%s): estimating gas instead", exc.message)
                self._access_list = False
        try:
            return int(await self.rpc.request("eth_estimateGas", [tx, PENDING]), 16)
        except RpcError as exc:
            raise as_revert(exc) from None

    # ---------------------------------------------------------------- nonces
    async def sync_nonce(self) -> int:
        """Start from the node's pending count, past any transaction of ours still open in the store."""
        pending = await self.rpc.nonce(self.address, "pending")
        open_nonces = [t.nonce for t in self.store.open_txs(self.address)]
        self._next_nonce = max([pending, *(n + 1 for n in open_nonces)])
        return self._next_nonce

    # ---------------------------------------------------------------- first broadcast
    async def send(self, *, kind: str, to: str, data: str, gas: int, deadline: int | None = None,
                   signal_id: int | None = None, vault: str | None = None, master_id: int | None = None,
                   still_wanted: Callable[[], Awaitable[bool]] | None = None,
                   on_recorded: Callable[[TxRecord], None] | None = None) -> TxRecord:
        """Sign, record and broadcast a call. Returns its record, `broadcast` or, if the node
        could not be reached, still `signed` (`settle` then finds out what happened to it).
        `on_recorded` runs right after the write-ahead record, before the broadcast (a master
        marks its chunk's followers sent with it).
        `still_wanted`, asked after the write-ahead record and just before the bytes leave, may
        call it off (another keeper's transaction is pending): then nothing is broadcast.
        Raises DeadlinePassed or Superseded (nothing sent) or SendRejected (the node refused it)."""
        for _ in range(3):
            async with self._lock:
                if self._next_nonce is None:
                    await self.sync_nonce()
                assert self._next_nonce is not None
                nonce = self._next_nonce
                if not self._may_send(deadline):
                    raise DeadlinePassed(f"deadline {deadline} is within {self.settings.deadline_margin_s}s")
                base_fee = self.node.base_fee if self.node.base_fee is not None else policy.GWEI
                fees = policy.initial_fees(base_fee, self.priority, self.cap)
                record = self._record(kind=kind, nonce=nonce, to=to, data=data, gas=gas, fees=fees,
                                      deadline=deadline, signal_id=signal_id, vault=vault, master_id=master_id)
                if on_recorded is not None:
                    on_recorded(record)
                if not self._may_send(deadline):  # the last check before the bytes leave
                    self.store.mark_refused(record.id, "deadline reached before broadcast")
                    raise DeadlinePassed(f"deadline {deadline} reached before broadcast")
                if still_wanted is not None and not await still_wanted():
                    self.store.mark_refused(record.id, "superseded: the same work is pending from another sender")
                    raise Superseded("another transaction doing the same work is pending")
                self._next_nonce = nonce + 1
                try:
                    return await self._broadcast(record)
                except RpcUnavailable as exc:
                    log.warning("broadcast of %s may not have reached the node: %s", record.tx_hash, exc,
                                extra={"tx_hash": record.tx_hash, "nonce": nonce})
                    self.node.mark_unavailable(str(exc))
                    return record
                except RpcError as exc:
                    self.store.mark_refused(record.id, exc.message)
                    if _nonce_too_low(exc):
                        await self.sync_nonce()
                        continue
                    self._next_nonce = nonce  # the node refused it: the nonce is free again
                    reason = f"node refused {kind} transaction: {exc.message}"
                    self.breaker.failure(reason)
                    raise SendRejected(reason) from None
        raise SendRejected("nonce kept being too low: another sender uses this account?")

    def _may_send(self, deadline: int | None) -> bool:
        return policy.sendable(deadline, self.node.chain_now(), self.settings.deadline_margin_s)

    def _record(self, *, kind: str, nonce: int, to: str, data: str, gas: int, fees: Fees,
                deadline: int | None, signal_id: int | None, vault: str | None,
                master_id: int | None = None) -> TxRecord:
        """Sign and write the transaction to the store (write-ahead of the broadcast)."""
        assert self.node.chain_id is not None
        tx: dict[str, Any] = {
            "type": 2, "chainId": self.node.chain_id, "nonce": nonce, "to": to, "value": 0, "data": data,
            "gas": gas, "maxFeePerGas": fees.max_fee, "maxPriorityFeePerGas": fees.priority_fee}
        signed = self.account.sign_transaction(cast(Any, tx))
        new = NewTx(kind=kind, sender=self.address, nonce=nonce, tx_hash="0x" + signed.hash.hex(),
                    raw="0x" + signed.raw_transaction.hex(), to_address=to, data=data, gas_limit=gas,
                    max_fee=fees.max_fee, priority_fee=fees.priority_fee, signal_id=signal_id, vault=vault,
                    deadline=deadline, master_id=master_id)
        state = SignalState.SIMULATED if signal_id is not None and kind != CANCEL else None
        return self.store.insert_tx(new, signal_state=state)

    async def _broadcast(self, record: TxRecord) -> TxRecord:
        """Hand the signed bytes to the node (again, if need be). Raises RpcError/RpcUnavailable."""
        try:
            await self.rpc.send_raw(record.raw)
        except RpcError as exc:
            if not _already_known(exc):
                raise
        updated = self.store.mark_broadcast(record.id, sent_at=time.time(), sent_block=self.node.head_number)
        self.metrics.tx_sent.labels(record.kind.split(":")[0]).inc()
        log.info("broadcast %s nonce %d", record.kind, record.nonce,
                 extra={"tx_hash": record.tx_hash, "signal_id": record.signal_id, "vault": record.vault,
                        "max_fee": record.max_fee, "priority_fee": record.priority_fee})
        return updated

    # ---------------------------------------------------------------- until mined
    async def settle(self, attempts: list[TxRecord]) -> Mined | NonceLost:
        """Wait until one of `attempts` (same nonce) is mined, replacing it when stuck, rebroadcasting
        it when the node lost it, cancelling it when its deadline comes. Survives RPC outages."""
        attempts = [a for a in attempts if a.status in OPEN_TX]
        if not attempts:
            raise ValueError("settle() needs an open transaction")
        nonce = attempts[0].nonce
        deadline = next((a.deadline for a in attempts if a.kind != CANCEL), None)
        fees = Fees(max(int(a.max_fee) for a in attempts), max(int(a.priority_fee) for a in attempts))
        delays = policy.receipt_poll_delays(0.001, self.settings.poll_interval_s)
        backoff = policy.backoff_delays(self.settings.rpc_backoff_initial_s, self.settings.rpc_backoff_max_s)
        last_deep = time.monotonic() if attempts[-1].status == "broadcast" else 0.0
        wait = 0.0
        while True:
            if wait:
                await self.node.wait_block(wait)
            try:
                mined = await self._find_receipt(attempts)
                if mined is not None:
                    return mined
                wait = next(delays)
                if time.monotonic() - last_deep < self.settings.poll_interval_s:
                    continue
                last_deep = time.monotonic()
                outcome = await self._tend(attempts, nonce, deadline, fees)
                if isinstance(outcome, NonceLost | Mined):
                    return outcome
                fees = outcome
                backoff = policy.backoff_delays(self.settings.rpc_backoff_initial_s, self.settings.rpc_backoff_max_s)
            except RpcUnavailable as exc:
                self.node.mark_unavailable(str(exc))
                wait = next(backoff)

    async def _find_receipt(self, attempts: list[TxRecord]) -> Mined | None:
        results = await self.rpc.batch([("eth_getTransactionReceipt", [a.tx_hash]) for a in attempts])
        for attempt, receipt in zip(attempts, results, strict=True):
            if isinstance(receipt, dict):
                return self._mined(attempt, receipt)
        return None

    def _mined(self, attempt: TxRecord, receipt: dict[str, Any]) -> Mined:
        gas_used = int(receipt.get("gasUsed", "0x0"), 16)
        price = int(receipt.get("effectiveGasPrice", "0x0"), 16)
        status = int(receipt.get("status", "0x0"), 16)
        self.store.record_mined(attempt.id, block=int(receipt["blockNumber"], 16), status=status,
                                gas_used=gas_used, effective_gas_price=price)
        self.metrics.gas_used.inc(gas_used)
        self.metrics.gas_spent.inc(gas_used * price)
        log.info("mined %s nonce %d status %d", attempt.kind, attempt.nonce, status,
                 extra={"tx_hash": attempt.tx_hash, "signal_id": attempt.signal_id, "gas_used": gas_used})
        record = self.store.tx(attempt.id)
        assert record is not None
        return Mined(record, receipt)

    async def _tend(self, attempts: list[TxRecord], nonce: int, deadline: int | None,
                    fees: Fees) -> Fees | Mined | NonceLost:
        """One look at a pending nonce: replace, rebroadcast, cancel or wait. Returns the highest
        fees tried so far, or the outcome if the nonce turned out to be settled."""
        confirmed = await self.rpc.nonce(self.address, "latest")
        if confirmed > nonce:
            mined = await self._find_receipt(attempts)  # mined between the two reads?
            if mined is not None:
                return mined
            detail = f"nonce {nonce} was used by a transaction the keeper did not record"
            self.store.mark_nonce_lost(self.address, nonce, detail)
            return NonceLost(nonce, detail)
        latest = attempts[-1]
        known = await self.rpc.transaction(latest.tx_hash) is not None
        cancelling = latest.kind == CANCEL
        stuck = policy.replacement_due(
            sent_block=latest.sent_block, head_block=self.node.head_number,
            sent_at=latest.sent_at or latest.created_at, now=time.time(),
            after_blocks=self.settings.replace_after_blocks, after_s=self.settings.replace_after_s)
        action = policy.pending_action(known_to_node=known, stuck=stuck,
                                       first_in_line=policy.next_in_line(nonce, confirmed),
                                       may_send=cancelling or self._may_send(deadline))
        if action is StuckAction.WAIT:
            return fees
        if action is StuckAction.REBROADCAST:
            try:
                attempts[-1] = await self._broadcast(latest)
            except RpcError as exc:
                log.warning("rebroadcast of %s refused: %s", latest.tx_hash, exc.message)
            return fees
        # REPLACE or CANCEL: a new transaction with the same nonce and higher fees
        new_fees = policy.bumped_fees(fees, self.node.base_fee or 0, self.priority, self.settings.fee_bump_bps,
                                      self.cap)
        if new_fees is None:
            log.warning("transaction %s is stuck but a %d bps fee bump would pass max_fee_gwei",
                        latest.tx_hash, self.settings.fee_bump_bps, extra={"nonce": nonce})
            return fees
        if action is StuckAction.CANCEL or cancelling:
            record = self._record(kind=CANCEL, nonce=nonce, to=self.address, data="0x", gas=policy.CANCEL_GAS,
                                  fees=new_fees, deadline=None, signal_id=latest.signal_id, vault=latest.vault,
                                  master_id=latest.master_id)
        else:
            record = self._record(kind=latest.kind, nonce=nonce, to=latest.to_address, data=latest.data,
                                  gas=latest.gas_limit, fees=new_fees, deadline=deadline,
                                  signal_id=latest.signal_id, vault=latest.vault, master_id=latest.master_id)
            if not self._may_send(deadline):  # the deadline came while we signed
                self.store.mark_refused(record.id, "deadline reached before broadcast")
                return fees
        label = "cancel" if record.kind == CANCEL else "replace"
        log.warning("%s stuck transaction %s (nonce %d) with %s", label, latest.tx_hash, nonce, record.tx_hash,
                    extra={"old_max_fee": fees.max_fee, "max_fee": new_fees.max_fee, "signal_id": latest.signal_id})
        try:
            attempts.append(await self._broadcast(record))
            self.metrics.replacements.labels(label).inc()
        except RpcError as exc:
            self.store.mark_refused(record.id, exc.message)
            log.warning("replacement %s refused: %s", record.tx_hash, exc.message)
        except RpcUnavailable:
            attempts.append(record)
            raise
        return new_fees
