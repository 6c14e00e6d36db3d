"""Intake of master signals (MAM): parse, verify and store one, and say why when it is refused.

The same checks, codes and answers as a vault's signal (keeper.intake), against the protocol's
CohortStrategies contract instead of a vault: JSON, the fields, the strategies contract (the one
this keeper serves) and the strategy (it must exist), the chain id, the digest against the
contract's EIP-712 domain, the deadline, and the signature against `strategyOf(id).manager` (an
EOA with `ecrecover`, a contract with ERC-1271). Nonces are per follower on-chain: the pipeline
reads them (`shareFilled`) when it plans the chunks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from web3 import Web3

from cohort import strategies
from cohort.errors import SignalError
from cohort.signals import Domain, recover_digest
from keeper import abi as abi_mod
from keeper import policy
from keeper.errors import Rejection, RpcUnavailable
from keeper.intake import (
    BAD_SIGNATURE,
    DIGEST_MISMATCH,
    MAX_STORED_DETAIL,
    MAX_STORED_PAYLOAD,
    Admission,
    Refused,
    check_chain_id,
    check_contract_signature,
    check_deadline,
    clip,
    hexstr,
    over_budget,
    parse_body,
)
from keeper.metrics import KeeperMetrics
from keeper.node import Node
from keeper.policy import SignalState
from keeper.store import Store

log = logging.getLogger("keeper.masters")
UNKNOWN_STRATEGY = "unknown_strategy"
MANAGER_TTL_S = 60.0


def parse_master(body: bytes, max_bytes: int) -> tuple[strategies.SignedMaster, str] | Refused:
    """A submission's signed master signal and its canonical JSON, or why it cannot be read."""
    return parse_body(body, max_bytes, "signed master signal", strategies.SignedMaster.from_json_dict)


class StrategyDirectory:
    """The CohortStrategies contract a keeper serves: its EIP-712 domain and each strategy's
    manager (cached for MANAGER_TTL_S; re-read when a signature does not match)."""

    def __init__(self, address: str | None, node: Node) -> None:
        self.address = None if address is None else Web3.to_checksum_address(address)
        self.node = node
        self.rpc = node.rpc
        self.abi = abi_mod.strategies_calls()
        self._managers: dict[int, tuple[str, bool, float]] = {}

    def resolve(self, address: str) -> str | None:
        return self.address if self.address is not None and address.lower() == self.address.lower() else None

    def domain(self) -> Domain:
        if self.node.chain_id is None:
            raise RpcUnavailable("the chain id is not known yet")
        assert self.address is not None
        return strategies.domain(self.node.chain_id, self.address)

    async def manager(self, strategy_id: int, *, refresh: bool = False) -> tuple[str, bool]:
        """(manager, is a contract) of a strategy; raises Rejection for an unknown one."""
        cached = self._managers.get(strategy_id)
        if cached is not None and not refresh and time.time() - cached[2] < MANAGER_TTL_S:
            return cached[0], cached[1]
        assert self.address is not None
        fn = self.abi["strategyOf"]
        _owner, manager = fn.decode(await self.rpc.eth_call(self.address, fn.encode(strategy_id)))
        if int(manager, 16) == 0:
            raise Rejection(UNKNOWN_STRATEGY, f"strategy {strategy_id} does not exist on {self.address}")
        manager = Web3.to_checksum_address(manager)
        is_contract = len(await self.rpc.get_code(manager)) > 2
        self._managers[strategy_id] = (manager, is_contract, time.time())
        return manager, is_contract

    async def share_filled(self, strategy_id: int, followers: list[str], nonce: int) -> list[bool]:
        assert self.address is not None
        fn = self.abi["shareFilled"]
        answers = await self.rpc.batch([("eth_call", [{"to": self.address, "data": fn.encode(strategy_id, f, nonce)},
                                                      "latest"]) for f in followers])
        out = []
        for answer in answers:
            if isinstance(answer, Exception):
                raise RpcUnavailable(f"shareFilled: {answer}")
            out.append(bool(fn.decode(answer)[0]))
        return out


