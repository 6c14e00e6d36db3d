"""The keeper's decisions, as plain functions of plain values: no I/O, no clock, no chain.

Everything the daemon decides (what a revert means for a signal, when a transaction is stuck,
how much to bump its fees, whether a signal may still be sent, when the circuit breaker opens,
which redemption step comes next) is here, so each rule is tested on its own.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from eth_utils import keccak

from cohort.onchain import RedemptionStatus  # the vault view, shared with the SDK

BPS = 10_000
GWEI = 10**9
CANCEL_GAS = 21_000


# ==================================================================== signal states


class SignalState(StrEnum):
    RECEIVED = "received"  # stored, not yet verified (RPC was down, or submitted to the store)
    VERIFIED = "verified"  # signature, vault, chain, nonce and deadline checked
    SIMULATED = "simulated"  # eth_call passed; a transaction is signed and recorded
    SUBMITTED = "submitted"  # broadcast; waiting to be mined (maybe replaced)
    EXECUTED = "executed"  # mined; TradeExecuted by this keeper
    EXECUTED_BY_OTHER = "executed_by_other"  # another keeper executed it first
    REJECTED = "rejected"  # invalid: refused at intake, or later found invalid
    FAILED = "failed"  # valid but could not be executed (a permanent revert, retries exhausted)
    EXPIRED = "expired"  # its deadline passed before it could be sent (never sent late)


TERMINAL = frozenset({SignalState.EXECUTED, SignalState.EXECUTED_BY_OTHER, SignalState.REJECTED,
                      SignalState.FAILED, SignalState.EXPIRED})


def is_terminal(state: str) -> bool:
    return state in TERMINAL


# ==================================================================== what a revert means
# One table, derived from the ABI's error names, in cohort.reverts (the SDK's module).


@dataclass(frozen=True)
class Execution:
    """A TradeExecuted event found on-chain for a signal's digest."""

    tx_hash: str
    block_number: int
    keeper: str


def outcome_from_chain(nonce_used: bool, execution: Execution | None, me: str) -> SignalState | None:
    """A signal's outcome read from the chain, or None while its nonce is still unused.

    Executed by us, by another keeper, or (nonce used, no execution of this digest) cancelled by
    the manager or spent by another signal with the same nonce: rejected.
    """
    if execution is not None:
        return SignalState.EXECUTED if execution.keeper.lower() == me.lower() else SignalState.EXECUTED_BY_OTHER
    if nonce_used:
        return SignalState.REJECTED
    return None


BUSY_WAIT_SLOTS = 5  # a keeper waits at most this many more claim slots for a busy keeper ahead of it


def relay_order(digest: bytes, keepers: Sequence[str]) -> list[str]:
    """The order in which a vault's keepers relay one signal: by keccak(digest, keeper), so each
    signal has its own order (no keeper always goes first) that every keeper computes alike,
    without talking to the others. Addresses in lower case."""
    return sorted({k.lower() for k in keepers}, key=lambda k: keccak(digest + bytes.fromhex(k.removeprefix("0x"))))


def relay_rank(digest: bytes, me: str, keepers: Sequence[str]) -> int:
    """This keeper's place in line for one signal among the vault's allowed keepers (0 when alone)."""
    return relay_order(digest, [*keepers, me]).index(me.lower())


def wait_for_keepers_ahead(*, rank: int, received_at: float, now: float, slot_s: float,
                           ahead_busy: bool) -> float:
    """Seconds to wait before relaying a signal received at `received_at` as the `rank`-th in line:
    its turn comes `rank` slots after receipt; past that, while a keeper ahead is busy sending
    (its queue will reach this signal), a slot more each time, up to BUSY_WAIT_SLOTS more. 0: go."""
    turn = received_at + rank * slot_s
    if now < turn:
        return turn - now
    if rank and ahead_busy and now < turn + BUSY_WAIT_SLOTS * slot_s:
        return slot_s
    return 0.0


# ==================================================================== time


