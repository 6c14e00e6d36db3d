"""One vault's books, replayed event by event.

What an event does here is what it did on chain (the contract is the ground truth):

- Transfer mints and burns change the supply; transfers to and from the vault's own address
  are the redemption escrow; every other side is an investor's wallet.
- Deposit adds base holdings and the investor's cost; FeesAccrued records fee shares, the
  NAV point and the high-water mark; TradeExecuted and LiquiditySold move holdings;
  RedemptionsSettled moves base holdings into reserved assets and settles the requests of
  its epoch with the epoch's cumulative fractions (Redemptions.settledOf); Withdraw is a claim.
- A request is checkpointed (and deleted once fully settled) exactly when the contract does
  it: when its controller requests again, cancels or claims. That keeps `redeemRequestOf`
  equal to the contract's, including its lazily deleted requests.

Investor accounting (documented in the API too):

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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from api.ledger.events import LogEvent
from api.ledger.math import (
    FEE_INDEX_SCALE,
    RAY,
    fee_index_increment,
    fee_value,
    pending_of,
    price_per_share,
    pro_rata,
    settled_of,
)

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
LIQUIDITY_REASONS = {0: "unwind", 1: "derisk"}


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

    def fees_borne(self, epochs: dict[int, Epoch], fee_index: int) -> int:
        scaled = self.fees_scaled + self.position(epochs) * (fee_index - self.fee_index)
        return scaled // FEE_INDEX_SCALE


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


def initial_config(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters a vault starts with (VaultCreated.params), before its setters replay."""
    return {
        "asset": params["asset"], "name": params["name"], "symbol": params["symbol"],
        "oracle": params["oracle"], "owner": None, "manager": None, "guardian": None,
        "feeRecipient": None, "managementFeeBps": 0, "performanceFeeBps": 0,
        "riskLimits": None, "depositCap": 0, "minDeposit": 0, "noticePeriod": 0, "gateBps": 0,
        "timelock": 0, "paused": False, "riskOff": False, "keepers": [], "adapters": [],
        "listedAssets": [], "exitRoutes": {},
    }


