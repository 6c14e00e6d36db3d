"""The keeper's decision rules, one by one (pure functions: no chain, no clock)."""

from __future__ import annotations

import itertools

import pytest

from keeper import policy
from keeper.policy import (
    CircuitBreaker,
    Execution,
    Fees,
    RedemptionStatus,
    RedemptionStep,
    SignalState,
    StuckAction,
)

ME = "0x" + "aa" * 20
OTHER = "0x" + "bb" * 20


def test_replacement_raises_both_fee_caps_by_at_least_the_bump() -> None:
    old = Fees(max_fee=3_000_000_001, priority_fee=1_000_000_001)
    new = policy.bumped_fees(old, base_fee=1, priority_fee=1, bump_bps=1250, cap=10**12)
    assert new is not None
    assert new.max_fee * 10_000 >= old.max_fee * 11_250 and new.priority_fee * 10_000 >= old.priority_fee * 11_250


def test_replacement_follows_a_base_fee_rise() -> None:
    new = policy.bumped_fees(Fees(3, 1), base_fee=100, priority_fee=2, bump_bps=1250, cap=10**12)
    assert new == Fees(max_fee=2 * 100 + 2, priority_fee=2)


def test_replacement_never_passes_the_fee_cap() -> None:
    assert policy.bumped_fees(Fees(100, 10), base_fee=1, priority_fee=1, bump_bps=1250, cap=112) is None


def test_initial_fees_respect_the_cap() -> None:
    assert policy.initial_fees(base_fee=10, priority_fee=2, cap=1000) == Fees(22, 2)
    assert policy.initial_fees(base_fee=10, priority_fee=50, cap=30) == Fees(30, 30)


@pytest.mark.parametrize(("deadline", "now", "margin", "ok"), [
    (None, 10**12, 5, True), (100, 97, 2, True), (100, 98, 2, True), (100, 98.5, 2, False), (100, 101, 0, False)])
def test_nothing_is_sent_within_the_margin_of_its_deadline(deadline: int | None, now: float, margin: float,
                                                            ok: bool) -> None:
    assert policy.sendable(deadline, now, margin) is ok


def test_chain_clock_follows_a_devnet_ahead_of_the_wall_but_never_goes_before_it() -> None:
    assert policy.chain_now(1000.0, 8200.0, 1.5) == 8201.5
    assert policy.chain_now(1000.0, 900.0, 0.0) == 1000.0
    assert policy.chain_now(1000.0, None, 3.0) == 1000.0


def test_transaction_is_stuck_after_n_blocks_or_n_seconds() -> None:
    kw = {"after_blocks": 3, "after_s": 30.0}
    assert not policy.replacement_due(sent_block=10, head_block=12, sent_at=0, now=29, **kw)
    assert policy.replacement_due(sent_block=10, head_block=13, sent_at=0, now=1, **kw)
    assert policy.replacement_due(sent_block=10, head_block=10, sent_at=0, now=30, **kw)
    assert not policy.replacement_due(sent_block=None, head_block=None, sent_at=0, now=5, **kw)


@pytest.mark.parametrize(("known", "stuck", "first", "may_send", "action"), [
    (True, False, True, True, StuckAction.WAIT),
    (True, True, True, True, StuckAction.REPLACE),
    (True, True, False, True, StuckAction.WAIT),  # behind a lower nonce: bumping would not help
    (True, True, True, False, StuckAction.CANCEL),  # deadline near: cancel, never send the call late
    (False, False, True, True, StuckAction.REBROADCAST),
    (False, False, True, False, StuckAction.CANCEL),
    (False, True, True, True, StuckAction.REPLACE),
])
def test_pending_transaction_actions(known: bool, stuck: bool, first: bool, may_send: bool,
                                     action: StuckAction) -> None:
    assert policy.pending_action(known_to_node=known, stuck=stuck, first_in_line=first, may_send=may_send) is action


def test_each_signal_has_one_order_of_keepers_that_every_keeper_computes_alike() -> None:
    keepers = ["0x" + f"{i:02x}" * 20 for i in range(1, 6)]
    digests = [bytes([i]) * 32 for i in range(40)]
    for digest in digests:
        ranks = sorted(policy.relay_rank(digest, k, keepers) for k in keepers)
        assert ranks == list(range(5))  # one keeper per place in line
        assert policy.relay_rank(digest, keepers[0].upper().replace("0X", "0x"), keepers) == \
            policy.relay_rank(digest, keepers[0], keepers)
    firsts = {next(k for k in keepers if policy.relay_rank(d, k, keepers) == 0) for d in digests}
    assert len(firsts) > 1  # no keeper always goes first
    assert policy.relay_rank(digests[0], ME, []) == 0  # alone: first
    assert policy.relay_rank(digests[0], ME, [ME]) == 0


def test_a_keeper_waits_its_turn_and_longer_while_one_ahead_is_busy_but_not_forever() -> None:
    def wait(rank: int, now: float, busy: bool) -> float:
        return policy.wait_for_keepers_ahead(rank=rank, received_at=100.0, now=now, slot_s=2.0, ahead_busy=busy)

    assert wait(0, 100.0, True) == 0  # the first in line never waits
    assert wait(1, 100.5, False) == 1.5 and wait(2, 100.5, False) == 3.5  # its turn: rank slots after receipt
    assert wait(1, 102.0, False) == 0  # its turn came, nobody ahead is sending: go
    assert wait(1, 102.0, True) == 2.0  # one ahead is busy: another slot
    assert wait(1, 102.0 + 2.0 * policy.BUSY_WAIT_SLOTS, True) == 0  # but not forever


