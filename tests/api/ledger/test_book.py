"""The book replays events as the contracts change their state; the cases the scenario does
not isolate are checked here on hand-made events."""

from __future__ import annotations

import itertools
from typing import Any

from api.ledger.book import VaultBook, replay
from api.ledger.events import LogEvent
from api.ledger.math import FEE_INDEX_SCALE, RAY
from api.ledger.state import ZERO_ADDRESS

VAULT = "0x" + "aa" * 20
BASE = "0x" + "bb" * 20
FEES = "0x" + "fe" * 20
A = "0x" + "01" * 20
B = "0x" + "02" * 20
_tx = itertools.count(1)


def ev(name: str, **args: Any) -> LogEvent:
    n = next(_tx)
    return LogEvent(address=VAULT, name=name, args=args, block_number=n, block_hash="0x" + f"{n:064x}",
                    tx_hash="0x" + f"{n:064x}", tx_index=0, log_index=0)


def book() -> VaultBook:
    b = VaultBook.created(VAULT, {"asset": BASE, "name": "T", "symbol": "T", "oracle": "0x" + "cc" * 20})
    b.apply(ev("FeeRecipientSet", recipient=FEES))
    return b


def deposit(b: VaultBook, who: str, assets: int, shares: int) -> None:
    b.apply(ev("FeesAccrued", managementShares=0, performanceShares=0, nav=b.holdings[BASE], supply=b.supply,
               pricePerShare=0, highWaterMark=b.high_water_mark))
    b.apply(ev("Transfer", **{"from": ZERO_ADDRESS, "to": who, "value": shares}))
    b.apply(ev("Deposit", sender=who, owner=who, assets=assets, shares=shares))


def request(b: VaultBook, owner: str, controller: str, shares: int, epoch: int = 1) -> None:
    b.apply(ev("Transfer", **{"from": owner, "to": VAULT, "value": shares}))
    b.apply(ev("RedeemRequest", controller=controller, owner=owner, requestId=0, sender=owner, shares=shares))
    b.apply(ev("RedeemRequestQueued", controller=controller, epoch=epoch, shares=shares))


def settle(b: VaultBook, burned: int, assets: int, remaining: int, alpha: int, epoch: int = 1) -> None:
    b.apply(ev("Transfer", **{"from": VAULT, "to": ZERO_ADDRESS, "value": burned}))
    b.apply(ev("RedemptionsSettled", epoch=epoch, sharesBurned=burned, assetsReserved=assets, nav=1, supply=1,
               escrowRemaining=b.escrow, remainingRay=remaining, assetsPerUnitRay=alpha))


def test_a_fully_settled_request_stays_until_its_controller_checkpoints() -> None:
    b = book()
    deposit(b, A, 100, 100)
    request(b, A, A, 40)
    settle(b, 40, 44, 0, 44 * RAY // 40)
    acc = b.accounts[A]
    # as redeemRequestOf says: the request is still there (epoch 1, 40 units), nothing pending
    assert (acc.request_epoch, acc.request_units, acc.pending(b.epochs)) == (1, 40, 0)
    assert acc.claimable(b.epochs) == (40, 44)
    b.apply(ev("Withdraw", sender=A, receiver=A, owner=A, assets=44, shares=40))
    assert (acc.request_epoch, acc.request_units, acc.claimable(b.epochs)) == (0, 0, (0, 0))
    assert b.reserved == 0 and b.supply == 60 and b.holdings[BASE] == 56


def test_a_partial_settlement_realises_the_average_cost_of_the_settled_part() -> None:
    b = book()
    deposit(b, A, 100, 100)
    request(b, A, A, 50)
    settle(b, 25, 30, RAY // 2, 30 * RAY // 50)
    acc = b.accounts[A]
    assert acc.pending(b.epochs) == 25 and acc.claimable(b.epochs) == (25, 30)
    assert acc.cost_basis == 75 and acc.realised_pnl == 30 - 25


def test_transferred_shares_carry_their_cost_and_realise_nothing() -> None:
    b = book()
    deposit(b, A, 100, 100)
    b.apply(ev("Transfer", **{"from": A, "to": B, "value": 25}))
    assert (b.accounts[A].cost_basis, b.accounts[B].cost_basis) == (75, 25)
    assert b.accounts[A].realised_pnl == b.accounts[B].realised_pnl == 0
    request(b, B, A, 10)  # B's shares join A's request: so does their cost
    assert (b.accounts[A].cost_basis, b.accounts[B].cost_basis) == (85, 15)
    assert b.accounts[A].position(b.epochs) == 85 and b.accounts[B].position(b.epochs) == 15


def test_a_cancelled_request_returns_its_shares_to_the_wallet() -> None:
    b = book()
    deposit(b, A, 100, 100)
    request(b, A, A, 30)
    b.apply(ev("Transfer", **{"from": VAULT, "to": A, "value": 30}))
    b.apply(ev("RedeemRequestCanceled", controller=A, epoch=1, shares=30))
    acc = b.accounts[A]
    assert (acc.wallet, acc.pending(b.epochs), acc.request_units, b.escrow) == (100, 0, 0, 0)
    assert b.epochs[1].units == 0 and acc.cost_basis == 100


def test_fees_are_borne_pro_rata_and_never_by_the_recipients_own_mint() -> None:
    b = book()
    deposit(b, A, 300, 300)
    deposit(b, B, 100, 100)
    minted, nav = 40, 400
    b.apply(ev("Transfer", **{"from": ZERO_ADDRESS, "to": FEES, "value": minted}))
    b.apply(ev("FeesAccrued", managementShares=minted, performanceShares=0, nav=nav, supply=440,
               pricePerShare=0, highWaterMark=0))
    value = minted * nav // 440  # the minted shares at the price after the mint
    a, bb, fees = (b.accounts[x].fees_borne(b.epochs, b.fee_index) for x in (A, B, FEES))
    assert (a, bb, fees) == (value * 3 // 4, value // 4, 0)
    b.apply(ev("Transfer", **{"from": ZERO_ADDRESS, "to": FEES, "value": 44}))
    b.apply(ev("FeesAccrued", managementShares=44, performanceShares=0, nav=nav, supply=484,
               pricePerShare=0, highWaterMark=0))
    increment = 44 * nav * FEE_INDEX_SCALE // (484 * 440)
    assert b.accounts[FEES].fees_borne(b.epochs, b.fee_index) == minted * increment // FEE_INDEX_SCALE


def test_the_first_deposit_sets_the_high_water_mark_at_the_entry_price() -> None:
    b = book()
    deposit(b, A, 10**6, 10**12)
    assert b.high_water_mark == b.drawdown_reference == 10**18


def test_replay_opens_books_only_for_vaults_the_factory_announced() -> None:
    factory = "0x" + "fa" * 20
    created = LogEvent(address=factory, name="VaultCreated", args={"vault": VAULT, "params": {
        "asset": BASE, "name": "T", "symbol": "T", "oracle": "0x" + "cc" * 20}}, block_number=1,
        block_hash="0x" + "00" * 32, tx_hash="0x" + "01" * 32, tx_index=0, log_index=5)
    stranger = LogEvent(address="0x" + "99" * 20, name="Transfer", args={"from": ZERO_ADDRESS, "to": A, "value": 1},
                        block_number=2, block_hash="0x" + "00" * 32, tx_hash="0x" + "02" * 32, tx_index=0,
                        log_index=0)
    books = replay([created, stranger, ev("Transfer", **{"from": ZERO_ADDRESS, "to": A, "value": 7})], factory)
    assert list(books) == [VAULT] and books[VAULT].supply == 7
