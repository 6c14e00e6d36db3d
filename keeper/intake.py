"""Intake: parse, verify and store a submitted signal, and say why when it is refused.

Checks, cheapest first: JSON, the signal's fields, the vault (one this keeper serves), the
chain id, the digest against the vault's EIP-712 domain, the deadline, the signature (an EOA
manager is checked here with `ecrecover`, a contract manager with ERC-1271 `isValidSignature`
on-chain), and the nonce on-chain. An accepted signal is written to the store before the answer,
which carries its id and digest. A refused one is written too, with its reason.

If the node does not answer, the signal is accepted unverified (`received`): the pipeline
verifies it when the node is back, and records a rejection then if it fails.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from cohort import signals
from cohort.errors import SignalError
from keeper import abi as vault_abi_mod
from keeper import policy
from keeper.errors import Rejection, RpcUnavailable
from keeper.metrics import KeeperMetrics
from keeper.node import Node
from keeper.policy import SignalState
from keeper.rpc import Rpc
from keeper.store import Store
from keeper.vaults import VaultDirectory

log = logging.getLogger("keeper.intake")

# rejection codes (the `error` of a 4xx answer and the `reason` recorded in the store)
MALFORMED_JSON = "malformed_json"
BODY_TOO_LARGE = "body_too_large"
INVALID_SIGNAL = "invalid_signal"
UNKNOWN_VAULT = "unknown_vault"
WRONG_CHAIN = "wrong_chain"
DIGEST_MISMATCH = "digest_mismatch"
BAD_SIGNATURE = "bad_signature"
EXPIRED = "expired"
NONCE_USED = "nonce_used"
DUPLICATE = "duplicate"
TOO_MANY_REFUSALS = "too_many_refusals"  # a client over its refusal budget: answered, not recorded
MAX_STORED_PAYLOAD = 512  # bytes of a refused body kept in the store (enough to recognise it)
MAX_STORED_DETAIL = 300  # characters of a refusal's reason (error texts can quote the input)


@dataclass(frozen=True)
class Admission:
    status: int
    body: dict[str, Any]


def hexstr(value: bytes) -> str:
    return "0x" + value.hex()


@dataclass(frozen=True)
class Refused:
    rejection: Rejection
    payload: str  # what to store: the JSON re-serialised, or the raw body (truncated)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more)"


class _Signed(Protocol):
    def to_json_dict(self) -> dict[str, Any]: ...


S = TypeVar("S", bound=_Signed)


def parse_body(body: bytes, max_bytes: int, what: str, from_json_dict: Callable[[Any], S]) -> tuple[S, str] | Refused:
    """A submission's signed object (`what`, read by `from_json_dict`) and its JSON to store, or why it
    cannot be read at all; one reading for a vault's signal and a master signal."""
    raw = body[:MAX_STORED_PAYLOAD].decode("utf-8", errors="replace")
    if len(body) > max_bytes:
        return Refused(Rejection(BODY_TOO_LARGE, f"body is over the {max_bytes}-byte limit", 413), raw)
    try:
        data = json.loads(body)
    except RecursionError:
        return Refused(Rejection(MALFORMED_JSON, "body is JSON nested too deeply", 400), raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return Refused(Rejection(MALFORMED_JSON, f"body is not JSON: {exc}", 400), raw)
    if not isinstance(data, dict):
        return Refused(Rejection(MALFORMED_JSON, f"a {what} is a JSON object", 400), raw)
    try:
        signed = from_json_dict(data)
    except SignalError as exc:
        return Refused(Rejection(INVALID_SIGNAL, str(exc)), raw)
    # stored as its canonical JSON: what the pipeline reads back is exactly what was verified
    return signed, json.dumps(signed.to_json_dict(), separators=(",", ":"))


def parse_submission(body: bytes, max_bytes: int) -> tuple[signals.SignedSignal, str] | Refused:
    """A submission's signed signal and its JSON to store, or why it cannot be read at all."""
    return parse_body(body, max_bytes, "signed signal", signals.SignedSignal.from_json_dict)


def over_budget(refusals: policy.RefusalBudget | None, metrics: KeeperMetrics, rejection: Rejection, detail: str,
                client: str | None) -> Admission | None:
    """The 429 answer for a client over its refusal budget (its refusal is then not recorded), or None;
    shared by the signal and master-signal intakes."""
    if refusals is None or client is None or refusals.take(client, time.monotonic()):
        return None
    metrics.refusals_unrecorded.labels(rejection.code).inc()
    return Admission(429, {"error": TOO_MANY_REFUSALS, "refused_for": rejection.code,
                           "detail": f"{detail} (not recorded: this client is over its refusal budget "
                                     f"of {refusals.burst} plus {refusals.per_s:g} per second)"})


def check_chain_id(chain_id: int, expected: int | None, node: Node, what: str) -> None:
    """`what` (a signal, a master signal) is for the chain this keeper serves: the configured one, else
    the node's; raises Rejection (or RpcUnavailable while the node's is not known)."""
    served = expected or node.chain_id
    if served is None:
        raise RpcUnavailable("the chain id is not known yet")
    if chain_id != served:
        raise Rejection(WRONG_CHAIN, f"{what} is for chain {chain_id}, this keeper serves chain {served}")


def check_deadline(deadline: int, node: Node, margin: float) -> None:
    """The deadline leaves time to send (more than `margin` seconds of chain time); raises Rejection."""
    now = node.chain_now()
    if not policy.sendable(deadline, now, margin):
        raise Rejection(EXPIRED, f"deadline {deadline} is past or within {margin:g}s of chain time {int(now)}")


async def check_contract_signature(rpc: Rpc, manager: str, digest: bytes, signature: bytes) -> None:
    """ERC-1271: the manager contract must accept `signature` for `digest`; raises Rejection (or
    RpcUnavailable). Shared by a vault's signal and a master signal."""
    data = vault_abi_mod.encode_is_valid_signature(digest, signature)
    try:
        result = await rpc.eth_call(manager, data)
    except RpcUnavailable:
        raise
    except Exception as exc:
        raise Rejection(BAD_SIGNATURE, f"the manager contract refused the signature: {exc}") from None
    if not result.removeprefix("0x").startswith(vault_abi_mod.ERC1271_MAGIC.hex()):
        raise Rejection(BAD_SIGNATURE, f"the manager contract {manager} does not accept the signature")


class Verifier:
    """The checks a signal must pass before a keeper relays it; shared by intake and pipeline."""

    def __init__(self, *, directory: VaultDirectory, node: Node, expected_chain_id: int | None,
                 deadline_margin_s: float) -> None:
        self.directory = directory
        self.node = node
        self.expected_chain_id = expected_chain_id
        self.margin = deadline_margin_s

    def vault_of(self, signed: signals.SignedSignal) -> str:
        vault = self.directory.resolve(signed.vault)
        if vault is None:
            raise Rejection(UNKNOWN_VAULT, f"this keeper does not serve vault {signed.vault}")
        return vault

    def check_chain(self, signed: signals.SignedSignal) -> None:
        check_chain_id(signed.chain_id, self.expected_chain_id, self.node, "signal")

    async def digest(self, signed: signals.SignedSignal, vault: str) -> bytes:
        info = await self.directory.info(vault)
        digest = signals.digest(signed.signal, info.domain)
        if signed.digest and signed.digest != digest:
            raise Rejection(DIGEST_MISMATCH, f"claimed digest {hexstr(signed.digest)} is not the signal's "
                            f"EIP-712 digest for this vault ({hexstr(digest)})")
        return digest

    async def check(self, signed: signals.SignedSignal, vault: str, digest: bytes) -> None:
        """Deadline, signature and nonce; raises Rejection (or RpcUnavailable)."""
        check_deadline(signed.signal.deadline, self.node, self.margin)
        nonce = signed.signal.nonce
        used = asyncio.ensure_future(self.directory.nonce_used(vault, nonce))  # overlaps ecrecover
        try:
            await self._check_signature(signed, vault, digest)
        except BaseException:
            used.cancel()
            raise
        if await used:
            raise Rejection(NONCE_USED, f"nonce {nonce} is already used on-chain (executed or cancelled)", 409)

    async def _check_signature(self, signed: signals.SignedSignal, vault: str, digest: bytes) -> None:
        info = await self.directory.info(vault)
        if info.manager_is_contract:
            return await check_contract_signature(self.directory.rpc, info.manager, digest, signed.signature)
        try:
            signer = signals.recover(signed, info.domain, digest)
        except SignalError as exc:
            raise Rejection(BAD_SIGNATURE, str(exc)) from None
        if signer.lower() != info.manager.lower():
            info = await self.directory.info(vault, refresh=True)  # has the manager just changed?
            if signer.lower() != info.manager.lower():
                raise Rejection(BAD_SIGNATURE, f"signed by {signer}, but the vault's manager is {info.manager}")


class Intake:
    def __init__(self, *, store: Store, verifier: Verifier, node: Node, metrics: KeeperMetrics,
                 max_body_bytes: int, enqueue: Callable[[int, str], None],
                 refusals: policy.RefusalBudget | None = None) -> None:
        self.store = store
        self.verifier = verifier
        self.node = node
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.enqueue = enqueue
        self.refusals = refusals

    def _reject(self, rejection: Rejection, *, payload: str, received_at: float, source: str, client: str | None,
                digest: bytes | None = None, signed: signals.SignedSignal | None = None) -> Admission:
        """Record a refusal (clipped) and answer it; a client over its refusal budget is answered
        429 and not recorded, so junk cannot grow the store faster than the budget allows."""
        detail = clip(rejection.detail, MAX_STORED_DETAIL)
        over = over_budget(self.refusals, self.metrics, rejection, detail, client)
        if over is not None:
            return over
        signal_id = self.store.insert_signal(
            payload=clip(payload, MAX_STORED_PAYLOAD), source=source, state=SignalState.REJECTED,
            received_at=received_at, digest=None if digest is None else hexstr(digest),
            vault=None if signed is None else signed.vault, chain_id=None if signed is None else signed.chain_id,
            nonce=None if signed is None else signed.signal.nonce,
            deadline=None if signed is None else signed.signal.deadline,
            received_block=self.node.head_number, reason=rejection.code, detail=detail)
        self.metrics.rejected.labels(rejection.code).inc()
        log.info("signal rejected: %s", detail, extra={"signal_id": signal_id, "reason": rejection.code})
        return Admission(rejection.status, {"error": rejection.code, "detail": detail, "id": signal_id})

    async def admit(self, body: bytes, *, source: str, received_at: float, client: str | None = None) -> Admission:
        """Verify and store one submission; the answer's status and JSON body."""
        self.metrics.received.labels(source).inc()
        parsed = parse_submission(body, self.max_body_bytes)
        if isinstance(parsed, Refused):
            return self._reject(parsed.rejection, payload=parsed.payload, received_at=received_at, source=source,
                                client=client)
        signed, payload = parsed
        digest: bytes | None = None
        try:
            vault = self.verifier.vault_of(signed)
            self.verifier.check_chain(signed)
            digest = await self.verifier.digest(signed, vault)
            existing = self.store.find_accepted(hexstr(digest))
            if existing is not None:
                return Admission(200, {"id": existing.id, "digest": existing.digest, "state": existing.state,
                                       "vault": existing.vault, "nonce": existing.nonce, "duplicate": True})
            await self.verifier.check(signed, vault, digest)
        except Rejection as rejection:
            return self._reject(rejection, payload=payload, received_at=received_at, source=source, client=client,
                                digest=digest, signed=signed)
        except RpcUnavailable as exc:
            return self._defer(signed, payload, received_at, source, digest, str(exc))
        signal_id = self.store.insert_signal(
            payload=payload, source=source, state=SignalState.VERIFIED, received_at=received_at,
            digest=hexstr(digest), vault=vault, chain_id=signed.chain_id, nonce=signed.signal.nonce,
            deadline=signed.signal.deadline, received_block=self.node.head_number)
        self.enqueue(signal_id, vault)
        return Admission(202, {"id": signal_id, "digest": hexstr(digest), "state": str(SignalState.VERIFIED),
                               "vault": vault, "nonce": str(signed.signal.nonce)})

    def _defer(self, signed: signals.SignedSignal, payload: str, received_at: float, source: str,
               digest: bytes | None, error: str) -> Admission:
        """The node is away: accept unverified; the pipeline verifies when it is back."""
        shown = digest if digest is not None else (signed.digest or None)
        vault = self.verifier.directory.resolve(signed.vault) or signed.vault
        signal_id = self.store.insert_signal(
            payload=payload, source=source, state=SignalState.RECEIVED, received_at=received_at,
            digest=None if shown is None else hexstr(shown), vault=vault, chain_id=signed.chain_id,
            nonce=signed.signal.nonce, deadline=signed.signal.deadline, received_block=self.node.head_number,
            reason="verification_deferred", detail=f"the node is unavailable ({error}); verified when it is back")
        self.enqueue(signal_id, vault)
        log.warning("signal accepted unverified: node unavailable", extra={"signal_id": signal_id})
        return Admission(202, {"id": signal_id, "digest": None if shown is None else hexstr(shown),
                               "state": str(SignalState.RECEIVED), "vault": vault, "nonce": str(signed.signal.nonce),
                               "verified": False})