@dataclass
class VaultBook:
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
    _tx: str = ""
    accrual_nav: int = 0

    # ------------------------------------------------------------------ construction
    @classmethod
    def created(cls, address: str, params: dict[str, Any]) -> VaultBook:
        return cls(address=address, asset=params["asset"], config=initial_config(params),
                   holdings={params["asset"]: 0})

    def restore_members(self) -> None:
        """Rebuild the epoch membership index after loading accounts from storage."""
        self._members = {}
        for acc in self.accounts.values():
            if acc.request_units:
                self._members.setdefault(acc.request_epoch, set()).add(acc.address)

    # ------------------------------------------------------------------ helpers
    def account(self, address: str) -> Account:
        acc = self.accounts.get(address)
        if acc is None:
            acc = self.accounts[address] = Account(address=address, fee_index=self.fee_index)
        return acc

    def _touch(self, acc: Account, ev: LogEvent) -> None:
        """`acc` changed in this event: bring its fees borne up to date before anything else."""
        acc.fees_scaled += acc.position(self.epochs) * (self.fee_index - acc.fee_index)
        acc.fee_index = self.fee_index
        acc.last_block = ev.block_number
        self.dirty_accounts.add(acc.address)
        self._touched[acc.address] = ev.position

    def _flush_positions(self) -> None:
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

    def finish(self) -> None:
        """Close the transaction in progress (call at the end of every batch)."""
        self._flush_positions()
        self._tx = ""

    def _epoch(self, number: int) -> Epoch:
        ep = self.epochs.get(number)
        if ep is None:
            ep = self.epochs[number] = Epoch(epoch=number)
        self.dirty_epochs.add(number)
        return ep

    def _checkpoint_request(self, acc: Account) -> None:
        """Redemptions.checkpoint: a fully settled request leaves the books of its epoch."""
        if acc.request_units == 0:
            return
        ep = self.epochs[acc.request_epoch]
        if pending_of(acc.request_units, ep.remaining_ray) != 0:
            return
        shares, assets = settled_of(acc.request_units, ep.remaining_ray, ep.assets_per_unit_ray)
        acc.past_settled_shares += shares
        acc.past_settled_assets += assets
        self._members.get(acc.request_epoch, set()).discard(acc.address)
        acc.request_epoch = acc.request_units = 0

    def _close_request(self, acc: Account) -> None:
        """Move the settled part of the live request to the past and delete the request."""
        shares, assets = acc.settled(self.epochs)
        acc.past_settled_shares += shares
        acc.past_settled_assets += assets
        self._members.get(acc.request_epoch, set()).discard(acc.address)
        acc.request_epoch = acc.request_units = 0

    # ------------------------------------------------------------------ replay
    def apply(self, ev: LogEvent) -> None:
        if ev.tx_hash != self._tx:
            self._flush_positions()
            self._tx = ev.tx_hash
        self.event_count += 1
        self.last_block = ev.block_number
        handler = _HANDLERS.get(ev.name)
        if handler is not None:
            handler(self, ev, ev.args)

    def _on_transfer(self, ev: LogEvent, a: dict[str, Any]) -> None:
        frm, to, value = a["from"], a["to"], int(a["value"])
        vault = self.address
        src = dst = None
        if frm == ZERO_ADDRESS:
            self.supply += value
        elif frm == vault:
            self.escrow -= value
        else:
            src = self.account(frm)
            self._touch(src, ev)
        if to == ZERO_ADDRESS:
            self.supply -= value
        elif to == vault:
            self.escrow += value
        else:
            dst = self.account(to)
            self._touch(dst, ev)
        moved = 0
        if src is not None and (dst is not None or to == ZERO_ADDRESS):
            # the cost basis travels with the shares (average cost)
            moved = pro_rata(src.cost_basis, value, src.position(self.epochs))
            src.cost_basis -= moved
        if src is not None:
            src.wallet -= value
            if dst is not None:
                src.shares_out += value
        if dst is not None:
            dst.wallet += value
            dst.cost_basis += moved
            if src is not None:
                dst.shares_in += value
        elif src is not None and to == ZERO_ADDRESS:
            src.realised_pnl -= moved  # a burn from a wallet pays nothing (CohortVault never does it)

    def _on_deposit(self, ev: LogEvent, a: dict[str, Any]) -> None:
        assets, shares = int(a["assets"]), int(a["shares"])
        acc = self.account(a["owner"])
        self._touch(acc, ev)
        acc.cost_basis += assets
        acc.deposited_assets += assets
        acc.deposited_shares += shares
        acc.deposit_count += 1
        self.holdings[self.asset] = self.holdings.get(self.asset, 0) + assets
        self.deposit_assets += assets
        self.deposit_shares += shares
        self.deposit_count += 1
        if self.supply - shares == 0:
            # the first shares of an empty vault: both marks start at the entry price
            entry = price_per_share(self.accrual_nav + assets, shares)
            self.high_water_mark = self.drawdown_reference = entry

    def _on_fees_accrued(self, ev: LogEvent, a: dict[str, Any]) -> None:
        management, performance = int(a["managementShares"]), int(a["performanceShares"])
        nav, supply = int(a["nav"]), int(a["supply"])
        minted = management + performance
        increment = fee_index_increment(minted, nav, supply)
        self.fee_index += increment
        recipient = self.config.get("feeRecipient")
        if minted and recipient in self.accounts:
            # the recipient's mint (the Transfer just before) must not bear its own dilution
            self.accounts[recipient].fees_scaled -= minted * increment
        self.management_shares += management
        self.performance_shares += performance
        self.fee_value += fee_value(minted, nav, supply)
        self.accruals += 1
        hwm = int(a["highWaterMark"])
        if hwm != self.high_water_mark:
            self.high_water_mark = hwm
            self.drawdown_reference = max(hwm, self.drawdown_reference)
        self.accrual_nav = nav
        self.last_nav, self.last_supply, self.last_pps = nav, supply, int(a["pricePerShare"])
        self.new_nav.append(NavRecord("fees", ev.block_number, ev.log_index, ev.timestamp, nav, supply,
                                      int(a["pricePerShare"]), hwm, management, performance))

    def _on_redeem_request(self, ev: LogEvent, a: dict[str, Any]) -> None:
        controller, owner, shares = a["controller"], a["owner"], int(a["shares"])
        if owner == controller:
            return
        # shares escrowed from `owner` join `controller`'s request: so does their cost
        src, dst = self.account(owner), self.account(controller)
        self._touch(src, ev)
        self._touch(dst, ev)
        moved = pro_rata(src.cost_basis, shares, src.position(self.epochs) + shares)
        src.cost_basis -= moved
        dst.cost_basis += moved

    def _on_request_queued(self, ev: LogEvent, a: dict[str, Any]) -> None:
        acc = self.account(a["controller"])
        epoch, shares = int(a["epoch"]), int(a["shares"])
        self._touch(acc, ev)
        self._checkpoint_request(acc)
        if acc.request_units and acc.request_epoch != epoch:
            self._close_request(acc)  # the contract reverts before this; kept for safety
        ep = self._epoch(epoch)
        if ep.remaining_ray == 0:
            ep.remaining_ray = RAY
        ep.units += shares
        ep.escrow += shares
        ep.requested += shares
        ep.last_block = ev.block_number
        acc.request_epoch = epoch
        acc.request_units += shares
        self._members.setdefault(epoch, set()).add(acc.address)

    def _on_request_canceled(self, ev: LogEvent, a: dict[str, Any]) -> None:
        acc = self.account(a["controller"])
        self._touch(acc, ev)
        self._checkpoint_request(acc)
        ep = self._epoch(int(a["epoch"]))
        ep.units -= acc.request_units
        ep.escrow -= int(a["shares"])
        ep.canceled += int(a["shares"])
        ep.last_block = ev.block_number
        self._close_request(acc)

    def _on_withdraw(self, ev: LogEvent, a: dict[str, Any]) -> None:
        acc = self.account(a["owner"])  # the controller whose claim is paid
        self._touch(acc, ev)
        self._checkpoint_request(acc)
        assets, shares = int(a["assets"]), int(a["shares"])
        acc.claimed_assets += assets
        acc.claimed_shares += shares
        self.reserved -= assets
        self.claimed_assets += assets
        self.claimed_shares += shares

    def _on_settled(self, ev: LogEvent, a: dict[str, Any]) -> None:
        burned, assets = int(a["sharesBurned"]), int(a["assetsReserved"])
        nav, supply = int(a["nav"]), int(a["supply"])
        if burned == 0 and assets == 0 and nav == 0 and supply == 0:
            return  # an epoch with nothing left in escrow: only its queue head moved
        ep = self._epoch(int(a["epoch"]))
        r_new, alpha_new = int(a["remainingRay"]), int(a["assetsPerUnitRay"])
        for controller in sorted(self._members.get(ep.epoch, ())):
            acc = self.accounts[controller]
            self._touch(acc, ev)
            units = acc.request_units
            pending_before = pending_of(units, ep.remaining_ray)
            shares = pending_before - pending_of(units, r_new)
            paid = units * alpha_new // RAY - units * ep.assets_per_unit_ray // RAY
            released = pro_rata(acc.cost_basis, shares, acc.wallet + pending_before)
            acc.cost_basis -= released
            acc.realised_pnl += paid - released
        ep.remaining_ray, ep.assets_per_unit_ray = r_new, alpha_new
        ep.escrow = int(a["escrowRemaining"])
        ep.rounds += 1
        ep.shares_burned += burned
        ep.assets_reserved += assets
        ep.last_block = ev.block_number
        self.holdings[self.asset] = self.holdings.get(self.asset, 0) - assets
        self.reserved += assets
        self.settled_assets += assets
        self.settled_shares += burned
        self.new_nav.append(NavRecord("settlement", ev.block_number, ev.log_index, ev.timestamp, nav, supply,
                                      price_per_share(nav, supply), self.high_water_mark, 0, 0))

    def _on_trade(self, ev: LogEvent, a: dict[str, Any]) -> None:
        tin, tout = a["tokenIn"], a["tokenOut"]
        amount_in, amount_out = int(a["amountIn"]), int(a["amountOut"])
        self.holdings[tin] = self.holdings.get(tin, 0) - amount_in
        self.holdings[tout] = self.holdings.get(tout, 0) + amount_out
        self.trade_count += 1
        self.new_trades.append(TradeRecord(
            self.trade_count, "signal", ev.block_number, ev.log_index, ev.tx_hash, ev.timestamp, tin, tout,
            amount_in, amount_out, int(a["oracleAmountOut"]), int(a["limitPrice"]), int(a["loss"]),
            a["keeper"], a["digest"], int(a["nonce"]), self.supply))

    def _on_liquidity_sold(self, ev: LogEvent, a: dict[str, Any]) -> None:
        asset, amount_in, amount_out = a["asset"], int(a["amountIn"]), int(a["amountOut"])
        self.holdings[asset] = self.holdings.get(asset, 0) - amount_in
        self.holdings[self.asset] = self.holdings.get(self.asset, 0) + amount_out
        self.trade_count += 1
        self.new_trades.append(TradeRecord(
            self.trade_count, LIQUIDITY_REASONS.get(int(a["reason"]), "sale"), ev.block_number, ev.log_index,
            ev.tx_hash, ev.timestamp, asset, self.asset, amount_in, amount_out, int(a["oracleAmountOut"]),
            None, None, None, None, None, self.supply))

    # ------------------------------------------------------------------ parameters
    def _set(self, **values: Any) -> None:
        self.config.update(values)

    def _on_keeper_set(self, ev: LogEvent, a: dict[str, Any]) -> None:
        self._set_member("keepers", a["keeper"], bool(a["allowed"]))

    def _on_adapter_set(self, ev: LogEvent, a: dict[str, Any]) -> None:
        self._set_member("adapters", a["adapter"], bool(a["allowed"]))

    def _set_member(self, key: str, address: str, allowed: bool) -> None:
        members = [m for m in self.config[key] if m != address]
        self.config[key] = [*members, address] if allowed else members

    def _on_asset_listed(self, ev: LogEvent, a: dict[str, Any]) -> None:
        asset = a["asset"]
        if asset not in self.config["listedAssets"]:
            self.config["listedAssets"] = [*self.config["listedAssets"], asset]
        self.config["exitRoutes"] = {**self.config["exitRoutes"],
                                     asset: {"adapter": a["exitAdapter"], "path": a["exitPath"]}}
        self.holdings.setdefault(asset, 0)

    def _on_asset_delisted(self, ev: LogEvent, a: dict[str, Any]) -> None:
        listed = list(self.config["listedAssets"])
        if a["asset"] in listed:
            i = listed.index(a["asset"])
            listed[i] = listed[-1]  # the contract swaps with the last entry and pops
            listed.pop()
        self.config["listedAssets"] = listed
        self.config["exitRoutes"] = {k: v for k, v in self.config["exitRoutes"].items() if k != a["asset"]}

    def _on_risk_off_entered(self, ev: LogEvent, a: dict[str, Any]) -> None:
        self._set(riskOff=True)

    def _on_risk_off_exited(self, ev: LogEvent, a: dict[str, Any]) -> None:
        self._set(riskOff=False)
        self.drawdown_reference = int(a["newReference"])


