"""The MAM side of the books: strategies, which vaults follow them with which rule, and every
executed master signal with each follower's fill or the reason it was skipped.

Fed with CohortStrategies' events (StrategyCreated, StrategyManagerChanged, MasterExecuted,
FollowerSkipped) and four of each follower vault's (StrategyFollowed, StrategyUnfollowed,
StrategyAllocated, TradeExecuted), in chain order. A follower's fill is its StrategyAllocated
joined with its TradeExecuted of the same master nonce in the same transaction (the trade the
vault books like any other); both are only known to belong together once the transaction is
over, so a transaction's fills are settled when the next one starts or the batch ends (a batch
always holds whole blocks). An allocation that rounded to no lot is a fill without a trade.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from typing import Any

from api.ledger.book import VAULT_CREATED
from api.ledger.events import LogEvent

# what the strategies contract emits, and what a follower vault emits that this book reads
STRATEGY_EVENTS = frozenset({"StrategyCreated", "StrategyManagerChanged", "MasterExecuted", "FollowerSkipped"})
FOLLOWER_EVENTS = frozenset({"StrategyFollowed", "StrategyUnfollowed", "StrategyAllocated", "TradeExecuted"})


def follow_key(row: dict[str, Any]) -> tuple[str, int, int]:
    return (row["vault"], row["followed_block"], row["followed_log_index"])


@dataclass
class StrategyBook:
    """Every strategy's books. `address` is the CohortStrategies contract (None: none deployed);
    follow events naming another strategies contract are not this protocol's and are ignored."""

    address: str | None
    strategies: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> `strategies` row
    # vault -> its open `strategy_follows` row (rules and signals stay dicts here; the store writes JSON)
    following: dict[str, dict[str, Any]] = field(default_factory=dict)
    # what changed since the last flush (the store persists and clears these)
    dirty_strategies: set[int] = field(default_factory=set)
    dirty_follows: dict[tuple[str, int, int], dict[str, Any]] = field(default_factory=dict)
    new_executions: list[dict[str, Any]] = field(default_factory=list)
    new_fills: list[dict[str, Any]] = field(default_factory=list)
    new_skips: list[dict[str, Any]] = field(default_factory=list)
    _tx: str = ""
    _allocations: list[LogEvent] = field(default_factory=list)  # of the transaction in progress
    _trades: list[LogEvent] = field(default_factory=list)

    def reads(self, ev: LogEvent, vaults: Container[str]) -> bool:
        """Whether this book takes `ev` (its emitter is the strategies contract or a vault in `vaults`)."""
        if ev.address == self.address:
            return ev.name in STRATEGY_EVENTS
        return ev.name in FOLLOWER_EVENTS and ev.address in vaults

    def apply(self, ev: LogEvent) -> None:
        if ev.tx_hash != self._tx:
            self.finish()
            self._tx = ev.tx_hash
        handler = _HANDLERS.get(ev.name)
        if handler is not None:
            handler(self, ev, ev.args)

    def finish(self) -> None:
        """Close the transaction in progress: pair its allocations with their trades."""
        for alloc in self._allocations:
            a = alloc.args
            trade = next((t for t in self._trades
                          if t.address == alloc.address and int(t.args["nonce"]) == int(a["nonce"])), None)
            if trade is not None:
                self._trades.remove(trade)
            t = trade.args if trade is not None else {}
            self.new_fills.append({
                "strategy_id": int(a["strategyId"]), "nonce": int(a["nonce"]), "vault": alloc.address,
                "block_number": alloc.block_number, "log_index": alloc.log_index, "tx_hash": alloc.tx_hash,
                "token_in": a["tokenIn"], "allocated": int(a["amountIn"]), "residual": int(a["residual"]),
                "capped": int(a["capped"]), "trade_log_index": None if trade is None else trade.log_index,
                "token_out": t.get("tokenOut"), "amount_in": _int(t.get("amountIn")),
                "amount_out": _int(t.get("amountOut")), "oracle_amount_out": _int(t.get("oracleAmountOut")),
                "limit_price": _int(t.get("limitPrice")), "digest": t.get("digest")})
        self._allocations.clear()
        self._trades.clear()
        self._tx = ""

    def end_follow(self, vault: str, ev: LogEvent) -> None:
        """`vault`'s open follow (if any) ends at `ev`."""
        row = self.following.pop(vault, None)
        if row is not None:
            row.update(ended_block=ev.block_number, ended_at=ev.timestamp)
            self.dirty_follows[follow_key(row)] = row


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _on_created(book: StrategyBook, ev: LogEvent, a: dict[str, Any]) -> None:
    sid = int(a["strategyId"])
    book.strategies[sid] = {"strategy_id": sid, "owner": a["owner"], "manager": a["manager"], "name": a["name"],
                            "created_block": ev.block_number, "created_tx": ev.tx_hash, "created_at": ev.timestamp,
                            "manager_block": ev.block_number, "manager_at": ev.timestamp}
    book.dirty_strategies.add(sid)