def sendable(deadline: int | None, chain_now: float, margin_s: float) -> bool:
    """May a transaction bound by `deadline` still be broadcast? (None: no deadline.)"""
    return deadline is None or chain_now + margin_s <= deadline


def chain_now(wall_now: float, pending_timestamp: float | None, seconds_since_seen: float) -> float:
    """Our best (never early) estimate of the timestamp the next block will carry.

    A devnet's clock may run ahead of the wall clock (evm_increaseTime); the node's pending
    block tells by how much. We never take a time earlier than the wall clock.
    """
    if pending_timestamp is None:
        return wall_now
    return max(wall_now, pending_timestamp + seconds_since_seen)


def backoff_delays(initial: float, maximum: float) -> Iterator[float]:
    """Exponential back-off: initial, 2x, 4x, ... capped at maximum, forever."""
    delay = initial
    while True:
        yield delay
        delay = min(maximum, delay * 2)


def receipt_poll_delays(first: float, interval: float) -> Iterator[float]:
    """How long to wait between receipt checks: fast at first (automining nodes answer within
    milliseconds), then every `interval`."""
    delay = first
    while delay < interval:
        yield delay
        delay *= 2
    while True:
        yield interval


# ==================================================================== fees and replacement


@dataclass(frozen=True)
class Fees:
    """EIP-1559 fee caps of one transaction, in wei."""

    max_fee: int
    priority_fee: int


def initial_fees(base_fee: int, priority_fee: int, cap: int) -> Fees:
    """maxFee = 2 x base fee + tip (survives six full blocks of base-fee rises), within `cap`."""
    max_fee = min(cap, 2 * base_fee + priority_fee)
    return Fees(max_fee=max_fee, priority_fee=min(priority_fee, max_fee))


def bumped_fees(old: Fees, base_fee: int, priority_fee: int, bump_bps: int, cap: int) -> Fees | None:
    """Fees for a replacement: both caps at least `bump_bps` above the old ones (nodes require
    10-12.5%), and enough for today's base fee. None if that would exceed `cap`."""
    factor = BPS + bump_bps
    min_priority = math.ceil(old.priority_fee * factor / BPS)
    min_max = math.ceil(old.max_fee * factor / BPS)
    priority = max(min_priority, priority_fee)
    max_fee = max(min_max, 2 * base_fee + priority)
    if max_fee > cap:
        return None
    return Fees(max_fee=max_fee, priority_fee=min(priority, max_fee))


def replacement_due(*, sent_block: int | None, head_block: int | None, sent_at: float, now: float,
                    after_blocks: int, after_s: float) -> bool:
    """Is a pending transaction stuck: not mined within `after_blocks` blocks or `after_s`?"""
    if sent_block is not None and head_block is not None and head_block - sent_block >= after_blocks:
        return True
    return now - sent_at >= after_s


def next_in_line(nonce: int, confirmed_nonce: int) -> bool:
    """Only the lowest pending nonce is worth replacing: the ones after it wait for it anyway."""
    return nonce <= confirmed_nonce


class StuckAction(StrEnum):
    WAIT = "wait"
    REBROADCAST = "rebroadcast"  # the node lost it: send the same signed bytes again
    REPLACE = "replace"  # same nonce, same call, higher fees
    CANCEL = "cancel"  # same nonce, a 0-value transfer to ourselves (the deadline passed)


def pending_action(*, known_to_node: bool, stuck: bool, first_in_line: bool, may_send: bool) -> StuckAction:
    """What to do about a broadcast transaction that is not mined yet.

    `may_send` is False once a signal's deadline is too close: from then on its call is never
    broadcast again, and a stuck or lost transaction is replaced by a cancellation instead.
    """
    if stuck and first_in_line:
        return StuckAction.REPLACE if may_send else StuckAction.CANCEL
    if not known_to_node:
        return StuckAction.REBROADCAST if may_send else StuckAction.CANCEL
    return StuckAction.WAIT


