"""The redemption queue: requests, epochs, settlements and claims (Redemptions.sol).

A request is checkpointed (and deleted once fully settled) exactly when the contract does it:
when its controller requests again, cancels or claims. That keeps `redeemRequestOf` equal to
the contract's, including its lazily deleted requests. A settlement applies its epoch's new
cumulative fractions to every request of the epoch at once (Redemptions.settledOf).
"""

from __future__ import annotations

from typing import Any

from api.ledger.events import LogEvent
from api.ledger.math import RAY, pending_of, settled_of
from api.ledger.state import Account, BookState, Handler


def settled_nothing(a: dict[str, Any]) -> bool:
    """A RedemptionsSettled of an epoch with nothing left in escrow: only its queue head moved."""
    return int(a["sharesBurned"]) == 0 and int(a["assetsReserved"]) == 0 and int(a["nav"]) == 0 \
        and int(a["supply"]) == 0


def _checkpoint(book: BookState, acc: Account) -> None:
    """Redemptions.checkpoint: a fully settled request leaves the books of its epoch."""
    if acc.request_units == 0:
        return
    ep = book.epochs[acc.request_epoch]
    if pending_of(acc.request_units, ep.remaining_ray) != 0:
        return
    shares, assets = settled_of(acc.request_units, ep.remaining_ray, ep.assets_per_unit_ray)
    acc.past_settled_shares += shares
    acc.past_settled_assets += assets
    book.leave(acc)
    acc.request_epoch = acc.request_units = 0


def _close(book: BookState, acc: Account) -> None:
    """Move the settled part of the live request to the past and delete the request."""
    shares, assets = acc.settled(book.epochs)
    acc.past_settled_shares += shares
    acc.past_settled_assets += assets
    book.leave(acc)
    acc.request_epoch = acc.request_units = 0


def _on_queued(book: BookState, ev: LogEvent, a: dict[str, Any]) -> None:
    acc = book.account(a["controller"])
    epoch, shares = int(a["epoch"]), int(a["shares"])
    book.touch(acc, ev)
    _checkpoint(book, acc)
    if acc.request_units and acc.request_epoch != epoch:
        _close(book, acc)  # the contract reverts before this; kept for safety
    ep = book.epoch(epoch)
    if ep.remaining_ray == 0:
        ep.remaining_ray = RAY
    ep.units += shares
    ep.escrow += shares
    ep.requested += shares
    ep.last_block = ev.block_number
    acc.request_epoch = epoch
    acc.request_units += shares
    book.join(acc)


def _on_canceled(book: BookState, ev: LogEvent, a: dict[str, Any]) -> None:
    acc = book.account(a["controller"])
    book.touch(acc, ev)
    _checkpoint(book, acc)
    ep = book.epoch(int(a["epoch"]))
    ep.units -= acc.request_units
    ep.escrow -= int(a["shares"])
    ep.canceled += int(a["shares"])
    ep.last_block = ev.block_number
    _close(book, acc)


def _on_withdraw(book: BookState, ev: LogEvent, a: dict[str, Any]) -> None:
    acc = book.account(a["owner"])  # the controller whose claim is paid
    book.touch(acc, ev)
    _checkpoint(book, acc)
    assets, shares = int(a["assets"]), int(a["shares"])
    acc.claimed_assets += assets
    acc.claimed_shares += shares
    book.reserved -= assets
    book.claimed_assets += assets
    book.claimed_shares += shares


def _on_settled(book: BookState, ev: LogEvent, a: dict[str, Any]) -> None:
    if settled_nothing(a):
        return
    burned, assets = int(a["sharesBurned"]), int(a["assetsReserved"])
    ep = book.epoch(int(a["epoch"]))
    for acc in book.members(ep.epoch):
        book.touch(acc, ev)  # their pending shares shrink
    ep.remaining_ray, ep.assets_per_unit_ray = int(a["remainingRay"]), int(a["assetsPerUnitRay"])
    ep.escrow = int(a["escrowRemaining"])
    ep.rounds += 1
    ep.shares_burned += burned
    ep.assets_reserved += assets
    ep.last_block = ev.block_number
    book.reserved += assets
    book.settled_assets += assets
    book.settled_shares += burned


HANDLERS: dict[str, Handler] = {
    "RedeemRequestQueued": _on_queued,
    "RedeemRequestCanceled": _on_canceled,
    "Withdraw": _on_withdraw,
    "RedemptionsSettled": _on_settled,
}