def _setter(fn: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[VaultBook, LogEvent, dict[str, Any]], None]:
    def handler(book: VaultBook, ev: LogEvent, a: dict[str, Any]) -> None:
        book.config.update(fn(a))

    return handler


_HANDLERS: dict[str, Callable[[VaultBook, LogEvent, dict[str, Any]], None]] = {
    "Transfer": VaultBook._on_transfer,
    "Deposit": VaultBook._on_deposit,
    "FeesAccrued": VaultBook._on_fees_accrued,
    "RedeemRequest": VaultBook._on_redeem_request,
    "RedeemRequestQueued": VaultBook._on_request_queued,
    "RedeemRequestCanceled": VaultBook._on_request_canceled,
    "Withdraw": VaultBook._on_withdraw,
    "RedemptionsSettled": VaultBook._on_settled,
    "TradeExecuted": VaultBook._on_trade,
    "LiquiditySold": VaultBook._on_liquidity_sold,
    "KeeperSet": VaultBook._on_keeper_set,
    "AdapterSet": VaultBook._on_adapter_set,
    "AssetListed": VaultBook._on_asset_listed,
    "AssetDelisted": VaultBook._on_asset_delisted,
    "RiskOffEntered": VaultBook._on_risk_off_entered,
    "RiskOffExited": VaultBook._on_risk_off_exited,
    "OwnershipTransferred": _setter(lambda a: {"owner": a["newOwner"]}),
    "ManagerSet": _setter(lambda a: {"manager": a["manager"]}),
    "GuardianSet": _setter(lambda a: {"guardian": a["guardian"]}),
    "FeeRecipientSet": _setter(lambda a: {"feeRecipient": a["recipient"]}),
    "FeesSet": _setter(lambda a: {"managementFeeBps": int(a["managementFeeBps"]),
                                  "performanceFeeBps": int(a["performanceFeeBps"])}),
    "RiskLimitsSet": _setter(lambda a: {"riskLimits": dict(a["limits"])}),
    "DepositLimitsSet": _setter(lambda a: {"depositCap": int(a["depositCap"]), "minDeposit": int(a["minDeposit"])}),
    "RedemptionParamsSet": _setter(lambda a: {"noticePeriod": int(a["noticePeriod"]), "gateBps": int(a["gateBps"])}),
    "TimelockSet": _setter(lambda a: {"timelock": int(a["timelock"])}),
    "PausedSet": _setter(lambda a: {"paused": bool(a["paused"])}),
}

VAULT_CREATED = "VaultCreated"


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
