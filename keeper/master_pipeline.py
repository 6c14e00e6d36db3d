"""The life of one accepted master signal: find its followers, execute them in chunks, record
each follower's outcome.

`process()` is restartable at any point, like a signal's pipeline. Every step reads the store
first: a chunk whose transaction may be in flight is settled (never sent again under a new
nonce) and its outcome read from its receipt; followers whose chunk did not mine go back to
pending; followers already filled on-chain (`shareFilled`) are never put in a chunk (the contract
would revert the whole chunk). So a keeper killed after some chunks mined and restarted sends
exactly the rest.

Each chunk is planned under the block gas limit (`chunk_size`, then its simulated gas) and sent
with a floor price from a simulation at a floor no pool meets, where every follower's own checks
pass and the block trade reverts StrategyBelowFloor with what the pool pays: that price less
`floor_slippage_bps`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from web3 import Web3

from cohort import reverts, strategies
from cohort.errors import ContractRevert
from cohort.tx import decode_revert
from keeper import policy
from keeper.abi import StrategiesAbi, VaultAbi
from keeper.breaker import BreakerGuard
from keeper.errors import DeadlinePassed, RpcError, SendRejected
from keeper.masters import StrategyDirectory
from keeper.masterstore import FollowerState, MasterRecord, follower_summary
from keeper.node import Node
from keeper.pipeline import Parked, Step, advance_until_parked
from keeper.policy import SignalState
from keeper.sender import CANCEL, PENDING, Mined, NonceLost, TxSender
from keeper.settings import KeeperSettings
from keeper.store import OPEN_TX, TX_MINED, Store, TxRecord
from keeper.vaults import VaultDirectory

log = logging.getLogger("keeper.masters")
KIND = "master"
FINAL_REVERTS = {"StrategyUnknown": "unknown_strategy", "CohortInvalidSignature": "bad_signature",
                 "StrategyInvalidSignal": "invalid_signal", "StrategyNoFollowers": "no_followers",
                 "StrategyMasterCancelled": "cancelled"}


class MasterPipeline:
    def __init__(self, *, store: Store, node: Node, sender: TxSender, strategies_dir: StrategyDirectory,
                 vaults: VaultDirectory, vault_abi: VaultAbi, abi: StrategiesAbi, breaker: BreakerGuard,
                 settings: KeeperSettings, on_finished: Callable[[int, str], None]) -> None:
        self.store = store
        self.node = node
        self.sender = sender
        self.strategies = strategies_dir
        self.vaults = vaults
        self.vault_abi = vault_abi
        self.abi = abi
        self.breaker = breaker
        self.settings = settings
        self.on_finished = on_finished
        self.me = sender.address
        self._chunk_size: dict[int, int] = {}

    async def process(self, master_id: int) -> Parked | None:
        """Take one master as far as it goes now: final (None) or waiting (Parked)."""
        async def advance(rec: MasterRecord) -> Step:
            return await self._advance(rec, strategies.SignedMaster.from_json_dict(json.loads(rec.payload)))

        return await advance_until_parked(lambda: self.store.master(master_id), advance, self.node, self.settings)

    async def _advance(self, rec: MasterRecord, signed: strategies.SignedMaster) -> Step:
        if self.strategies.resolve(rec.strategies or "") is None:  # the settings changed since it was accepted
            return self._finish(rec, SignalState.REJECTED, "unknown_strategy",
                                f"this keeper no longer serves the strategies contract {rec.strategies}")
        txs = self.store.txs_for_master(rec.id)
        open_txs = [t for t in txs if t.status in OPEN_TX]
        if open_txs:  # a chunk may be in flight (we restarted, or just sent it): settle it first
            nonce = min(t.nonce for t in open_txs)
            await self._on_outcome(rec, await self.sender.settle([t for t in open_txs if t.nonce == nonce]))
            return False
        if await self._reconcile_sent(rec, txs):
            return False
        if not self.store.followers(rec.id):
            found = await self.discover(signed.master.strategy_id)
            if not found:
                return self._finish(rec, SignalState.FAILED, "no_followers",
                                    f"no vault this keeper serves follows strategy {signed.master.strategy_id}")
            self.store.plan_followers(rec.id, found)
        pending = [f.follower for f in self.store.followers(rec.id, FollowerState.PENDING)]
        if pending:
            pending = await self._drop_filled(rec, signed, pending)
        if not pending:
            return self._done(rec)
        if not policy.sendable(signed.master.deadline, self.node.chain_now(), self.settings.deadline_margin_s):
            return self._expire_rest(rec, "its deadline came before its chunk could be sent")
        if rec.retries > self.settings.retry_limit:
            self._expire_open(rec, FollowerState.EXPIRED, f"not sent: {rec.detail}")
            return self._finish(rec, SignalState.FAILED, rec.reason, f"{rec.detail} (gave up)")
        if not self.breaker.allows_sending():
            self.store.update_master(rec.id, reason="breaker_open",
                                     detail=f"waiting: circuit breaker open ({self.breaker.reason})")
            return Parked(self.settings.retry_delay_s)
        return await self._send_chunk(rec, signed, pending)

    # ---------------------------------------------------------------- followers
    async def discover(self, strategy_id: int) -> list[str]:
        """The vaults this keeper serves that follow `strategy_id` and allow this keeper, in order."""
        addresses = self.vaults.addresses
        follow, keeper = self.vault_abi["followState"], self.vault_abi["isKeeper"]
        calls = [("eth_call", [{"to": v, "data": follow.encode()}, "latest"]) for v in addresses]
        calls += [("eth_call", [{"to": v, "data": keeper.encode(self.me)}, "latest"]) for v in addresses]
        answers = await self.node.rpc.batch(calls)
        found: list[str] = []
        for i, vault in enumerate(addresses):
            state, allowed = answers[i], answers[len(addresses) + i]
            if isinstance(state, Exception) or isinstance(allowed, Exception):
                continue  # not a follower-capable vault, or the node refused: not a follower
            if int(follow.decode(state)[0]) == strategy_id and bool(keeper.decode(allowed)[0]):
                found.append(vault)
        return found

    async def _drop_filled(self, rec: MasterRecord, signed: strategies.SignedMaster, pending: list[str]) -> list[str]:
        """Pending followers whose share is filled on-chain (by another keeper) are recorded so, not sent."""
        m = signed.master
        filled = await self.strategies.share_filled(m.strategy_id, pending, m.nonce)
        for follower, done in zip(pending, filled, strict=True):
            if done:
                await self._filled_by_other(rec, follower)
        return [f for f, done in zip(pending, filled, strict=True) if not done]

    async def _filled_by_other(self, rec: MasterRecord, follower: str) -> None:
        topics = self.vault_abi.trade_executed.topics_of(rec.digest or "")
        head = self.node.head_number or int(await self.node.rpc.request("eth_blockNumber"), 16)
        logs = await self.node.rpc.get_logs(follower, topics, max(0, (rec.received_block or 1) - 1), head)
        state = FollowerState.FILLED_BY_OTHER
        fields: dict[str, Any] = {"reason": "filled_by_other", "detail": "its share was filled by another transaction"}
        if logs:
            trade = self.abi.events["TradeExecuted"].decode(logs[0])
            fields.update(tx_hash=str(logs[0]["transactionHash"]), block_number=int(logs[0]["blockNumber"], 16),
                          amount_in=trade["amountIn"], amount_out=trade["amountOut"],
                          detail=f"keeper {trade['keeper']} filled it in {logs[0]['transactionHash']}")
            if trade["keeper"].lower() == self.me.lower():  # ours, mined while the keeper was down
                state, fields["reason"], fields["detail"] = FollowerState.FILLED, None, None
        self.store.set_follower(rec.id, follower, state, **fields)

    # ---------------------------------------------------------------- one chunk
    def _size(self, rec: MasterRecord) -> int:
        if rec.id not in self._chunk_size:
            self._chunk_size[rec.id] = policy.chunk_size(
                block_gas_limit=self.node.gas_limit or 30_000_000, base_gas=self.settings.master_base_gas,
                per_follower_gas=self.settings.master_follower_gas,
                max_followers=self.settings.max_followers_per_chunk,
                gas_fraction_pct=self.settings.block_gas_fraction_pct)
        return self._chunk_size[rec.id]

    async def _send_chunk(self, rec: MasterRecord, signed: strategies.SignedMaster, pending: list[str]) -> Step:
        m = signed.master
        chunk = pending[: self._size(rec)]
        try:
            floor = await self._floor(signed, chunk)
            data = self.abi.encode("executeMaster", m.as_tuple(), signed.signature, chunk, floor)
            gas = await self.sender.simulate(self.strategies.address or "", data)
        except ContractRevert as revert:
            return await self._on_revert(rec, revert)
        except RpcError as exc:
            return self._retry(rec, "rpc_error", f"simulation failed: {exc}")
        budget = (self.node.gas_limit or 30_000_000) * self.settings.block_gas_fraction_pct // 100
        if gas > budget and len(chunk) > 1:
            self._chunk_size[rec.id] = max(1, len(chunk) * budget // gas)
            return False
        number = self.store.next_chunk_number(rec.id)
        try:
            tx = await self.sender.send(
                kind=KIND, to=self.strategies.address or "", data=data, gas=gas, deadline=m.deadline, master_id=rec.id,
                on_recorded=lambda t: self.store.assign_chunk(rec.id, chunk, chunk=number, tx_id=t.id,
                                                              tx_hash=t.tx_hash))
        except DeadlinePassed:
            self._unsend(rec)
            return self._expire_rest(rec, "its deadline came before its chunk could be sent")
        except SendRejected as exc:
            self._unsend(rec)
            self.store.update_master(rec.id, reason="send_refused", detail=str(exc))
            return Parked(self.settings.retry_delay_s)
        self.store.update_master(rec.id, state=SignalState.SUBMITTED, reason=None,
                                 detail=f"chunk {number}: {len(chunk)} follower(s), floor {floor}, {tx.tx_hash}")
        await self._on_outcome(rec, await self.sender.settle([tx]))
        return False

    async def _floor(self, signed: strategies.SignedMaster, chunk: list[str]) -> int:
        """The floor price to send the chunk with: its block trade simulated at a floor no pool meets
        (every follower's own checks pass but the floor's; StrategyBelowFloor carries the trade), less
        floor_slippage_bps (cohort.strategies.floor_price). Nobody would fill: the floor is moot, and
        the simulation's own stays, so each skip is recorded with its real reason."""
        probe = strategies.SIMULATION_FLOOR
        data = self.abi.encode("executeMaster", signed.master.as_tuple(), signed.signature, chunk, probe)
        try:
            result = await self.node.rpc.eth_call(self.strategies.address or "", data, sender=self.me, block=PENDING)
        except ContractRevert as revert:
            trade = strategies.simulated_trade(revert)
            if trade is None:
                raise
            total_in, total_out = trade
        else:
            total_in, total_out = (int(x) for x in self.abi["executeMaster"].decode(result))
        if total_in == 0:
            return probe
        return strategies.floor_price(total_in, total_out, self.settings.floor_slippage_bps)

    async def _on_revert(self, rec: MasterRecord, revert: ContractRevert) -> Step:
        if revert.name == "StrategyShareFilled" and revert.error_args:
            await self._filled_by_other(rec, Web3.to_checksum_address(str(revert.error_args[0])))
            return False
        if revert.name == "StrategySignalExpired":
            return self._expire_rest(rec, f"the strategies contract says it expired ({revert})")
        if revert.name in FINAL_REVERTS:
            state = SignalState.REJECTED if revert.name == "CohortInvalidSignature" else SignalState.FAILED
            return self._finish(rec, state, FINAL_REVERTS[revert.name], f"the strategies contract refused it: {revert}")
        return self._retry(rec, "simulation_reverted", str(revert))

    def _retry(self, rec: MasterRecord, reason: str, what: str) -> Step:
        retries = rec.retries + 1
        if retries > self.settings.retry_limit:
            self._expire_open(rec, FollowerState.EXPIRED, f"not sent: {what}")
            return self._finish(rec, SignalState.FAILED, reason, f"{what} (gave up after {rec.retries} retries)")
        self.store.update_master(rec.id, retries=retries, reason=reason,
                                 detail=f"{what}; retry {retries}/{self.settings.retry_limit}")
        return Parked(self.settings.retry_delay_s)

    # ---------------------------------------------------------------- outcomes
    async def _on_outcome(self, rec: MasterRecord, outcome: Mined | NonceLost) -> None:
        if isinstance(outcome, NonceLost):
            self._unsend(rec, outcome.nonce)
            return
        tx, receipt = outcome.tx, outcome.receipt
        if tx.kind == CANCEL or not outcome.succeeded:
            self._unsend(rec, tx.nonce)
            if tx.kind != CANCEL:
                self.breaker.failure(f"master #{rec.id}: chunk transaction {tx.tx_hash} reverted on-chain")
                self.store.update_master(rec.id, retries=rec.retries + 1, reason="reverted_on_chain",
                                         detail=f"{tx.tx_hash} reverted; its followers are planned again")
            return
        self.breaker.success()
        self.record_chunk(rec, tx, receipt)

    def _unsend(self, rec: MasterRecord, nonce: int | None = None) -> None:
        """The followers sent with the master's transactions (those of `nonce`, when given) are pending again."""
        self.store.unsend_chunk(rec.id, [t.id for t in self.store.txs_for_master(rec.id)
                                         if nonce is None or t.nonce == nonce])

    def record_chunk(self, rec: MasterRecord, tx: TxRecord, receipt: dict[str, Any]) -> None:
        """Each follower of a mined chunk: filled (its TradeExecuted), skipped (FollowerSkipped, the
        reason in words) or zero (allocated no lot). The followers are read from the calldata, so a
        chunk recorded before a crash and mined after it is read the same."""
        followers = [Web3.to_checksum_address(f) for f in self.abi.decode_input("executeMaster", tx.data)[2]]
        digest = bytes.fromhex((rec.digest or "0x")[2:])
        trades = {t["address"]: t for t in self.abi.logs(receipt, "TradeExecuted") if t["digest"] == digest}
        skips = {s["follower"]: s for s in self.abi.logs(receipt, "FollowerSkipped", self.strategies.address)}
        block = int(receipt["blockNumber"], 16)
        chunk = next((f.chunk for f in self.store.followers(rec.id) if f.tx_hash == tx.tx_hash and f.chunk), None)
        common = {"tx_id": tx.id, "tx_hash": tx.tx_hash, "block_number": block,
                  "chunk": chunk or self.store.next_chunk_number(rec.id)}
        for follower in followers:
            if follower in trades:
                trade = trades[follower]
                self.store.set_follower(rec.id, follower, FollowerState.FILLED, amount_in=trade["amountIn"],
                                        amount_out=trade["amountOut"], reason=None, detail=None, **common)
            elif follower in skips:
                revert = ContractRevert(*decode_revert(skips[follower]["reason"]))
                self.store.set_follower(rec.id, follower, FollowerState.SKIPPED, reason=revert.name,
                                        detail=reverts.explain(revert), **common)
            else:
                self.store.set_follower(rec.id, follower, FollowerState.ZERO, amount_in=0, amount_out=0,
                                        reason="zero_lot", detail="its share rounded to no lot (the residual carries "
                                                                  "to its next trade)", **common)
        log.info("master chunk mined", extra={"master_id": rec.id, "tx_hash": tx.tx_hash, "filled": len(trades),
                                              "skipped": len(skips), "followers": len(followers)})

    async def _reconcile_sent(self, rec: MasterRecord, txs: list[TxRecord]) -> bool:
        """Followers `sent` with a transaction that is not open any more: read a mined one's receipt
        (a crash between its receipt and its outcome), put the others back to pending. True if any."""
        sent = self.store.followers(rec.id, FollowerState.SENT)
        by_id = {t.id: t for t in txs}
        changed = False
        for tx_id in dict.fromkeys(f.tx_id for f in sent):
            tx = by_id.get(tx_id or -1)
            if tx is not None and tx.status in OPEN_TX:
                continue
            mined = [t for t in txs if tx is not None and t.nonce == tx.nonce and t.status == TX_MINED]
            if mined:
                receipt = await self.node.rpc.receipt(mined[0].tx_hash)
                if receipt is not None:
                    await self._on_outcome(rec, Mined(mined[0], receipt))
                    changed = True
                    continue
            self.store.unsend_chunk(rec.id, [tx_id] if tx_id is not None else [])
            changed = True
        return changed

    # ---------------------------------------------------------------- endings
    def _done(self, rec: MasterRecord) -> bool:
        summary = follower_summary(f.state for f in self.store.followers(rec.id))
        return self._finish(rec, SignalState.EXECUTED, None, summary)

    def _expire_open(self, rec: MasterRecord, state: FollowerState, detail: str) -> None:
        for f in self.store.followers(rec.id, FollowerState.PENDING):
            self.store.set_follower(rec.id, f.follower, state, reason=str(state), detail=detail)

    def _expire_rest(self, rec: MasterRecord, detail: str) -> bool:
        self._expire_open(rec, FollowerState.EXPIRED, detail)
        if any(f.state != FollowerState.EXPIRED for f in self.store.followers(rec.id)):
            return self._done(rec)
        return self._finish(rec, SignalState.EXPIRED, "expired", f"{detail}; it was never sent")

    def _finish(self, rec: MasterRecord, state: SignalState, reason: str | None, detail: str | None) -> bool:
        self.store.update_master(rec.id, state=state, reason=reason, detail=detail, finished_at=time.time())
        level = logging.INFO if state is SignalState.EXECUTED else logging.WARNING
        log.log(level, f"master {state}: %s", detail, extra={"master_id": rec.id, "reason": reason})
        self._chunk_size.pop(rec.id, None)
        self.on_finished(rec.id, str(state))
        return True