class MasterVerifier:
    """The checks a master signal must pass before a keeper executes it."""

    def __init__(self, *, directory: StrategyDirectory, node: Node, expected_chain_id: int | None,
                 deadline_margin_s: float) -> None:
        self.directory = directory
        self.node = node
        self.expected_chain_id = expected_chain_id
        self.margin = deadline_margin_s

    def strategies_of(self, signed: strategies.SignedMaster) -> str:
        if self.directory.address is None:
            raise Rejection(UNKNOWN_STRATEGY, "this keeper serves no CohortStrategies contract: set `strategies` "
                                              "(KEEPER_STRATEGIES) or a manifest that has one")
        found = self.directory.resolve(signed.strategies)
        if found is None:
            raise Rejection(UNKNOWN_STRATEGY, f"this keeper executes master signals of {self.directory.address}, "
                                              f"not of {signed.strategies}")
        return found

    def check_chain(self, signed: strategies.SignedMaster) -> None:
        check_chain_id(signed.chain_id, self.expected_chain_id, self.node, "master signal")

    async def digest(self, signed: strategies.SignedMaster) -> bytes:
        digest = strategies.digest(signed.master, self.directory.domain())
        if signed.digest and signed.digest != digest:
            raise Rejection(DIGEST_MISMATCH, f"claimed digest {hexstr(signed.digest)} is not the master signal's "
                                             f"EIP-712 digest ({hexstr(digest)})")
        return digest

    async def check(self, signed: strategies.SignedMaster, digest: bytes) -> None:
        """The strategy, the deadline and the signature; raises Rejection (or RpcUnavailable)."""
        m = signed.master
        manager, is_contract = await self.directory.manager(m.strategy_id)
        check_deadline(m.deadline, self.node, self.margin)
        if is_contract:
            return await check_contract_signature(self.directory.rpc, manager, digest, signed.signature)
        try:
            signer = recover_digest(digest, signed.signature)  # the digest is already computed
        except SignalError as exc:
            raise Rejection(BAD_SIGNATURE, str(exc)) from None
        if signer.lower() != manager.lower():
            manager, _ = await self.directory.manager(m.strategy_id, refresh=True)  # just changed?
            if signer.lower() != manager.lower():
                raise Rejection(BAD_SIGNATURE, f"signed by {signer}, but strategy {m.strategy_id}'s manager is "
                                               f"{manager}")


class MasterIntake:
    def __init__(self, *, store: Store, verifier: MasterVerifier, node: Node, metrics: KeeperMetrics,
                 max_body_bytes: int, enqueue: Callable[[int], None],
                 refusals: policy.RefusalBudget | None = None) -> None:
        self.store = store
        self.verifier = verifier
        self.node = node
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.enqueue = enqueue
        self.refusals = refusals

    def _reject(self, rejection: Rejection, *, payload: str, received_at: float, source: str, client: str | None,
                digest: bytes | None = None, signed: strategies.SignedMaster | None = None) -> Admission:
        detail = clip(rejection.detail, MAX_STORED_DETAIL)
        over = over_budget(self.refusals, self.metrics, rejection, detail, client)
        if over is not None:
            return over
        fields: dict[str, Any] = {}
        if signed is not None:
            m = signed.master
            fields = {"strategies": signed.strategies, "strategy_id": m.strategy_id, "chain_id": signed.chain_id,
                      "nonce": m.nonce, "deadline": m.deadline}
        master_id = self.store.insert_master(
            payload=clip(payload, MAX_STORED_PAYLOAD), source=source, state=SignalState.REJECTED,
            received_at=received_at, digest=None if digest is None else hexstr(digest),
            received_block=self.node.head_number, reason=rejection.code, detail=detail, **fields)
        self.metrics.rejected.labels(rejection.code).inc()
        log.info("master signal rejected: %s", detail, extra={"master_id": master_id, "reason": rejection.code})
        return Admission(rejection.status, {"error": rejection.code, "detail": detail, "id": master_id})

    async def admit(self, body: bytes, *, source: str, received_at: float, client: str | None = None) -> Admission:
        """Verify and store one master signal; the answer's status and JSON body."""
        self.metrics.received.labels(source).inc()
        parsed = parse_master(body, self.max_body_bytes)
        if isinstance(parsed, Refused):
            return self._reject(parsed.rejection, payload=parsed.payload, received_at=received_at, source=source,
                                client=client)
        signed, payload = parsed
        digest: bytes | None = None
        try:
            contract = self.verifier.strategies_of(signed)
            self.verifier.check_chain(signed)
            digest = await self.verifier.digest(signed)
            existing = self.store.find_accepted_master(hexstr(digest))
            if existing is not None:
                return Admission(200, {"id": existing.id, "digest": existing.digest, "state": existing.state,
                                       "duplicate": True})
            await self.verifier.check(signed, digest)
        except Rejection as rejection:
            return self._reject(rejection, payload=payload, received_at=received_at, source=source, client=client,
                                digest=digest, signed=signed)
        except RpcUnavailable as exc:
            return Admission(503, {"error": "rpc_down", "detail": f"the node is unavailable ({exc}); submit the "
                                                                  "master signal again when the keeper is healthy"})
        m = signed.master
        master_id = self.store.insert_master(
            payload=payload, source=source, state=SignalState.VERIFIED, received_at=received_at,
            digest=hexstr(digest), strategies=contract, strategy_id=m.strategy_id, chain_id=signed.chain_id,
            nonce=m.nonce, deadline=m.deadline, received_block=self.node.head_number)
        self.enqueue(master_id)
        return Admission(202, {"id": master_id, "digest": hexstr(digest), "state": str(SignalState.VERIFIED),
                               "strategy": m.strategy_id, "nonce": str(m.nonce)})
