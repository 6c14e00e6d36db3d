"""The multi-account view: an investor's figures in one vault, and their allocation tickets.
Pure functions over the books and a valuation snapshot (no I/O).

Definitions (amounts in the vault's asset units, shares in share units):
- position = wallet shares + shares pending in a redemption (both bear the vault's P&L);
- position value = convertToAssets(position) at the indexed block (rounded down, the fee
  shares an accrual would mint now included, exactly as the vault prices);
- equity = position value + claimable assets (settled, not yet claimed);
- net deposits = assets deposited - assets claimed;
- realised P&L: at each settlement, assets received - the cost released (average cost);
  unrealised P&L = position value - remaining cost basis; total = realised + unrealised
  (= equity - net deposits when no shares moved between wallets);
- fees borne: the investor's share of every fee mint's dilution (see api.ledger.costs);
- a ticket is the investor's slice of one trade: position / supply at the trade, times the
  trade's amounts (rounded down), at the trade's own execution price.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from api.ledger.math import pro_rata, ratio
from api.ledger.state import Account, Epoch
from api.services.chain import VaultSnapshot


@dataclass(frozen=True)
class Figures:
    address: str
    wallet: int
    pending: int
    position: int
    request_epoch: int
    requested: int
    claimable_shares: int
    claimable_assets: int
    position_value: int
    equity: int
    pool_share: str
    deposited_assets: int
    claimed_assets: int
    net_deposits: int
    cost_basis: int
    realised_pnl: int
    unrealised_pnl: int
    total_pnl: int
    fees_borne: int
    shares_in: int
    shares_out: int
    first_block: int | None
    first_log_index: int | None
    last_block: int

    @property
    def redemption_state(self) -> str:
        pending, claimable = self.pending > 0, self.claimable_shares > 0 or self.claimable_assets > 0
        if pending and claimable:
            return "pending+claimable"
        return "pending" if pending else "claimable" if claimable else "none"


def figures(acc: Account, epochs: dict[int, Epoch], fee_index: int, supply: int, snap: VaultSnapshot) -> Figures:
    pending = acc.pending(epochs)
    position = acc.wallet + pending
    claimable_shares, claimable_assets = acc.claimable(epochs)
    value = snap.value(position)
    unrealised = value - acc.cost_basis
    return Figures(
        address=acc.address, wallet=acc.wallet, pending=pending, position=position,
        request_epoch=acc.request_epoch, requested=acc.request_units, claimable_shares=claimable_shares,
        claimable_assets=claimable_assets, position_value=value, equity=value + claimable_assets,
        pool_share=ratio(position, supply), deposited_assets=acc.deposited_assets,
        claimed_assets=acc.claimed_assets, net_deposits=acc.deposited_assets - acc.claimed_assets,
        cost_basis=acc.cost_basis, realised_pnl=acc.realised_pnl, unrealised_pnl=unrealised,
        total_pnl=acc.realised_pnl + unrealised, fees_borne=acc.fees_borne(epochs, fee_index),
        shares_in=acc.shares_in, shares_out=acc.shares_out, first_block=acc.first_block,
        first_log_index=acc.first_log_index, last_block=acc.last_block)


@dataclass(frozen=True)
class TradeView:
    seq: int
    block_number: int
    log_index: int
    amount_in: int
    amount_out: int
    supply: int


@dataclass(frozen=True)
class Slice:
    seq: int
    position: int
    supply: int
    amount_in: int
    amount_out: int
    pool_share: str


def position_at(history: Sequence[tuple[int, int, int]], block: int, log_index: int) -> int:
    """The position recorded last before (block, log index); history is sorted
    (block, log index, position) rows."""
    i = bisect_left(history, (block, log_index, -1))
    return history[i - 1][2] if i > 0 else 0


def slices(history: Sequence[tuple[int, int, int]], trades: Sequence[TradeView]) -> list[Slice]:
    out = []
    for t in trades:
        position = position_at(history, t.block_number, t.log_index)
        out.append(Slice(seq=t.seq, position=position, supply=t.supply,
                         amount_in=pro_rata(t.amount_in, position, t.supply),
                         amount_out=pro_rata(t.amount_out, position, t.supply),
                         pool_share=ratio(position, t.supply)))
    return out
