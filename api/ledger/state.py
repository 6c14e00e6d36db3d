"""What a vault's books hold, and the bookkeeping every projection shares.

The projections (`redemptions`, `costs`, `holdings`, `config`) each handle the events that
change their part of these books; `book.VaultBook` runs them in order. A handler touches
(`BookState.touch`) every account it changes, before it changes it: that brings the account's
fees borne up to date at its old position, marks it for persistence and records its position
at the end of the transaction. Touching twice in one event changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from api.ledger.events import LogEvent
from api.ledger.math import FEE_INDEX_SCALE, RAY, pending_of, settled_of

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


@dataclass
class Account:
    """One investor (any holder or controller) in one vault."""

    address: str
    wallet: int = 0  # ERC-20 balance
    request_epoch: int = 0  # the live request (contract: requests[controller])
    request_units: int = 0
    past_settled_shares: int = 0  # settled parts of requests already checkpointed away
    past_settled_assets: int = 0
    claimed_shares: int = 0
    claimed_assets: int = 0
    deposited_assets: int = 0
    deposited_shares: int = 0
    deposit_count: int = 0
    shares_in: int = 0  # received from other wallets
    shares_out: int = 0  # sent to other wallets
    cost_basis: int = 0
    realised_pnl: int = 0
    fees_scaled: int = 0  # fees borne so far, times FEE_INDEX_SCALE (may dip below 0 transiently)
    fee_index: int = 0  # the vault's fee index when fees_scaled was last brought up to date
    last_position: int = 0
    first_block: int | None = None  # when the position first became non-zero
    first_log_index: int | None = None
    last_block: int = 0

    def pending(self, epochs: dict[int, Epoch]) -> int:
        if self.request_units == 0:
            return 0
        return pending_of(self.request_units, epochs[self.request_epoch].remaining_ray)

    def settled(self, epochs: dict[int, Epoch]) -> tuple[int, int]:
        """Settled (shares, assets) of the live request."""
        if self.request_units == 0:
            return 0, 0
        ep = epochs[self.request_epoch]
        return settled_of(self.request_units, ep.remaining_ray, ep.assets_per_unit_ray)

    def claimable(self, epochs: dict[int, Epoch]) -> tuple[int, int]:
        """(shares, assets) claimable: Redemptions.claimableOf."""
        s, a = self.settled(epochs)
        return (self.past_settled_shares + s - self.claimed_shares,
                self.past_settled_assets + a - self.claimed_assets)

    def position(self, epochs: dict[int, Epoch]) -> int:
        return self.wallet + self.pending(epochs)

    def fees_scaled_at(self, epochs: dict[int, Epoch], fee_index: int) -> int:
        """Fees borne up to `fee_index`, times FEE_INDEX_SCALE: the position has borne every
        increment of the index since the account was last touched."""
        return self.fees_scaled + self.position(epochs) * (fee_index - self.fee_index)

    def fees_borne(self, epochs: dict[int, Epoch], fee_index: int) -> int:
        return self.fees_scaled_at(epochs, fee_index) // FEE_INDEX_SCALE


@dataclass
class Epoch:
    """A redemption epoch (contract: EpochState) plus totals for display."""

    epoch: int
    units: int = 0
    escrow: int = 0
    remaining_ray: int = RAY
    assets_per_unit_ray: int = 0
    requested: int = 0  # shares ever queued in it
    canceled: int = 0  # shares returned by cancellations (dust included)
    rounds: int = 0
    shares_burned: int = 0
    assets_reserved: int = 0
    last_block: int = 0


@dataclass(frozen=True, slots=True)
class PositionRecord:
    account: str
    block_number: int
    log_index: int
    wallet: int
    pending: int
    position: int


@dataclass(frozen=True, slots=True)
class TradeRecord:
    seq: int
    kind: str  # signal | unwind | derisk
    block_number: int
    log_index: int
    tx_hash: str
    timestamp: int | None
    token_in: str
    token_out: str
    amount_in: int
    amount_out: int
    oracle_amount_out: int
    limit_price: int | None
    loss: int | None
    keeper: str | None
    digest: str | None
    nonce: int | None
    supply: int  # shares in supply when the trade ran (the denominator of every slice)


@dataclass(frozen=True, slots=True)
class NavRecord:
    kind: str  # fees | settlement
    block_number: int
    log_index: int
    timestamp: int | None
    nav: int
    supply: int
    price_per_share: int
    high_water_mark: int
    management_shares: int
    performance_shares: int


@dataclass
class BookState:
    """A vault's books; every integer field is a total kept in the `vault_state` table."""

    address: str
    asset: str
    config: dict[str, Any]
    supply: int = 0
    escrow: int = 0
    reserved: int = 0
    high_water_mark: int = 0
    drawdown_reference: int = 0
    holdings: dict[str, int] = field(default_factory=dict)
    last_nav: int = 0
    last_supply: int = 0
    last_pps: int = 0
    last_block: int = 0
    accrual_nav: int = 0  # the NAV of the last accrual (the base of a first deposit's entry price)
    fee_index: int = 0
    management_shares: int = 0
    performance_shares: int = 0
    fee_value: int = 0
    accruals: int = 0
    deposit_assets: int = 0
    deposit_shares: int = 0
    deposit_count: int = 0
    claimed_assets: int = 0
    claimed_shares: int = 0
    settled_assets: int = 0
    settled_shares: int = 0
    trade_count: int = 0
    event_count: int = 0
    accounts: dict[str, Account] = field(default_factory=dict)
    epochs: dict[int, Epoch] = field(default_factory=dict)
    # what changed since the last flush (the store persists and clears these)
    dirty_accounts: set[str] = field(default_factory=set)
    dirty_epochs: set[int] = field(default_factory=set)
    new_positions: list[PositionRecord] = field(default_factory=list)
    new_trades: list[TradeRecord] = field(default_factory=list)
    new_nav: list[NavRecord] = field(default_factory=list)
    _members: dict[int, set[str]] = field(default_factory=dict)  # epoch -> controllers with a live request
    _touched: dict[str, tuple[int, int]] = field(default_factory=dict)  # account -> last (block, log) in tx

    # ------------------------------------------------------------------ accounts
    def account(self, address: str) -> Account:
        acc = self.accounts.get(address)
        if acc is None:
            acc = self.accounts[address] = Account(address=address, fee_index=self.fee_index)
        return acc

    def holder(self, address: str, ev: LogEvent) -> Account | None:
        """The investor on one side of a share Transfer, touched; None for the zero address (a
        mint or burn) and for the vault's own address (the redemption escrow)."""
        if address in (ZERO_ADDRESS, self.address):
            return None
        acc = self.account(address)
        self.touch(acc, ev)
        return acc

    def touch(self, acc: Account, ev: LogEvent) -> None:
        """`acc` changes in this event: bring its fees borne up to date before anything else."""
        acc.fees_scaled = acc.fees_scaled_at(self.epochs, self.fee_index)
        acc.fee_index = self.fee_index
        acc.last_block = ev.block_number
        self.dirty_accounts.add(acc.address)
        self._touched[acc.address] = ev.position

    def flush_positions(self) -> None:
        """One position record per account and transaction (the state at the end of the tx)."""
        for address, (block, log_index) in self._touched.items():
            acc = self.accounts[address]
            pending = acc.pending(self.epochs)
            position = acc.wallet + pending
            if position != acc.last_position:
                if acc.first_block is None and position > 0:
                    acc.first_block, acc.first_log_index = block, log_index
                acc.last_position = position
                self.new_positions.append(PositionRecord(address, block, log_index, acc.wallet, pending, position))
        self._touched.clear()

    # ------------------------------------------------------------------ epochs
    def epoch(self, number: int) -> Epoch:
        """The epoch, created if new, marked for persistence."""
        ep = self.epochs.get(number)
        if ep is None:
            ep = self.epochs[number] = Epoch(epoch=number)
        self.dirty_epochs.add(number)
        return ep

    def members(self, epoch: int) -> list[Account]:
        """The controllers with a live request in `epoch`, in address order."""
        return [self.accounts[a] for a in sorted(self._members.get(epoch, ()))]

    def join(self, acc: Account) -> None:
        self._members.setdefault(acc.request_epoch, set()).add(acc.address)

    def leave(self, acc: Account) -> None:
        self._members.get(acc.request_epoch, set()).discard(acc.address)

    def restore_members(self) -> None:
        """Rebuild the epoch membership index after loading accounts from storage."""
        self._members = {}
        for acc in self.accounts.values():
            if acc.request_units:
                self.join(acc)


Handler = Callable[[BookState, LogEvent, dict[str, Any]], None]
"""What a projection does with one event of its vault: (book, event, event args)."""