def test_refusal_budget_allows_a_burst_then_a_steady_rate_per_client() -> None:
    budget = policy.RefusalBudget(burst=3, per_s=1.0)
    assert [budget.take("a", 100.0) for _ in range(4)] == [True, True, True, False]
    assert budget.take("b", 100.0)  # each client has its own budget
    assert not budget.take("a", 100.5)
    assert budget.take("a", 101.6)  # refilled at one per second
    small = policy.RefusalBudget(burst=1, per_s=1.0, max_clients=2)
    for i, client in enumerate(["x", "y", "z", "w"]):
        assert small.take(client, 200.0 + i * 10)
    assert len(small._buckets) <= 2


def test_outcome_from_chain_tells_us_from_another_keeper_and_from_a_cancellation() -> None:
    mine, theirs = Execution("0x1", 5, ME.upper().replace("0X", "0x")), Execution("0x2", 5, OTHER)
    assert policy.outcome_from_chain(True, mine, ME) is SignalState.EXECUTED
    assert policy.outcome_from_chain(True, theirs, ME) is SignalState.EXECUTED_BY_OTHER
    assert policy.outcome_from_chain(True, None, ME) is SignalState.REJECTED
    assert policy.outcome_from_chain(False, None, ME) is None


def test_breaker_opens_after_consecutive_failures_and_a_success_closes_it() -> None:
    breaker = CircuitBreaker(threshold=3, cooldown_s=10)
    assert not breaker.record_failure("a", now=0) and not breaker.record_failure("b", now=1)
    breaker.record_success()  # not consecutive any more
    assert not breaker.record_failure("c", now=2) and not breaker.record_failure("d", now=3)
    assert breaker.record_failure("e", now=4)
    assert breaker.is_open and breaker.reason == "e" and not breaker.allows_sending(now=13)
    assert breaker.allows_sending(now=14)  # cooldown over: one attempt may go through
    assert breaker.record_failure("f", now=14) and not breaker.allows_sending(now=15)  # reopened
    breaker.record_success()
    assert not breaker.is_open and breaker.allows_sending(now=15)


def test_breaker_without_cooldown_waits_for_a_reset() -> None:
    breaker = CircuitBreaker(threshold=1, cooldown_s=0)
    breaker.record_failure("x", now=0)
    assert not breaker.allows_sending(now=10**9)
    breaker.reset()
    assert breaker.allows_sending(now=0)


@pytest.mark.parametrize(("due", "needed", "available", "unwound", "step"), [
    (False, 10, 0, None, RedemptionStep.NONE),
    (True, 10, 0, None, RedemptionStep.UNWIND),
    (True, 10, 0, 7, RedemptionStep.SETTLE),  # unwound once for this epoch: settle what there is
    (True, 10, 10, None, RedemptionStep.SETTLE),
])
def test_redemption_steps(due: bool, needed: int, available: int, unwound: int | None,
                          step: RedemptionStep) -> None:
    status = RedemptionStatus(due=due, epoch=7, assets_needed=needed, base_available=available, matures_at=0)
    assert policy.next_redemption_step(status, unwound) is step


def test_derisking_sells_what_is_held_only_when_risk_off_and_not_paused() -> None:
    holdings = {"A": 5, "B": 0, "C": 1}
    assert policy.derisk_targets(risk_off=True, paused=False, holdings=holdings) == ["A", "C"]
    assert policy.derisk_targets(risk_off=False, paused=False, holdings=holdings) == []
    assert policy.derisk_targets(risk_off=True, paused=True, holdings=holdings) == []


def test_fees_due_only_when_the_vault_would_mint_some() -> None:
    assert not policy.fees_due(0, 0) and policy.fees_due(1, 0) and policy.fees_due(0, 1)


def test_backoff_doubles_up_to_its_cap_and_receipt_polls_start_fast() -> None:
    assert list(itertools.islice(policy.backoff_delays(0.1, 0.5), 5)) == [0.1, 0.2, 0.4, 0.5, 0.5]
    assert list(itertools.islice(policy.receipt_poll_delays(0.001, 0.005), 5)) == [0.001, 0.002, 0.004, 0.005, 0.005]


def test_gas_limit_leaves_headroom_over_the_simulated_use() -> None:
    assert policy.gas_limit(300_000, 30) == 415_000


def test_chunks_fit_the_block_and_the_setting() -> None:
    size = policy.chunk_size(block_gas_limit=30_000_000, base_gas=300_000, per_follower_gas=120_000,
                             max_followers=500, gas_fraction_pct=50)
    assert size == (15_000_000 - 300_000) // 120_000 == 122
    assert policy.chunk_size(block_gas_limit=30_000_000, base_gas=300_000, per_follower_gas=120_000,
                             max_followers=50, gas_fraction_pct=50) == 50
    assert policy.chunk_size(block_gas_limit=100_000, base_gas=300_000, per_follower_gas=120_000,
                             max_followers=50, gas_fraction_pct=50) == 1  # never zero: one follower a chunk