def gas_limit(gas_used: int, headroom_pct: int) -> int:
    """A gas limit from a simulated execution's gas use (unused gas is not charged)."""
    return gas_used * (100 + headroom_pct) // 100 + 25_000


# ==================================================================== circuit breaker


@dataclass
class CircuitBreaker:
    """Opens after `threshold` consecutive failures; stops sending until `cooldown_s` passes (then
    lets one attempt through: success closes it, failure reopens it) or until reset. With
    `cooldown_s == 0` only a reset closes it. Time is passed in, never read."""

    threshold: int
    cooldown_s: float
    failures: int = 0
    opened_at: float | None = None
    reason: str | None = None
    trips: int = 0

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None

    def record_failure(self, reason: str, now: float) -> bool:
        """Count a failure; True when this one opens (or reopens) the breaker."""
        self.failures += 1
        self.reason = reason
        if self.failures >= self.threshold:
            self.opened_at = now
            self.trips += 1
            return True
        return False

    def record_success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self.reason = None

    def allows_sending(self, now: float) -> bool:
        if self.opened_at is None:
            return True
        return self.cooldown_s > 0 and now - self.opened_at >= self.cooldown_s

    def reset(self) -> None:
        self.record_success()

    def snapshot(self) -> dict[str, object]:
        return {"open": self.is_open, "failures": self.failures, "threshold": self.threshold,
                "reason": self.reason, "opened_at": self.opened_at, "cooldown_s": self.cooldown_s,
                "trips": self.trips}


# ==================================================================== refusals


@dataclass
class RefusalBudget:
    """How many refused submissions each client may have recorded: a token bucket per client
    (`burst` at once, refilled at `per_s`). Time is passed in. At most `max_clients` buckets are
    kept; when full, the clients whose buckets have refilled are forgotten (they lose nothing)."""

    burst: int
    per_s: float
    max_clients: int = 4096
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # client -> (tokens, at)

    def take(self, client: str, now: float) -> bool:
        """Spend one refusal for `client`; False when its budget is used up."""
        tokens, at = self._buckets.get(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.per_s)
        if tokens < 1.0:
            self._buckets[client] = (tokens, now)
            return False
        if client not in self._buckets and len(self._buckets) >= self.max_clients:
            self._forget_refilled(now)
        self._buckets[client] = (tokens - 1.0, now)
        return True

    def _forget_refilled(self, now: float) -> None:
        full = [c for c, (t, at) in self._buckets.items() if t + (now - at) * self.per_s >= self.burst]
        for client in full or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[client]


# ==================================================================== duties


class RedemptionStep(StrEnum):
    NONE = "none"
    UNWIND = "unwind"
    SETTLE = "settle"


def next_redemption_step(status: RedemptionStatus, unwound_epoch: int | None) -> RedemptionStep:
    """Settle a due epoch; first unwind (once per epoch) when the free base asset is short."""
    if not status.due:
        return RedemptionStep.NONE
    if status.assets_needed > status.base_available and unwound_epoch != status.epoch:
        return RedemptionStep.UNWIND
    return RedemptionStep.SETTLE


def fees_due(management_shares: int, performance_shares: int) -> bool:
    return management_shares > 0 or performance_shares > 0


def derisk_targets(*, risk_off: bool, paused: bool, holdings: Mapping[str, int]) -> list[str]:
    """Listed assets to sell while the vault is risk-off (pause blocks de-risking on-chain)."""
    if not risk_off or paused:
        return []
    return [asset for asset, amount in holdings.items() if amount > 0]


# ==================================================================== master signals (MAM)


def chunk_size(*, block_gas_limit: int, base_gas: int, per_follower_gas: int, max_followers: int,
               gas_fraction_pct: int) -> int:
    """How many followers one executeMaster may carry: what fits in `gas_fraction_pct` of a
    block after the fixed cost, at least one, at most `max_followers`."""
    budget = block_gas_limit * gas_fraction_pct // 100 - base_gas
    return max(1, min(max_followers, budget // max(1, per_follower_gas)))