def _on_manager_changed(book: StrategyBook, ev: LogEvent, a: dict[str, Any]) -> None:
    row = book.strategies.get(int(a["strategyId"]))
    if row is not None:
        row.update(manager=a["manager"], manager_block=ev.block_number, manager_at=ev.timestamp)
        book.dirty_strategies.add(row["strategy_id"])


def _on_master_executed(book: StrategyBook, ev: LogEvent, a: dict[str, Any]) -> None:
    signal = a.get("signal")  # the MasterSignal from the transaction's calldata (the indexer adds it)
    book.new_executions.append({
        "strategy_id": int(a["strategyId"]), "nonce": int(a["nonce"]), "digest": a["digest"], "keeper": a["keeper"],
        "token_in": a["tokenIn"], "token_out": a["tokenOut"], "total_in": int(a["totalIn"]),
        "total_out": int(a["totalOut"]), "floor_price": int(a["floorPrice"]), "filled": int(a["filled"]),
        "skipped": int(a["skipped"]), "block_number": ev.block_number, "log_index": ev.log_index,
        "tx_hash": ev.tx_hash, "timestamp": ev.timestamp, "signal": signal})


def _on_skipped(book: StrategyBook, ev: LogEvent, a: dict[str, Any]) -> None:
    book.new_skips.append({"strategy_id": int(a["strategyId"]), "nonce": int(a["nonce"]), "vault": a["follower"],
                           "reason": a["reason"], "block_number": ev.block_number, "log_index": ev.log_index,
                           "tx_hash": ev.tx_hash, "timestamp": ev.timestamp})


def _on_followed(book: StrategyBook, ev: LogEvent, a: dict[str, Any]) -> None:
    if book.address is not None and a["strategies"] != book.address:
        return  # another deployment's strategies contract
    book.end_follow(ev.address, ev)  # following replaces what the vault followed before
    row = {"vault": ev.address, "followed_block": ev.block_number, "followed_log_index": ev.log_index,
           "strategy_id": int(a["strategyId"]), "rule": a["rule"], "followed_tx": ev.tx_hash,
           "followed_at": ev.timestamp, "ended_block": None, "ended_at": None}
    book.following[ev.address] = row
    book.dirty_follows[follow_key(row)] = row


def _on_unfollowed(book: StrategyBook, ev: LogEvent, a: dict[str, Any]) -> None:
    current = book.following.get(ev.address)
    if current is not None and current["strategy_id"] == int(a["strategyId"]):
        book.end_follow(ev.address, ev)


def _on_allocated(book: StrategyBook, ev: LogEvent, a: dict[str, Any]) -> None:
    book._allocations.append(ev)


def _on_trade(book: StrategyBook, ev: LogEvent, a: dict[str, Any]) -> None:
    book._trades.append(ev)


_HANDLERS = {
    "StrategyCreated": _on_created,
    "StrategyManagerChanged": _on_manager_changed,
    "MasterExecuted": _on_master_executed,
    "FollowerSkipped": _on_skipped,
    "StrategyFollowed": _on_followed,
    "StrategyUnfollowed": _on_unfollowed,
    "StrategyAllocated": _on_allocated,
    "TradeExecuted": _on_trade,
}


def replay_strategies(events: Iterable[LogEvent], address: str | None, factory: str | None = None) -> StrategyBook:
    """The strategy books from an event log in chain order (the vaults are those VaultCreated names)."""
    events = list(events)
    vaults = {e.args["vault"] for e in events
              if e.name == VAULT_CREATED and (factory is None or e.address == factory)}
    book = StrategyBook(address)
    for ev in events:
        if book.reads(ev, vaults):
            book.apply(ev)
    book.finish()
    return book
