"""The demo's cast and plan: who plays, with which vaults, trades, withdrawals and steps."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from cohort import strategies as st
from cohort.accounts import dev_account
from cohort.onchain import SizeMode
from cohort.protocol import RiskLimits, VaultConfig

DAY = 86_400
BPS = 10_000

STEPS = (
    "Start a local chain",
    "Deploy Uniswap, the test tokens and Cohort",
    "Create two vaults",
    "Start the keeper and the API",
    "Investors deposit from their wallets",
    "Managers sign signals; the keeper executes them on Uniswap",
    "A strategy: one master signal, a conservative (0.5x) and an aggressive (1.5x) vault",
    "The market moves (scripts/market.py, real swaps)",
    "Time passes",
    "Fees crystallise",
    "Investors request withdrawals",
    "The notice period passes",
    "The keeper unwinds and settles",
    "Investors claim",
    "Every investor's sub-account, from the API",
)
MATCH_LINE = "summary matches the API"
STRATEGY_MATCH_LINE = "strategy table matches the chain"


@dataclass(frozen=True)
class Person:
    name: str
    index: int  # anvil dev account: the key is public, devnet only

    @property
    def account(self) -> LocalAccount:
        return dev_account(self.index)

    @property
    def address(self) -> str:
        return str(self.account.address)


OWNER, KEEPER, GUARDIAN = Person("owner", 1), Person("keeper", 2), Person("guardian", 3)
MIA, NOAH = Person("Mia", 5), Person("Noah", 6)  # the managers; fees are minted to them
ALICE, BOB, CAROL, DAVE, ERIN = (Person("Alice", 7), Person("Bob", 8), Person("Carol", 9), Person("Dave", 10),
                                 Person("Erin", 11))
INVESTORS = (ALICE, BOB, CAROL, DAVE, ERIN)


@dataclass(frozen=True)
class TradePlan:
    token_in: str
    token_out: str
    size_mode: SizeMode
    size_bps: int
    limit_margin_bps: int  # the limit the manager signs: this far worse than the spot price
    slippage_bps: int  # largest slippage against the oracle the signal allows


@dataclass(frozen=True)
class VaultPlan:
    label: str
    config: VaultConfig
    manager: Person
    deposits: tuple[tuple[Person, int], ...]  # whole USDC
    trades: tuple[TradePlan, ...]
    redemptions: tuple[tuple[Person, int], ...]  # share of the investor's shares, bps


ALPHA = VaultPlan(
    label="alpha",
    config=VaultConfig(name="Cohort Alpha USDC", symbol="cALPHA", assets=("WETH", "WBTC"), management_fee_bps=200,
                       performance_fee_bps=2000, risk=RiskLimits(), notice_period=DAY, epoch_length=DAY,
                       gate_bps=5000, timelock=DAY),
    manager=MIA,
    deposits=((ALICE, 40_000), (BOB, 35_000), (CAROL, 25_000)),
    trades=(TradePlan("USDC", "WETH", SizeMode.HOLDINGS, 5000, 200, 100),
            TradePlan("USDC", "WBTC", SizeMode.HOLDINGS, 5000, 200, 100)),
    redemptions=((ALICE, BPS), (BOB, 2000)),
)
BETA = VaultPlan(
    label="beta",
    config=VaultConfig(name="Cohort Beta USDC", symbol="cBETA", assets=("WETH", "LINK"), management_fee_bps=100,
                       performance_fee_bps=1000,
                       risk=RiskLimits(twap_window=900, max_deviation_ticks=150, max_trade_bps=3000,
                                       max_slippage_bps=75, loss_budget_bps=150, loss_window=DAY, drawdown_bps=1500),
                       notice_period=2 * DAY, epoch_length=DAY, gate_bps=2500, timelock=2 * DAY),
    manager=NOAH,
    deposits=((CAROL, 15_000), (DAVE, 45_000), (ERIN, 30_000)),
    trades=(TradePlan("USDC", "LINK", SizeMode.NAV, 2800, 200, 75),
            TradePlan("USDC", "WETH", SizeMode.NAV, 2500, 200, 75)),
    redemptions=((DAVE, 3333),),
)
PLANS = (ALPHA, BETA)
MARKET_MOVES = ("WETH", "+8", "WBTC", "+4", "LINK", "-6")
TIME_PASSES_S = 30 * DAY
LATE_REQUEST = (BETA, ERIN, 2000)  # after the settlement: still pending at the end
LEAVES_CLAIMABLE = BOB  # does not claim: the table shows his claimable assets
KEEPER_DUTIES = {"fees_interval_s": 3.0, "redemptions_interval_s": 2.0, "risk_interval_s": 5.0}


@dataclass(frozen=True)
class FollowerPlan:
    """A vault that follows the demo's strategy with its own rule (timelock 0: following applies at once)."""

    label: str
    config: VaultConfig
    rule: st.FollowRule
    investor: Person
    deposit: int  # whole USDC


STRATEGY_NAME = "Mia's Momentum"
FOLLOWERS = (
    FollowerPlan("calm", VaultConfig(name="Cohort Calm USDC", symbol="cCALM", assets=("WETH",), timelock=0),
                 st.FollowRule(st.RuleKind.MULTIPLIER, multiplier_bps=5_000), BOB, 20_000),
    FollowerPlan("bold", VaultConfig(name="Cohort Bold USDC", symbol="cBOLD", assets=("WETH",), timelock=0),
                 st.FollowRule(st.RuleKind.MULTIPLIER, multiplier_bps=15_000), DAVE, 20_000),
)
MASTER = TradePlan("USDC", "WETH", SizeMode.HOLDINGS, 3000, 200, 100)  # 30% of the book: 15% and 45% here
