"""The multi-investor history the API tests index, and the *independent* figures they compare
the API with: computed from contract reads at the relevant blocks (balanceOf, redeemRequestOf,
totalSupply, convertToAssets at block - 1 and block) and from the test's own record of what it
did, never from the indexer's events or code.

The history, on a vault of its own (2%/20% fees, 15% gate so settlements are partial):
deposits by three investors; a signal trade; WETH up 4%; a fee accrual (management and
performance); a fourth investor joins; a share transfer; two redemption requests, one for
another controller; two more trades that leave little base asset; after the notice period an
unwind (LiquiditySold) and a partial settlement; two claims (one partial); a request that is
cancelled; a second settlement round; WETH down 3%; an accrual; another deposit; a request
left pending; a last trade.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, localcontext
from typing import Any

from web3 import Web3

from cohort import manifest as mf
from cohort import protocol
from cohort.dev import devnet
from cohort.dev.anvil import DevChain
from cohort.tx import call, transact
from cohort.vault import Vault
from tests.conftest import Roles, make_vault
from tests.helpers import Market, SignalBook, deposit

USDC = 10**6
FEE_INDEX_SCALE = 10**36


@dataclass(frozen=True)
class Action:
    kind: str  # deposit | transfer | request | settle | cancel | claim
    block: int
    a: str = ""  # investor / owner / from / controller
    b: str = ""  # controller / to
    amount: int = 0


@dataclass
class Scenario:
    w3: Web3
    vault: Vault
    manifest: mf.Manifest
    investors: list[str]
    fee_recipient: str
    created_block: int
    second: Vault  # a second vault, so that investors hold more than one
    actions: list[Action] = field(default_factory=list)
    deposited: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    claimed: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def accounts(self) -> list[str]:
        return [*self.investors, self.fee_recipient]

    # ------------------------------------------------------------------ recording what we do
    def _block(self) -> int:
        return int(self.w3.eth.block_number)

    def deposit(self, investor: str, assets: int) -> None:
        deposit(self.w3, self.manifest, self.vault, investor, assets)
        self.deposited[investor] += assets
        self.actions.append(Action("deposit", self._block(), investor, amount=assets))

    def transfer(self, frm: str, to: str, shares: int) -> None:
        receipt = transact(self.vault.fn.transfer(to, shares), frm)
        self.actions.append(Action("transfer", receipt["blockNumber"], frm, to, shares))

    def request(self, owner: str, controller: str, shares: int) -> None:
        if controller != owner:  # naming another controller needs its consent: it makes the owner its operator
            transact(self.vault.fn.setOperator(owner, True), controller)
        self.vault.request_redeem(shares, owner, controller=controller, owner=owner)
        self.actions.append(Action("request", self._block(), owner, controller, shares))

    def cancel(self, controller: str) -> None:
        self.vault.cancel_redeem(controller)
        self.actions.append(Action("cancel", self._block(), controller))

    def claim(self, controller: str, shares: int | None = None) -> None:
        usdc = devnet.token(self.w3, self.manifest, "USDC")
        before = int(call(usdc.functions.balanceOf(controller)))
        self.vault.claim(controller, shares=shares)
        received = int(call(usdc.functions.balanceOf(controller))) - before
        self.claimed[controller] += received
        self.actions.append(Action("claim", self._block(), controller, amount=received))

    def settle(self, keeper: str) -> None:
        status = self.vault.redemption_status()
        assert status.due, status
        if status.assets_needed > status.base_available:
            self.vault.unwind_for_redemptions(keeper)
        self.vault.settle_redemptions(keeper)
        self.actions.append(Action("settle", self._block()))


def build_scenario(w3: Web3, m: mf.Manifest, roles: Roles, v3: Any) -> Scenario:
    chain = DevChain(w3)
    cfg = protocol.VaultConfig(name="Cohort API test", symbol="cAPI", gate_bps=1500)
    vault = make_vault(w3, m, roles, "api-scenario", cfg)
    created = int(w3.eth.block_number)
    second = make_vault(w3, m, roles, "api-second", protocol.VaultConfig(name="Cohort API second", symbol="cAPI2"))
    s = Scenario(w3=w3, vault=vault, manifest=m, investors=list(roles.investors[:6]),
                 fee_recipient=roles.fee_recipient, created_block=created, second=second)
    inv, keeper = s.investors, roles.keeper
    book = SignalBook(vault, m, roles.manager)
    market = Market(w3, m, v3)

    deposit(w3, m, second, inv[0], 2_000 * USDC)
    deposit(w3, m, second, inv[1], 1_000 * USDC)
    s.deposit(inv[0], 10_000 * USDC)
    s.deposit(inv[1], 5_000 * USDC)
    s.deposit(inv[2], 20_000 * USDC)
    book.execute(keeper, "USDC", "WETH", size_bps=4500)
    market.move("WETH", 4)
    market.settle_twap(3600)
    vault.accrue_fees(keeper)
    s.deposit(inv[3], 7_000 * USDC)
    s.transfer(inv[0], inv[4], vault.balance_of(inv[0]) // 4)
    s.request(inv[1], inv[1], vault.balance_of(inv[1]) // 2)
    s.request(inv[2], inv[5], vault.balance_of(inv[2]) // 3)  # owner inv2, controller inv5
    book.execute(keeper, "USDC", "WBTC", size_bps=4500)
    book.execute(keeper, "USDC", "WETH", size_bps=4500)
    chain.increase_time(2 * 86_400 + 60)
    s.settle(keeper)  # an unwind first (little base left), then a gated, partial round
    s.claim(inv[1])
    s.claim(inv[5], shares=vault.redeem_request_of(inv[5]).claimable_shares // 2)
    s.request(inv[3], inv[3], vault.balance_of(inv[3]) // 5)
    s.cancel(inv[3])
    chain.increase_time(86_400 + 60)
    s.settle(keeper)  # the next gate window: another round of the same epoch
    market.move("WETH", -3)
    market.settle_twap(3600)
    vault.accrue_fees(keeper)
    s.deposit(inv[0], 3_000 * USDC)
    s.request(inv[4], inv[4], vault.balance_of(inv[4]) // 3)  # still pending at the end
    book.execute(keeper, "USDC", "WETH", size_bps=1000)
    return s


# ---------------------------------------------------------------------------- independent figures
def _position(vault: Vault, who: str, block: int) -> int:
    pending = int(call(vault.fn.redeemRequestOf(who), block=block)[2])
    return vault.balance_of(who, block) + pending


def cost_model(s: Scenario) -> tuple[dict[str, int], dict[str, int]]:
    """Average cost basis and realised P&L per account, from the recorded actions and contract
    reads at each action's block (positions at block - 1, settlement payouts as the change of
    redeemRequestOf across the settlement block)."""
    v = s.vault
    cost: dict[str, int] = defaultdict(int)
    realised: dict[str, int] = defaultdict(int)
    for a in s.actions:
        if a.kind == "deposit":
            cost[a.a] += a.amount
        elif a.kind in ("transfer", "request") and a.a != a.b:
            before = _position(v, a.a, a.block - 1)
            moved = cost[a.a] * a.amount // before
            cost[a.a] -= moved
            cost[a.b] += moved
        elif a.kind == "settle":
            for who in s.accounts:
                r0 = call(v.fn.redeemRequestOf(who), block=a.block - 1)
                r1 = call(v.fn.redeemRequestOf(who), block=a.block)
                shares, assets = int(r0[2]) - int(r1[2]), int(r1[4]) - int(r0[4])
                if shares or assets:
                    position = v.balance_of(who, a.block - 1) + int(r0[2])
                    released = cost[who] * shares // position
                    cost[who] -= released
                    realised[who] += assets - released
    return cost, realised


def fees_borne(s: Scenario, who: str, to_block: int) -> int:
    """floor(sum over FeesAccrued of position_before * floor(m*n*1e36/(S*(S-m)))) / 1e36),
    with the logs read by web3 and the position read at block - 1."""
    total = 0
    logs = s.vault.contract.events.FeesAccrued.get_logs(from_block=s.created_block, to_block=to_block)
    for log in logs:
        a = log["args"]
        minted = a["managementShares"] + a["performanceShares"]
        supply = a["supply"]
        if minted == 0:
            continue
        assert s.vault.total_supply(log["blockNumber"] - 1) == supply - minted
        increment = minted * a["nav"] * FEE_INDEX_SCALE // (supply * (supply - minted))
        total += _position(s.vault, who, log["blockNumber"] - 1) * increment
    return total // FEE_INDEX_SCALE


def ratio(numerator: int, denominator: int) -> str:
    with localcontext() as ctx:
        ctx.prec = 100
        q = (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(10) ** -18, rounding=ROUND_DOWN)
        text = format(q, "f").rstrip("0").rstrip(".")
        return text or "0"


def trade_logs(s: Scenario, to_block: int) -> list[dict[str, Any]]:
    """Every TradeExecuted and LiquiditySold of the vault, as web3 decodes them, in chain order."""
    ev = s.vault.contract.events
    logs = [*ev.TradeExecuted.get_logs(from_block=s.created_block, to_block=to_block),
            *ev.LiquiditySold.get_logs(from_block=s.created_block, to_block=to_block)]
    logs.sort(key=lambda log: (log["blockNumber"], log["logIndex"]))
    out = []
    for log in logs:
        a = log["args"]
        out.append({"block": log["blockNumber"], "log_index": log["logIndex"], "amount_in": a["amountIn"],
                    "amount_out": a["amountOut"], "event": log["event"]})
    return out


def expected_tickets(s: Scenario, who: str, joined: int, to_block: int) -> list[dict[str, Any]]:
    out = []
    for t in trade_logs(s, to_block):
        if t["block"] <= joined:
            continue
        position = _position(s.vault, who, t["block"])
        supply = s.vault.total_supply(t["block"])
        out.append({"block_number": t["block"], "position_shares": str(position), "supply": str(supply),
                    "amount_in": str(t["amount_in"] * position // supply),
                    "amount_out": str(t["amount_out"] * position // supply),
                    "trade_amount_in": str(t["amount_in"]), "trade_amount_out": str(t["amount_out"])})
    return out


def joined_block(s: Scenario, who: str, to_block: int) -> int | None:
    """The block whose transaction first gave `who` a position: positions change only in the
    recorded actions' blocks and in fee mints (for the recipient), so those are scanned."""
    fees = s.vault.contract.events.FeesAccrued.get_logs(from_block=s.created_block, to_block=to_block)
    blocks = sorted({a.block for a in s.actions} | {log["blockNumber"] for log in fees})
    for block in blocks:
        if _position(s.vault, who, block) > 0:
            assert _position(s.vault, who, block - 1) == 0
            return block
    return None


def chain_view(s: Scenario, who: str, block: int) -> dict[str, Any]:
    """The MAM numbers of `who` as the contracts say at `block`."""
    v = s.vault
    request = [int(x) for x in call(v.fn.redeemRequestOf(who), block=block)]
    wallet = v.balance_of(who, block)
    position = wallet + request[2]
    value = int(call(v.fn.convertToAssets(position), block=block))
    assert int(call(v.fn.maxRedeem(who), block=block)) == request[3]
    assert int(call(v.fn.maxWithdraw(who), block=block)) == request[4]
    return {"shares": wallet, "pending": request[2], "epoch": request[0], "requested": request[1],
            "claimable_shares": request[3], "claimable_assets": request[4], "position": position,
            "position_value": value, "equity": value + request[4],
            "pool_share": ratio(position, v.total_supply(block)),
            "price_per_share": int(call(v.fn.pricePerShare(), block=block))}
