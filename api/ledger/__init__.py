"""The books of a vault, rebuilt from its events alone: pure code, no I/O.

`VaultBook.apply` replays one decoded event exactly as the contracts change their state
(contracts/libraries/{Accounting,Redemptions,FeeMath}.sol are the ground truth); `replay`
builds every vault's book from an ordered event list. The indexer keeps books in memory and
persists them; the reconciliation replays the raw event log to check the chain.

Imports run one way: `events`, `math` <- `state` <- `redemptions` <- `costs`, `holdings`;
`state` <- `config`; all of them <- `book`.
"""

from api.ledger.book import VaultBook, replay
from api.ledger.events import LogEvent
from api.ledger.state import Account, Epoch, NavRecord, PositionRecord, TradeRecord

__all__ = ["Account", "Epoch", "LogEvent", "NavRecord", "PositionRecord", "TradeRecord", "VaultBook", "replay"]
