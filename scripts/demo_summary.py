"""Step 14 of the demo: every investor's sub-account as the API serves it, checked against the API's
accounts list, the vaults' own views at the same block and the demo's record of deposits and claims."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from web3 import Web3

from cohort.tx import call
from cohort.vault import Vault
from scripts.demo_cast import (
    ALPHA,
    KEEPER_DUTIES,
    MATCH_LINE,
    MIA,
    NOAH,
    PLANS,
    STEPS,
    Person,
    VaultPlan,
)
from scripts.demo_report import amount, signed_amount, table
from scripts.demo_stage import DemoError, Stage

ROW_FIELDS = ("shares", "equity", "net_deposits", "total_pnl", "fees_borne", "pending_shares", "claimable_assets")


@dataclass(frozen=True)
class SubAccount:
    """One investor's sub-account in one vault, as the API serves it (integers in token units)."""

    vault: str
    who: str
    address: str
    redemption: str
    shares: int
    equity: int
    net_deposits: int
    total_pnl: int
    fees_borne: int
    pending_shares: int
    claimable_assets: int

    @classmethod
    def from_api(cls, vault: str, who: str, body: dict[str, Any]) -> SubAccount:
        return cls(vault=vault, who=who, address=Web3.to_checksum_address(body["address"]),
                   redemption=body["redemption"]["state"], shares=int(body["shares"]), equity=int(body["equity"]),
                   net_deposits=int(body["net_deposits"]), total_pnl=int(body["total_pnl"]),
                   fees_borne=int(body["fees_borne"]), pending_shares=int(body["pending_shares"]),
                   claimable_assets=int(body["redemption"]["claimable_assets"]))


def render_table(rows: list[SubAccount], share_decimals: int, asset_decimals: int) -> list[str]:
    header = ("vault", "account", "shares", "equity", "net deposits", "P&L", "fees borne", "pending sh.",
              "claimable", "redemption")
    body = [(r.vault, r.who, amount(r.shares, share_decimals), amount(r.equity, asset_decimals),
             amount(r.net_deposits, asset_decimals), signed_amount(r.total_pnl, asset_decimals),
             amount(r.fees_borne, asset_decimals), amount(r.pending_shares, share_decimals),
             amount(r.claimable_assets, asset_decimals), r.redemption) for r in rows]
    return table([header, *body], (0, 1, 9), rule=True)


def differences(printed: list[SubAccount], other: dict[tuple[str, str], dict[str, int]], source: str) -> list[str]:
    """Every figure of `printed` that `other` (keyed by (vault, address)) does not repeat exactly."""
    out = []
    for row in printed:
        figures = other.get((row.vault, row.address))
        if figures is None:
            out.append(f"{row.vault}/{row.who}: missing from {source}")
            continue
        for name, value in figures.items():
            if getattr(row, name) != value:
                out.append(f"{row.vault}/{row.who}: {name} is {getattr(row, name)} in the table, {value} in {source}")
    return out


