"""The strategy books on hand-made events: the cases a chain run does not isolate (a follow that
replaces another, another deployment's strategies contract, a fill that rounds to no lot, the
order of a follower's allocation and its trade within one transaction)."""

from __future__ import annotations

import itertools
from typing import Any

from api.ledger.events import LogEvent
from api.ledger.strategies import StrategyBook, replay_strategies

STRATEGIES = "0x" + "5a" * 20
OTHER = "0x" + "5b" * 20
FACTORY = "0x" + "fa" * 20
V1, V2 = "0x" + "01" * 20, "0x" + "02" * 20
USDC, WETH = "0x" + "0c" * 20, "0x" + "0e" * 20
RULE = {"kind": 1, "multiplierBps": 5000, "fixedLot": 0, "minLot": 1, "toleranceBps": 0}
_block = itertools.count(1)


def ev(address: str, event: str, block: int, log_index: int = 0, **args: Any) -> LogEvent:
    return LogEvent(address=address, name=event, args=args, block_number=block, block_hash="0x" + f"{block:064x}",
                    tx_hash="0x" + f"{block:064x}", tx_index=0, log_index=log_index, timestamp=1_000 + block)


def created(vault: str) -> LogEvent:
    return ev(FACTORY, "VaultCreated", next(_block), vault=vault, params={})


def follow(vault: str, strategy: int, block: int, strategies: str = STRATEGIES) -> LogEvent:
    return ev(vault, "StrategyFollowed", block, strategies=strategies, strategyId=strategy, rule=RULE)


def allocated(vault: str, block: int, log_index: int, amount: int, nonce: int = 7) -> LogEvent:
    return ev(vault, "StrategyAllocated", block, log_index, strategyId=1, nonce=nonce, tokenIn=USDC, amountIn=amount,
              residual=3, capped=0)


def traded(vault: str, block: int, log_index: int, amount_in: int, amount_out: int, nonce: int = 7) -> LogEvent:
    return ev(vault, "TradeExecuted", block, log_index, digest="0x" + "dd" * 32, nonce=nonce, keeper=V2,
              tokenIn=USDC, tokenOut=WETH, amountIn=amount_in, amountOut=amount_out, oracleAmountOut=amount_out,
              limitPrice=10**15, loss=0)


def test_strategies_follows_fills_and_skips_replay_from_events() -> None:
    events = [created(V1), created(V2)]
    b = next(_block)
    events.append(ev(STRATEGIES, "StrategyCreated", b, strategyId=1, owner=V2, manager=V1, name="trend"))
    events.append(ev(STRATEGIES, "StrategyManagerChanged", next(_block), strategyId=1, manager=V2))
    first = next(_block)
    events += [follow(V1, 1, first), follow(V2, 1, first)]
    events.append(follow(V1, 1, next(_block), strategies=OTHER))  # another deployment's contract: ignored
    replaced = next(_block)
    events.append(follow(V2, 2, replaced))  # following strategy 2 ends V2's follow of strategy 1
    trade = next(_block)
    events += [allocated(V1, trade, 1, 500), traded(V1, trade, 5, 500, 2),  # V1 fills
               allocated(V2, trade, 2, 0),  # V2's share rounds to no lot: an allocation without a trade
               ev(STRATEGIES, "FollowerSkipped", trade, 6, strategyId=1, nonce=7, follower=V2, reason="0x1234"),
               ev(STRATEGIES, "MasterExecuted", trade, 7, strategyId=1, nonce=7, digest="0x" + "dd" * 32, keeper=V2,
                  tokenIn=USDC, tokenOut=WETH, totalIn=500, totalOut=2, floorPrice=1, filled=1, skipped=1,
                  signal={"refPrice": 4 * 10**15})]
    events.append(traded(V2, next(_block), 0, 10, 1))  # an ordinary signal trade: no fill
    events.append(ev(V1, "StrategyUnfollowed", next(_block), strategyId=1))
    book = replay_strategies(events, STRATEGIES, FACTORY)

    assert book.strategies[1]["manager"] == V2 and book.strategies[1]["manager_block"] == b + 1
    rows = sorted(book.dirty_follows.values(), key=lambda r: (r["followed_block"], r["vault"]))
    assert [(r["vault"], r["strategy_id"], r["ended_block"]) for r in rows] == [
        (V1, 1, events[-1].block_number), (V2, 1, replaced), (V2, 2, None)]
    assert book.following == {V2: rows[-1]}
    assert [(f["vault"], f["allocated"], f["amount_in"], f["amount_out"], f["trade_log_index"])
            for f in book.new_fills] == [(V1, 500, 500, 2, 5), (V2, 0, None, None, None)]
    assert [(s["vault"], s["reason"]) for s in book.new_skips] == [(V2, "0x1234")]
    (execution,) = book.new_executions
    assert execution["signal"] == {"refPrice": 4 * 10**15} and execution["total_in"] == 500


def test_a_trade_logged_before_its_allocation_is_still_its_fill() -> None:
    book = StrategyBook(STRATEGIES)
    block = next(_block)
    for e in (traded(V1, block, 0, 90, 3), allocated(V1, block, 1, 90)):
        assert book.reads(e, {V1})
        book.apply(e)
    assert book.new_fills == []  # the transaction is not over yet
    book.finish()
    assert [(f["amount_in"], f["amount_out"], f["trade_log_index"]) for f in book.new_fills] == [(90, 3, 0)]
    assert not book.reads(traded(V2, block, 2, 1, 1), {V1})  # not a vault of the factory
