"""Each investor's cost basis, realised P&L and fees borne (documented in the API too).

- *Position* (bearing shares) = wallet shares + shares still pending in a redemption: both
  are in supply and bear gains, losses and fee dilution.
- *Cost basis* by the average-cost method: a deposit adds the assets paid; a settlement
  releases `cost * settled_shares / position` (floor) and realises `assets - released`;
  a share transfer carries `cost * shares / position` (floor) from sender to receiver (no
  P&L is realised: nothing was paid); fee shares come at zero cost.
- *Fees borne*: at each accrual minting `m` shares at NAV `n` with supply `S` after the
  mint, every position `p` (before the mint) bears `p * m * n / (S * (S - m))`. The book
  keeps a fee index that grows by `floor(m * n * 1e36 / (S * (S - m)))` per accrual and
  reports `floor(sum(p * index_delta) / 1e36)` asset units (see `math.fee_index_increment`).

These handlers price what moves at the positions before the event moves them, so `book`
runs them before the other projections.
"""

from __future__ import annotations

from typing import Any

from api.ledger.events import LogEvent
from api.ledger.math import RAY, fee_index_increment, fee_value, pending_of, pro_rata
from api.ledger.redemptions import settled_nothing
from api.ledger.state import ZERO_ADDRESS, BookState, Handler


def _on_transfer(book: BookState, ev: LogEvent, a: dict[str, Any]) -> None:
    src, dst = book.holder(a["from"], ev), book.holder(a["to"], ev)
    if src is None or (dst is None and a["to"] != ZERO_ADDRESS):
        return  # a mint, or shares into the escrow (their cost joins the request at RedeemRequest)
    # the cost basis travels with the shares (average cost)
    moved = pro_rata(src.cost_basis, int(a["value"]), src.position(book.epochs))
    src.cost_basis -= moved
    if dst is not None:
        dst.cost_basis += moved
    else:
        src.realised_pnl -= moved  # a burn from a wallet pays nothing (CohortVault never does it)


def _on_deposit(book: BookState, ev: LogEvent, a: dict[str, Any]) -> None:
    assets, shares = int(a["assets"]), int(a["shares"])
    acc = book.account(a["owner"])
    book.touch(acc, ev)
    acc.cost_basis += assets
    acc.deposited_assets += assets
    acc.deposited_shares += shares
    acc.deposit_count += 1


def _on_fees_accrued(book: BookState, ev: LogEvent, a: dict[str, Any]) -> None:
    management, performance = int(a["managementShares"]), int(a["performanceShares"])
    nav, supply = int(a["nav"]), int(a["supply"])
    minted = management + performance
    increment = fee_index_increment(minted, nav, supply)
    book.fee_index += increment
    recipient = book.config.get("feeRecipient")
    if minted and recipient in book.accounts:
        # the recipient's mint (the Transfer just before) must not bear its own dilution
        book.accounts[recipient].fees_scaled -= minted * increment
    book.management_shares += management
    book.performance_shares += performance
    book.fee_value += fee_value(minted, nav, supply)
    book.accruals += 1


def _on_redeem_request(book: BookState, ev: LogEvent, a: dict[str, Any]) -> None:
    controller, owner, shares = a["controller"], a["owner"], int(a["shares"])
    if owner == controller:
        return
    # shares escrowed from `owner` join `controller`'s request: so does their cost
    src, dst = book.account(owner), book.account(controller)
    book.touch(src, ev)
    book.touch(dst, ev)
    moved = pro_rata(src.cost_basis, shares, src.position(book.epochs) + shares)
    src.cost_basis -= moved
    dst.cost_basis += moved


def _on_settled(book: BookState, ev: LogEvent, a: dict[str, Any]) -> None:
    if settled_nothing(a):
        return
    number, r_new, alpha_new = int(a["epoch"]), int(a["remainingRay"]), int(a["assetsPerUnitRay"])
    members = book.members(number)
    if not members:
        return
    ep = book.epochs[number]  # as it was before this settlement (`redemptions` updates it next)
    for acc in members:
        book.touch(acc, ev)
        units = acc.request_units
        pending_before = pending_of(units, ep.remaining_ray)
        shares = pending_before - pending_of(units, r_new)
        paid = units * alpha_new // RAY - units * ep.assets_per_unit_ray // RAY
        released = pro_rata(acc.cost_basis, shares, acc.wallet + pending_before)
        acc.cost_basis -= released
        acc.realised_pnl += paid - released


HANDLERS: dict[str, Handler] = {
    "Transfer": _on_transfer,
    "Deposit": _on_deposit,
    "FeesAccrued": _on_fees_accrued,
    "RedeemRequest": _on_redeem_request,
    "RedemptionsSettled": _on_settled,
}