def fees_borne(vault: Vault, who: str, fee_logs: list[Any]) -> int:
    """An account's share of every fee mint's dilution, from the FeesAccrued logs and its position
    (wallet + pending) just before each: floor(sum(position * floor(m*n*1e36 / (S*(S-m)))) / 1e36)."""
    scale = 10**36
    total = 0
    for log in fee_logs:
        a = log["args"]
        minted = int(a["managementShares"]) + int(a["performanceShares"])
        supply = int(a["supply"])
        if minted == 0:
            continue
        before = log["blockNumber"] - 1
        position = vault.balance_of(who, before) + vault.redeem_request_of(who, before).pending
        total += position * (minted * int(a["nav"]) * scale // (supply * (supply - minted)))
    return total // scale


def accounts_of(plan: VaultPlan) -> list[Person]:
    people = [p for p, _ in plan.deposits]
    return [*people, plan.manager]


def snapshot(stage: Stage) -> tuple[int, list[SubAccount], dict[tuple[str, str], dict[str, int]]]:
    """The MAM view of every account at one indexed block, and the manager's accounts list
    at that same block (retried if the chain moved in between)."""
    for _attempt in range(10):
        stage.api_indexed(stage.head())
        rows: list[SubAccount] = []
        blocks: set[int] = set()
        for plan in PLANS:
            vault = stage.vaults[plan.label]
            for person in accounts_of(plan):
                body = stage.api(f"/vaults/{vault.address}/investors/{person.address}", tickets_limit=0)
                blocks.add(int(body["block_number"]))
                rows.append(SubAccount.from_api(plan.label, person.name + (" (fees)" if person in (MIA, NOAH)
                                                                           else ""), body))
        served: dict[tuple[str, str], dict[str, int]] = {}
        for plan in PLANS:
            vault = stage.vaults[plan.label]
            listing = stage.api(f"/vaults/{vault.address}/accounts", include_empty="true", limit=1000)
            blocks.add(int(listing["block_number"]))
            for item in listing["accounts"]["items"]:
                row = SubAccount.from_api(plan.label, "", item)
                served[(plan.label, row.address)] = {name: getattr(row, name) for name in ROW_FIELDS}
        if len(blocks) == 1:
            return blocks.pop(), rows, served
        time.sleep(0.3)
    raise DemoError("the chain kept moving while the API was read: no consistent snapshot")


def chain_figures(stage: Stage, block: int) -> dict[tuple[str, str], dict[str, int]]:
    """The same figures from the vaults' own views at `block`, and the demo's own ledger."""
    out: dict[tuple[str, str], dict[str, int]] = {}
    for plan in PLANS:
        vault = stage.vaults[plan.label]
        fee_logs = list(vault.contract.events.FeesAccrued.get_logs(from_block=0, to_block=block))
        for person in accounts_of(plan):
            who = person.address
            request = vault.redeem_request_of(who, block)
            pending, claimable = request.pending, request.claimable_assets
            wallet = vault.balance_of(who, block)
            equity = int(call(vault.fn.convertToAssets(wallet + pending), block=block)) + claimable
            net = stage.ledger.net(plan.label, who)
            out[(plan.label, who)] = {"shares": wallet, "pending_shares": pending, "claimable_assets": claimable,
                                      "equity": equity, "net_deposits": net, "total_pnl": equity - net,
                                      "fees_borne": fees_borne(vault, who, fee_logs)}
    return out


def summarise(stage: Stage) -> bool:
    """Step 14: the table, and whether it matches every other source."""
    stage.out.step(STEPS[14])
    with stage.out.progress("letting the keeper finish its duties") as tick:
        quiesce(stage, tick)
    block, rows, served = snapshot(stage)
    alpha = stage.vaults[ALPHA.label]
    share_decimals = int(call(alpha.fn.decimals()))
    stage.out.line(f"GET {stage.api_url}/vaults/{{vault}}/investors/{{investor}} for every account, at block {block}; "
                   "amounts in USDC, shares in vault shares")
    stage.out.line()
    for line in render_table(rows, share_decimals, stage.m.token("USDC").decimals):
        stage.out.line(line)
    stage.out.line()
    stage.out.line("equity = shares' value + claimable USDC; net deposits = deposited - claimed; P&L = realised + "
                   "unrealised (average cost); fees borne = the account's share of every fee mint's dilution")
    problems = differences(rows, served, "the API's accounts list (GET /vaults/{vault}/accounts)")
    problems += differences(rows, chain_figures(stage, block), f"the chain's views at block {block} and the "
                                                                  "demo's deposits and claims")
    if stage.mismatched(problems, "the summary does NOT match:"):
        return False
    stage.out.line(f"{MATCH_LINE}: {len(rows)} sub-accounts at block {block} equal the API's accounts list, the "
                   "vaults' views at that block (balanceOf, redeemRequestOf, convertToAssets), the demo's own "
                   "deposits and claims (P&L = equity - net deposits) and fees borne rebuilt from FeesAccrued")
    return True


def quiesce(stage: Stage, tick: Callable[[], None]) -> None:
    """Let the keeper's duties act on the last transactions (an accrual follows each block)."""
    quiet_for = KEEPER_DUTIES["fees_interval_s"] + 1.5
    last, since = stage.head(), time.monotonic()
    deadline = time.monotonic() + stage.settings.wait_timeout_s
    while time.monotonic() - since < quiet_for and time.monotonic() < deadline:
        stage.stack.check()
        tick()
        time.sleep(0.25)
        head = stage.head()
        if head != last:
            last, since = head, time.monotonic()

