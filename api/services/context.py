"""Loading what a request needs: the indexed head, a vault's books and its valuation.

Every request reads inside one database transaction (a consistent snapshot: see api.db), so
the head, the books and the valuation all describe the same indexed block. Vault contexts
(book totals, parameters, tokens and the chain snapshot) are cached per (vault, indexed block
hash): while the indexer is idle, repeated requests cost no chain read and a few queries.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from api import models
from api.errors import NotFound
from api.ledger.state import Account, Epoch
from api.rows import ACCOUNT_FIELDS, BOOK_FIELDS, EPOCH_FIELDS, account_from_row, epoch_from_row
from api.schemas.common import TokenOut
from api.services.chain import ChainReader, VaultSnapshot, events_snapshot
from cohort.errors import ChainUnavailable

SAFE_INT = 2**53


def jsonable(value: Any) -> Any:
    """JSON with every integer as a decimal string (JavaScript's numbers stop at 2**53)."""
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return str(value)


@dataclass(frozen=True)
class Head:
    block_number: int
    block_hash: str | None
    reorgs: int

    @property
    def key(self) -> tuple[int, str | None, int]:
        return (self.block_number, self.block_hash, self.reorgs)


# The per-request reads of the MAM view are Core statements built once, run on the session's
# connection: the ORM's identity map and unit of work cost more than the query itself there.
_STATE = models.IndexerState.__table__.c
_HEAD = select(_STATE.cursor_block, _STATE.cursor_hash, _STATE.reorg_count).where(_STATE.id == 1)
_ACCOUNTS = models.Account.__table__.c
_ACCOUNT = select(*(_ACCOUNTS[f] for f in ACCOUNT_FIELDS)).where(
    _ACCOUNTS.vault == bindparam("vault"), _ACCOUNTS.address == bindparam("address"))
_EPOCHS = models.Epoch.__table__.c
_EPOCH = select(*(_EPOCHS[f] for f in EPOCH_FIELDS)).where(_EPOCHS.vault == bindparam("vault"),
                                                            _EPOCHS.epoch == bindparam("epoch"))


def load_head(session: Session) -> Head:
    row = session.connection().execute(_HEAD).first()
    if row is None:
        return Head(-1, None, 0)
    return Head(row.cursor_block, row.cursor_hash, row.reorg_count)


def token_of(tokens: dict[str, TokenOut], address: str) -> TokenOut:
    """A token's metadata, or a placeholder (its address as the symbol, 18 decimals) for one not indexed."""
    return tokens.get(address) or TokenOut(address=address, symbol=address[:10], decimals=18)


@dataclass
class VaultContext:
    address: str
    name: str
    symbol: str
    asset: str
    creator: str
    created_block: int
    created_tx: str
    params: dict[str, Any]
    config: dict[str, Any]
    totals: dict[str, int]
    holdings: dict[str, int]
    tokens: dict[str, TokenOut]
    snapshot: VaultSnapshot
    investors: int
    head: Head
    cache: dict[str, Any] = field(default_factory=dict)  # per-context memo (e.g. the manager view)

    def token(self, address: str) -> TokenOut:
        return token_of(self.tokens, address)

    @property
    def supply(self) -> int:
        return self.totals["supply"]

    @property
    def fee_index(self) -> int:
        return self.totals["fee_index"]


class ContextCache:
    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._items: OrderedDict[tuple[Any, ...], VaultContext] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> VaultContext | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: tuple[Any, ...], value: VaultContext) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def all_tokens(session: Session) -> dict[str, TokenOut]:
    return {t.address: TokenOut(address=t.address, symbol=t.symbol, decimals=t.decimals)
            for t in session.scalars(select(models.Token))}


def load_vault(session: Session, chain: ChainReader, cache: ContextCache, address: str,
               head: Head | None = None) -> VaultContext:
    """The vault's context at the indexed head; NotFound if the indexer never saw it."""
    head = head or load_head(session)
    key = (address, *head.key)
    hit = cache.get(key)
    if hit is not None:
        return hit
    vault = session.get(models.Vault, address)
    state = session.get(models.VaultState, address)
    if vault is None or state is None:
        raise NotFound(f"no vault {address} is indexed")
    rows = session.scalars(select(models.Holding).where(models.Holding.vault == address))
    holdings = {h.token: h.amount for h in rows}
    config = json.loads(state.config)
    totals = {f: int(getattr(state, f)) for f in BOOK_FIELDS}
    investors = session.scalar(select(func.count()).select_from(models.Account)
                               .where(models.Account.vault == address, models.Account.last_position > 0)) or 0
    snapshot = _snapshot(chain, address, head, vault.asset, holdings, config, totals)
    ctx = VaultContext(address=address, name=vault.name, symbol=vault.symbol, asset=vault.asset,
                       creator=vault.creator, created_block=vault.created_block, created_tx=vault.created_tx,
                       params=json.loads(vault.params), config=config, totals=totals, holdings=holdings,
                       tokens=all_tokens(session), snapshot=snapshot, investors=int(investors), head=head)
    if snapshot.source == "chain":
        cache.put(key, ctx)  # a fallback is not kept: the next request tries the node again
    return ctx


def _snapshot(chain: ChainReader, vault: str, head: Head, base: str, holdings: dict[str, int],
              config: dict[str, Any], totals: dict[str, int]) -> VaultSnapshot:
    limits = config.get("riskLimits") or {}
    if head.block_hash is not None:
        try:
            return chain.snapshot(vault, head.block_hash, base, holdings, config.get("oracle") or "",
                                  int(limits.get("twapWindow", 1800)))
        except ChainUnavailable:
            pass
    return events_snapshot(totals["last_nav"], totals["last_supply"])


def vault_exists(session: Session, address: str) -> bool:
    return session.get(models.Vault, address) is not None


def load_epochs(session: Session, vault: str, numbers: set[int] | None = None) -> dict[int, Epoch]:
    if numbers is not None and len(numbers) == 1:  # one investor's request: the hot path
        (number,) = numbers
        row = session.connection().execute(_EPOCH, {"vault": vault, "epoch": number}).first()
        return {} if row is None else {number: Epoch(*row)}
    query = select(models.Epoch).where(models.Epoch.vault == vault)
    if numbers is not None:
        if not numbers:
            return {}
        query = query.where(models.Epoch.epoch.in_(numbers))
    return {row.epoch: epoch_from_row(row) for row in session.scalars(query)}


def load_account(session: Session, vault: str, address: str) -> Account | None:
    row = session.connection().execute(_ACCOUNT, {"vault": vault, "address": address}).first()
    return None if row is None else Account(*row)


def load_accounts(session: Session, vault: str) -> list[Account]:
    rows = session.scalars(select(models.Account).where(models.Account.vault == vault))
    return [account_from_row(r) for r in rows]
