"""One vault's books, replayed event by event.

What an event does here is what it did on chain (the contract is the ground truth). Each
projection handles the events that change its part of the books (`state.BookState`):

- `costs`: cost basis, realised P&L and fees borne per investor;
- `redemptions`: requests, epochs, settlements and claims;
- `holdings`: supply, escrow, wallets, tokens held, marks, trades and NAV points;
- `config`: the vault's parameters.

An event goes to every projection that handles it, in that order: `costs` prices what moves
at the positions before the event moves them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from api.ledger import config, costs, holdings, redemptions
from api.ledger.config import initial_config
from api.ledger.events import LogEvent
from api.ledger.state import BookState, Handler

VAULT_CREATED = "VaultCreated"

_PROJECTIONS = (costs.HANDLERS, redemptions.HANDLERS, holdings.HANDLERS, config.HANDLERS)
_HANDLERS: dict[str, tuple[Handler, ...]] = {
    name: tuple(p[name] for p in _PROJECTIONS if name in p) for p in _PROJECTIONS for name in p}


@dataclass
class VaultBook(BookState):
    _tx: str = ""  # the transaction in progress

    @classmethod
    def created(cls, address: str, params: dict[str, Any]) -> VaultBook:
        return cls(address=address, asset=params["asset"], config=initial_config(params),
                   holdings={params["asset"]: 0})

    def apply(self, ev: LogEvent) -> None:
        if ev.tx_hash != self._tx:
            self.flush_positions()
            self._tx = ev.tx_hash
        self.event_count += 1
        self.last_block = ev.block_number
        for handler in _HANDLERS.get(ev.name, ()):
            handler(self, ev, ev.args)

    def finish(self) -> None:
        """Close the transaction in progress (call at the end of every batch)."""
        self.flush_positions()
        self._tx = ""


def replay(events: Iterable[LogEvent], factory: str | None = None) -> dict[str, VaultBook]:
    """Every vault's book from an event log ordered by (block, log index).

    A vault's constructor logs come before the factory's VaultCreated in the same
    transaction, so the factory events are read first to know which emitters are vaults.
    """
    events = list(events)
    created = {e.args["vault"]: e.args["params"] for e in events
               if e.name == VAULT_CREATED and (factory is None or e.address == factory)}
    books: dict[str, VaultBook] = {}
    for ev in events:
        params = created.get(ev.address)
        if params is None:
            continue  # the factory itself, or an emitter no VaultCreated announced
        book = books.get(ev.address)
        if book is None:
            book = books[ev.address] = VaultBook.created(ev.address, params)
        book.apply(ev)
    for vault, params in created.items():
        books.setdefault(vault, VaultBook.created(vault, params))
    for book in books.values():
        book.finish()
    return books
