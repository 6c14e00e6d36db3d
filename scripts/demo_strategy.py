"""Step 7 of the demo, the MAM side: Mia runs a strategy; a conservative vault follows it at 0.5x and
an aggressive one at 1.5x; one master signal is executed for both as one swap at one price. The
summary ends with the two side by side (their fills, the one block price, equity and P&L), as the
API serves them and checked against the chain.

The strategy and its two follower vaults are created before the keeper starts (`setup_strategy`),
so the keeper serves them; Mia's master signal then goes to the running keeper (POST /masters),
which finds the followers, simulates the block trade, sets its floor and calls executeMaster."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from cohort import manifest as mf
from cohort import protocol, signals
from cohort import strategies as st
from cohort.dev import devnet
from cohort.dev.anvil import DevChain
from cohort.dev.market import Market
from cohort.tx import call, transact
from cohort.uniswap import encode_v3_path
from cohort.vault import Vault
from scripts.demo_cast import (
    FOLLOWERS,
    GUARDIAN,
    KEEPER,
    MASTER,
    MIA,
    OWNER,
    STEPS,
    STRATEGY_MATCH_LINE,
    STRATEGY_NAME,
    FollowerPlan,
)
from scripts.demo_report import base_per_asset, limit_prices, pct, price, short, signed_amount, table
from scripts.demo_stage import DemoError, Stage


@dataclass
class Follower:
    plan: FollowerPlan
    vault: Vault
    deposited: int  # USDC units


@dataclass
class StrategyRun:
    strategy_id: int
    signed: st.SignedMaster
    followers: list[Follower]
    block: int
    tx_hash: str


@dataclass
class StrategySetup:
    strategy_id: int
    followers: list[Follower]


def setup_strategy(stage: Stage) -> StrategySetup:
    """Create the strategy and its two follower vaults (before the keeper starts, so it serves them)."""
    out = stage.out
    strategies = st.Strategies(stage.w3, stage.m.cohort.strategies or "")
    sid = strategies.create(MIA.address, STRATEGY_NAME, OWNER.address)
    out.line(f"owner creates strategy #{sid} \"{STRATEGY_NAME}\" on CohortStrategies {short(strategies.address)}; "
             f"{MIA.name} signs its master signals (one signature for every follower)")
    followers = [_follower(stage, sid, plan) for plan in FOLLOWERS]
    stage.m = mf.load(stage.manifest_path)
    return StrategySetup(sid, followers)


def play_strategy(stage: Stage, setup: StrategySetup) -> StrategyRun:
    """Fund the followers, sign one master signal and let the running keeper execute it for both."""
    out = stage.out
    out.step(STEPS[6])
    strategies = st.Strategies(stage.w3, stage.m.cohort.strategies or "")
    sid, followers = setup.strategy_id, setup.followers
    for f in followers:
        devnet.fund(stage.w3, stage.m, "USDC", f.plan.investor.address, f.deposited)
        f.vault.deposit(f.deposited, f.plan.investor.address)
        out.line(f"{f.plan.investor.name} deposits {stage.usdc(f.deposited)} into {f.plan.label}")
    signed = _sign_master(stage, strategies, sid)
    answer = httpx.post(f"{stage.keeper_url}/masters", content=signed.to_json(),
                        headers={"content-type": "application/json"}, timeout=30)
    if answer.status_code != 202:
        raise DemoError(f"the keeper refused {MIA.name}'s master signal: {answer.status_code} {answer.text}")
    record: dict[str, Any] = httpx.get(f"{stage.keeper_url}/masters/{answer.json()['id']}", params={"wait": 60},
                                       timeout=90).json()
    if record.get("state") != "executed":
        raise DemoError(f"the keeper did not execute the master signal: {record.get('state')} "
                        f"({record.get('reason')}: {record.get('detail')})")
    (tx,) = [t for t in record["transactions"] if t.get("receipt_status") == 1]
    block, tx_hash = int(tx["mined_block"]), str(tx["tx_hash"])
    out.line(f"POST {stage.keeper_url}/masters -> 202; the keeper finds {len(record['followers'])} followers it "
             f"serves, simulates the block trade, sets its floor under that price and calls executeMaster: block "
             f"{block}, one swap on Uniswap (tx {tx_hash[:12]}…)")
    stage.api_indexed(block)
    trade = stage.api(f"/strategies/{sid}/trades/{signed.master.nonce}")
    run = trade["executions"][-1]
    out.line(f"the API's strategy #{sid} trade: {stage.usdc(int(run['total_in']))} -> "
             f"{stage.token_amount(int(run['total_out']), 'WETH')} at {_usdc_per_weth(run['block_price'])} USDC/WETH "
             f"for all; per follower:", 6)
    labels = {f.vault.address: f.plan.label for f in followers}
    for fill in run["fills"]:
        out.line(f"{labels[fill['vault']]:<5} {stage.usdc(int(fill['amount_in'])):>15} -> "
                 f"{stage.token_amount(int(fill['amount_out']), 'WETH')} at {_usdc_per_weth(fill['price'])} USDC/WETH "
                 f"({Decimal(fill['vs_ref_bps']):+.1f} bps vs {MIA.name}'s reference)", 8)
    return StrategyRun(sid, signed, followers, block, tx_hash)


def _follower(stage: Stage, sid: int, plan: FollowerPlan) -> Follower:
    vault = protocol.create_vault(stage.w3, stage.m, plan.config, label=plan.label, owner=OWNER.address,
                                  manager=MIA.address, guardian=GUARDIAN.address, fee_recipient=MIA.address,
                                  keepers=[KEEPER.address], sender=OWNER.address, path=stage.manifest_path)
    receipt = transact(vault.fn.followStrategy(sid, plan.rule.as_tuple()), OWNER.address)
    assets = plan.deposit * 10 ** stage.m.token("USDC").decimals
    stage.out.line(f"{plan.label}: {plan.config.name} at {short(vault.address)} follows #{sid} "
                   f"({plan.rule.describe()}) from block {receipt['blockNumber']} (timelock 0: applied at once)")
    return Follower(plan, vault, assets)


def _sign_master(stage: Stage, strategies: st.Strategies, sid: int) -> st.SignedMaster:
    spot = Market(stage.w3, stage.m).spot_price("WETH")
    worst, limit = limit_prices(spot, MASTER.limit_margin_bps, True)
    tin, tout = stage.m.token(MASTER.token_in).address, stage.m.token(MASTER.token_out).address
    master = st.MasterSignal(sid, tin, tout, MASTER.size_mode, MASTER.size_bps, 0, signals.limit_price_wad(limit),
                             signals.limit_price_wad(1 / spot), MASTER.slippage_bps,
                             stage.m.cohort.adapters["uniswap-v3"], encode_v3_path([tin, tout], [3000]),
                             signals.new_nonce(), DevChain(stage.w3).timestamp() + 3600)
    signed = st.sign(master, strategies.domain(), MIA.account)
    stage.out.line(f"{MIA.name} signs master signal {master.nonce}: buy WETH with {pct(MASTER.size_bps)} of the "
                   f"USDC (times each follower's multiplier), at most {price(worst)} USDC/WETH, reference "
                   f"{price(spot)} (digest {signed.digest.hex()[:10]}…)")
    return signed


def _usdc_per_weth(weth_per_usdc: str | None) -> str:
    value = base_per_asset(weth_per_usdc, True)
    return "-" if value is None else price(value)


# ---------------------------------------------------------------------------- the summary's table
def strategy_table(stage: Stage, run: StrategyRun) -> bool:
    """The two followers side by side as the API serves them; False if the chain disagrees."""
    sid, nonce = run.strategy_id, run.signed.master.nonce
    stage.api_indexed(stage.head())
    strategy = stage.api(f"/strategies/{sid}")
    trade = stage.api(f"/strategies/{sid}/trades/{nonce}")
    (execution,) = trade["executions"]
    fills = {f["vault"]: f for f in execution["fills"]}
    views: dict[str, Any] = {
        f.vault.address: stage.api(f"/vaults/{f.vault.address}/investors/{f.plan.investor.address}", tickets_limit=10)
        for f in run.followers}
    decimals = stage.m.token("USDC").decimals
    rules = {f["vault"]: f["rule"] for f in strategy["current_followers"]}
    columns = [f"{f.plan.label} ({Decimal(rules[f.vault.address]['multiplier_bps']) / 10_000:g}x)"
               for f in run.followers]
    rows: list[tuple[str, list[str]]] = [
        ("USDC sold", [stage.usdc(int(fills[f.vault.address]["amount_in"])) for f in run.followers]),
        ("WETH bought", [stage.token_amount(int(fills[f.vault.address]["amount_out"]), "WETH")
                         for f in run.followers]),
        ("fill price", [f"{_usdc_per_weth(fills[f.vault.address]['price'])} USDC/WETH" for f in run.followers]),
        ("block price", [f"{_usdc_per_weth(execution['block_price'])} USDC/WETH"] * len(run.followers)),
        ("vs reference", [f"{Decimal(fills[f.vault.address]['vs_ref_bps']):+.1f} bps" for f in run.followers]),
        ("investor", [f.plan.investor.name for f in run.followers]),
        ("deposited", [stage.usdc(f.deposited) for f in run.followers]),
        ("equity", [stage.usdc(int(views[f.vault.address]["equity"])) for f in run.followers]),
        ("P&L", [signed_amount(int(views[f.vault.address]["total_pnl"]), decimals) + " USDC" for f in run.followers]),
        ("ticket from", [_ticket_source(views[f.vault.address]) for f in run.followers]),
    ]
    stage.out.line()
    stage.out.line(f"strategy #{sid} \"{strategy['name']}\" (manager {MIA.name}): master signal {nonce} executed in "
                   f"block {execution['block_number']} for {len(fills)} followers at one price; "
                   f"GET {stage.api_url}/strategies/{sid}/trades/{nonce}")
    stage.out.line()
    for line in table([("", *columns), *((name, *values) for name, values in rows)], (0,)):
        stage.out.line(line)
    stage.out.line()
    problems = _check(stage, run, fills, views)
    if stage.mismatched(problems, "the strategy table does NOT match the chain:"):
        return False
    stage.out.line(f"{STRATEGY_MATCH_LINE}: each fill equals its vault's TradeExecuted, both at "
                   "MasterExecuted's totalOut/totalIn to the wei, equity is convertToAssets at the API's block and "
                   "P&L is equity - deposit")
    return True


def _ticket_source(view: dict[str, Any]) -> str:
    linked = [t["strategy"] for t in view["tickets"]["items"] if t.get("strategy")]
    return f"strategy #{linked[0]['strategy_id']}" if linked else "-"


def _check(stage: Stage, run: StrategyRun, fills: dict[str, Any], views: dict[str, Any]) -> list[str]:
    strategies = st.Strategies(stage.w3, stage.m.cohort.strategies or "")
    receipt = stage.w3.eth.get_transaction_receipt(run.tx_hash)  # type: ignore[arg-type]
    (master,) = strategies.events(receipt, "MasterExecuted")
    problems = []
    for f in run.followers:
        (log,) = [e for e in f.vault.events(receipt, "TradeExecuted")]
        fill, view = fills[f.vault.address], views[f.vault.address]
        if (int(fill["amount_in"]), int(fill["amount_out"])) != (log["amountIn"], log["amountOut"]):
            problems.append(f"{f.plan.label}: the API's fill differs from TradeExecuted {log}")
        # pro rata to the inputs: amountOut = totalOut * amountIn / totalIn, rounded down (dust to the last)
        if abs(log["amountOut"] * master["totalIn"] - master["totalOut"] * log["amountIn"]) > 2 * master["totalIn"]:
            problems.append(f"{f.plan.label}: not filled at the block price")
        block = int(view["block_number"])
        position = f.vault.balance_of(f.plan.investor.address, block)
        equity = int(call(f.vault.fn.convertToAssets(position), block=block))
        if (int(view["equity"]), int(view["total_pnl"])) != (equity, equity - f.deposited):
            problems.append(f"{f.plan.label}: equity {view['equity']} / P&L {view['total_pnl']} in the API, "
                            f"{equity} / {equity - f.deposited} on the chain")
    return problems
