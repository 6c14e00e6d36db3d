"""The vault's own side of the books: shares in supply and in escrow, every wallet's shares,
the tokens held, the marks (high-water mark, drawdown reference) and the history of trades
and NAV points.

Transfer mints and burns change the supply; transfers to and from the vault's own address are
the redemption escrow; every other side is an investor's wallet. Deposit adds base holdings;
FeesAccrued records the NAV point and the marks; TradeExecuted and LiquiditySold move
holdings; RedemptionsSettled moves base holdings into reserved assets (see `redemptions`).
"""

from __future__ import annotations

from typing import Any

from api.ledger.events import LogEvent
from api.ledger.math import price_per_share
from api.ledger.redemptions import settled_nothing
from api.ledger.state import ZERO_ADDRESS, BookState, Handler, NavRecord, TradeRecord
from cohort.onchain import SaleReason


def _sale_kind(code: int) -> str:
    """The trade kind a LiquiditySold is booked as (cohort.onchain.SaleReason)."""
    try:
        return SaleReason(code).kind
    except ValueError:  # a reason code newer than this indexer
        return "sale"


def _add(book: BookState, token: str, amount: int) -> None:
    book.holdings[token] = book.holdings.get(token, 0) + amount


def _on_transfer(book: BookState, ev: LogEvent, a: dict[str, Any]) -> None:
    frm, to, value = a["from"], a["to"], int(a["value"])
    if frm == ZERO_ADDRESS:
        book.supply += value
    elif frm == book.address:
        book.escrow -= value
    if to == ZERO_ADDRESS:
        book.supply -= value
    elif to == book.address:
        book.escrow += value
    src, dst = book.holder(frm, ev), book.holder(to, ev)
    if src is not None:
        src.wallet -= value
        if dst is not None:
            src.shares_out += value
    if dst is not None:
        dst.wallet += value
        if src is not None:
            dst.shares_in += value


def _on_deposit(book: BookState, ev: LogEvent, a: dict[str, Any]) -> None:
    assets, shares = int(a["assets"]), int(a["shares"])
    _add(book, book.asset, assets)
    book.deposit_assets += assets
    book.deposit_shares += shares
    book.deposit_count += 1
    if book.supply - shares == 0:
        # the first shares of an empty vault: both marks start at the entry price
        entry = price_per_share(book.accrual_nav + assets, shares)
        book.high_water_mark = book.drawdown_reference = entry


def _on_fees_accrued(book: BookState, ev: LogEvent, a: dict[str, Any]) -> None:
    nav, supply, pps, hwm = int(a["nav"]), int(a["supply"]), int(a["pricePerShare"]), int(a["highWaterMark"])
    if hwm != book.high_water_mark:
        book.high_water_mark = hwm
        book.drawdown_reference = max(hwm, book.drawdown_reference)
    book.accrual_nav = nav
    book.last_nav, book.last_supply, book.last_pps = nav, supply, pps
    book.new_nav.append(NavRecord("fees", ev.block_number, ev.log_index, ev.timestamp, nav, supply, pps, hwm,
                                  int(a["managementShares"]), int(a["performanceShares"])))


def _on_settled(book: BookState, ev: LogEvent, a: dict[str, Any]) -> None:
    if settled_nothing(a):
        return
    nav, supply = int(a["nav"]), int(a["supply"])
    _add(book, book.asset, -int(a["assetsReserved"]))
    book.new_nav.append(NavRecord("settlement", ev.block_number, ev.log_index, ev.timestamp, nav, supply,
                                  price_per_share(nav, supply), book.high_water_mark, 0, 0))


def _on_trade(book: BookState, ev: LogEvent, a: dict[str, Any]) -> None:
    tin, tout = a["tokenIn"], a["tokenOut"]
    amount_in, amount_out = int(a["amountIn"]), int(a["amountOut"])
    _add(book, tin, -amount_in)
    _add(book, tout, amount_out)
    book.trade_count += 1
    book.new_trades.append(TradeRecord(
        book.trade_count, "signal", ev.block_number, ev.log_index, ev.tx_hash, ev.timestamp, tin, tout,
        amount_in, amount_out, int(a["oracleAmountOut"]), int(a["limitPrice"]), int(a["loss"]),
        a["keeper"], a["digest"], int(a["nonce"]), book.supply))


def _on_liquidity_sold(book: BookState, ev: LogEvent, a: dict[str, Any]) -> None:
    asset, amount_in, amount_out = a["asset"], int(a["amountIn"]), int(a["amountOut"])
    _add(book, asset, -amount_in)
    _add(book, book.asset, amount_out)
    book.trade_count += 1
    book.new_trades.append(TradeRecord(
        book.trade_count, _sale_kind(int(a["reason"])), ev.block_number, ev.log_index,
        ev.tx_hash, ev.timestamp, asset, book.asset, amount_in, amount_out, int(a["oracleAmountOut"]),
        None, None, None, None, None, book.supply))


def _on_asset_listed(book: BookState, ev: LogEvent, a: dict[str, Any]) -> None:
    book.holdings.setdefault(a["asset"], 0)


def _on_risk_off_exited(book: BookState, ev: LogEvent, a: dict[str, Any]) -> None:
    book.drawdown_reference = int(a["newReference"])


HANDLERS: dict[str, Handler] = {
    "Transfer": _on_transfer,
    "Deposit": _on_deposit,
    "FeesAccrued": _on_fees_accrued,
    "RedemptionsSettled": _on_settled,
    "TradeExecuted": _on_trade,
    "LiquiditySold": _on_liquidity_sold,
    "AssetListed": _on_asset_listed,
    "RiskOffExited": _on_risk_off_exited,
}
