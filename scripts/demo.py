"""`make demo`: Cohort end to end on a local chain, as a scenario a person can follow.

    python -m scripts.demo [--exit] [--state-dir .demo] [--rpc-port N] [--keeper-port N] [--api-port N]

It starts anvil, deploys Uniswap (V3 and V2), the test tokens and Cohort, creates two vaults
with different managers, fees and risk limits, and starts the keeper (`cohort-keeper run`)
and the API (`cohort-api serve`, SQLite) as processes of their own. Then it plays the story:
investors deposit from their wallets; the managers sign trade signals that the keeper
executes on Uniswap; the market script (`python -m scripts.market`, a separate process)
moves prices with real swaps; a month passes; the keeper crystallises the fees; investors
request withdrawals; the notice period passes; the keeper unwinds and settles; investors
claim. It ends with every investor's sub-account as the API serves it (the MAM view),
checked against a second endpoint of the API, the chain's own views at the same block and
the demo's record of what each investor put in and took out, and the API's URL.

Without --exit the stack keeps running until Ctrl-C (the keeper, the API and anvil are then
stopped); with --exit everything is stopped and the exit code says whether all went well.

Everything the demo writes is in the state folder (`.demo/` by default: the manifest
`local.json`, `keeper.toml`, the keeper's store, the API's SQLite file and the three logs); it
is emptied at the start of a run. A chain already on port 8545 (`make devnet`, say) is left
alone: the demo's anvil takes a free port, and so do the keeper and the API when theirs are
busy. Ports given explicitly must be free (0: any free port). Settings are also read from
`COHORT_DEMO_*` environment variables (`COHORT_DEMO_STATE_DIR`, `COHORT_DEMO_EXIT`, ...).
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
import traceback
from decimal import Decimal
from typing import Any

import httpx

from cohort import signals
from cohort.artifacts import REPO_ROOT
from cohort.dev import devnet
from cohort.dev.anvil import DevChain
from cohort.dev.market import WHALE, Market
from cohort.dev.stack import Stack, StackError, child_env
from cohort.onchain import SaleReason, SizeMode
from cohort.tx import call
from cohort.uniswap import encode_v3_path
from cohort.vault import Vault
from scripts.demo_cast import (
    BETA,
    BPS,
    ERIN,
    KEEPER,
    LATE_REQUEST,
    LEAVES_CLAIMABLE,
    MARKET_MOVES,
    MATCH_LINE,
    PLANS,
    STEPS,
    STRATEGY_MATCH_LINE,
    TIME_PASSES_S,
    Person,
    TradePlan,
    VaultPlan,
)
from scripts.demo_report import (
    Console,
    amount,
    base_per_asset,
    compact_signal,
    days,
    limit_prices,
    pct,
    price,
    short,
)
from scripts.demo_stage import DemoError, Stage, parse_settings
from scripts.demo_strategy import play_strategy, setup_strategy, strategy_table
from scripts.demo_summary import summarise

# what the demo promises (tests/test_demo.py checks its output against these)
__all__ = ["MATCH_LINE", "STEPS", "STRATEGY_MATCH_LINE", "Demo", "main"]


class Demo(Stage):
    """The scenario, step by step (steps 1-4 and the summary are the stage's and the summary's)."""

    # ---------------------------------------------------------------- the whole story
    def run(self) -> bool:
        self.start_chain()
        self.deploy()
        self.create_vaults()
        setup = setup_strategy(self)
        self.start_services()
        self.deposit()
        self.trade()
        strategy = play_strategy(self, setup)
        self.move_market()
        before_block, jump_to = self.pass_time()
        self.crystallise_fees(before_block, jump_to)
        requests = self.request_withdrawals()
        due = self.pass_notice()
        self.settle(requests, due)
        self.claim(requests)
        ok = summarise(self)
        ok = strategy_table(self, strategy) and ok
        self.endpoints()
        return ok

    # ---------------------------------------------------------------- 5-6: deposits and signals
    def deposit(self) -> None:
        self.out.step(STEPS[4])
        decimals = self.m.token("USDC").decimals
        for plan in PLANS:
            vault = self.vaults[plan.label]
            share_decimals = int(call(vault.fn.decimals()))
            for person, whole in plan.deposits:
                assets = whole * 10**decimals
                devnet.fund(self.w3, self.m, "USDC", person.address, assets)  # the devnet faucet
                before = vault.balance_of(person.address)
                receipt = vault.deposit(assets, person.address)
                shares = vault.balance_of(person.address) - before
                self.ledger.add(self.ledger.deposited, plan.label, person.address, assets)
                self.out.line(f"{person.name:<5} {short(person.address)} deposits {self.usdc(assets):>15} into "
                              f"{plan.label}: {amount(shares, share_decimals)} {plan.config.symbol} "
                              f"(block {receipt['blockNumber']})")
            self.out.line(f"{plan.label}: NAV {self.usdc(vault.nav())}, {amount(vault.total_supply(), share_decimals)} "
                          "shares", 4)

    def post_signal(self, signed: signals.SignedSignal) -> httpx.Response:
        return httpx.post(f"{self.keeper_url}/signals", content=signed.to_json(),
                          headers={"content-type": "application/json"}, timeout=15)

    def trade(self) -> None:
        self.out.step(STEPS[5])
        market = Market(self.w3, self.m)
        nonce = 0
        for plan in PLANS:
            for tp in plan.trades:
                nonce += 1
                spot = market.spot_price(tp.token_out if tp.token_in == "USDC" else tp.token_in)
                signed = self.sign_trade(plan, tp, nonce, spot)
                record = self.relay(signed, plan.manager)
                self.show_trade(plan, tp, record)
        self.refused_signal(nonce + 1)

    def sign_trade(self, plan: VaultPlan, tp: TradePlan, nonce: int, spot: Decimal) -> signals.SignedSignal:
        """The manager looks at the market, signs a signal and prints it."""
        buying = tp.token_in == "USDC"
        asset = tp.token_out if buying else tp.token_in
        worst, limit = limit_prices(spot, tp.limit_margin_bps, buying)
        tin, tout = self.m.token(tp.token_in).address, self.m.token(tp.token_out).address
        signal = signals.TradeSignal(tin, tout, tp.size_mode, tp.size_bps, signals.limit_price_wad(limit),
                                     tp.slippage_bps, self.m.cohort.adapters["uniswap-v3"],
                                     encode_v3_path([tin, tout], [3000]), nonce, DevChain(self.w3).timestamp() + 3600)
        signed = signals.sign(signal, self.vaults[plan.label].domain(), plan.manager.account)
        of = "the vault's " + tp.token_in if tp.size_mode == SizeMode.HOLDINGS else "NAV"
        self.out.line(f"{plan.manager.name} signs for {plan.label}: {'buy' if buying else 'sell'} {asset} with "
                      f"{pct(tp.size_bps)} of {of}, at {'most' if buying else 'least'} {price(worst)} USDC/{asset}, "
                      f"slippage <= {pct(tp.slippage_bps)} vs the oracle (nonce {nonce})")
        symbols = {t.address: s for s, t in self.m.tokens.items()}
        adapters = {a: name for name, a in self.m.cohort.adapters.items()}
        self.out.line(compact_signal(signed, symbols, adapters), 6)
        return signed

    def relay(self, signed: signals.SignedSignal, manager: Person) -> dict[str, Any]:
        """POST the signal to the keeper and wait for its outcome (the keeper's record)."""
        answer = self.post_signal(signed)
        if answer.status_code != 202:
            raise DemoError(f"the keeper refused {manager.name}'s signal: {answer.status_code} {answer.text}")
        accepted = answer.json()
        self.out.line(f"POST {self.keeper_url}/signals -> {answer.status_code} "
                      f"{json.dumps({k: accepted[k] for k in ('id', 'state')})}", 6)
        record: dict[str, Any] = httpx.get(f"{self.keeper_url}/signals/{accepted['id']}", params={"wait": 30},
                                           timeout=45).json()
        if record["state"] != "executed":
            raise DemoError(f"signal #{accepted['id']} ended {record['state']}: {record.get('reason')} "
                            f"{record.get('detail')}")
        return record

    def show_trade(self, plan: VaultPlan, tp: TradePlan, record: dict[str, Any]) -> None:
        """The trade as the API serves it: amounts, and limit vs oracle vs execution price."""
        block = int(record["block_number"])
        self.api_indexed(block)
        vault = self.vaults[plan.label]
        trade = self.api(f"/vaults/{vault.address}/trades", from_block=block, to_block=block, kind="signal")["items"][0]
        buying = tp.token_in == "USDC"
        asset = tp.token_out if buying else tp.token_in
        self.out.line(f"keeper executed it in block {block} (tx {str(record['tx_hash'])[:12]}…); the API's "
                      f"{plan.label} trade #{trade['id']}: {self.token_amount(int(trade['amount_in']), tp.token_in)} "
                      f"-> {self.token_amount(int(trade['amount_out']), tp.token_out)}", 6)
        limit_q, oracle_q, exec_q = (price(q) if q is not None else "-" for q in
                                     (base_per_asset(trade[k], buying)
                                      for k in ("limit_price", "oracle_price", "execution_price")))
        self.out.line(f"limit {'<=' if buying else '>='} {limit_q} · oracle {oracle_q} · execution {exec_q} "
                      f"USDC/{asset}  (slippage vs oracle {Decimal(trade['slippage_bps']):.1f} bps)", 6)

    def refused_signal(self, nonce: int) -> None:
        """A signal signed by someone who is not the manager is refused at the door."""
        vault = self.vaults[BETA.label]
        tin, tout = self.m.token("USDC").address, self.m.token("LINK").address
        sig = signals.TradeSignal(tin, tout, SizeMode.HOLDINGS, 10_000, 1, 1000,
                                  self.m.cohort.adapters["uniswap-v3"], encode_v3_path([tin, tout], [3000]), nonce,
                                  DevChain(self.w3).timestamp() + 3600)
        answer = self.post_signal(signals.sign(sig, vault.domain(), ERIN.account))
        body = answer.json()
        if answer.status_code < 400:
            raise DemoError(f"the keeper accepted a signal Erin signed for beta: {answer.text}")
        self.out.line(f"Erin signs a signal for beta (all its USDC into LINK at any price): the keeper answers "
                      f"{answer.status_code} {body.get('error')} ({body.get('detail')})")

    # ---------------------------------------------------------------- 7-9: market, time, fees
    def move_market(self) -> None:
        self.out.step(STEPS[7])
        argv = [sys.executable, "-m", "scripts.market", "--rpc-url", self.rpc_url, "--manifest",
                str(self.manifest_path), "move", *MARKET_MOVES]
        self.out.line(f"$ python -m scripts.market --rpc-url {self.rpc_url} --manifest {self.manifest_path} move "
                      f"{' '.join(MARKET_MOVES)}")
        market = subprocess.Popen(argv, cwd=REPO_ROOT, env=child_env({}), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        try:
            with self.out.progress(f"swapping on Uniswap from the whale (dev account {WHALE})") as tick:
                deadline = time.monotonic() + self.settings.wait_timeout_s
                while market.poll() is None and time.monotonic() < deadline:
                    tick()
                    time.sleep(0.1)
            stdout, stderr = market.communicate(timeout=1)
        except subprocess.TimeoutExpired:
            raise DemoError(f"the market script did not finish in {self.settings.wait_timeout_s:.0f} s") from None
        finally:
            if market.poll() is None:
                market.kill()
                market.wait()
        for line in stdout.splitlines():
            self.out.line(line, 4)
        if market.returncode != 0:
            raise DemoError(f"the market script failed (exit code {market.returncode}): {stderr.strip()[-800:]}")
        self.out.line("vaults value holdings with TWAPs: the moves reach their NAV as the oracle window passes")

    def pass_time(self) -> tuple[int, int]:
        """Returns the block before the jump and the chain time after it."""
        self.out.step(STEPS[8])
        chain = DevChain(self.w3)
        before_date, before_block = self.chain_date(), self.head()
        navs = {label: vault.nav() for label, vault in self.vaults.items()}
        jump_to = chain.timestamp() + TIME_PASSES_S
        chain.increase_time(TIME_PASSES_S)
        self.out.line(f"evm_increaseTime({TIME_PASSES_S}): chain clock {before_date} -> {self.chain_date()} "
                      f"({days(TIME_PASSES_S)}); the TWAPs now carry the new prices")
        for label, vault in self.vaults.items():
            self.out.line(f"{label}: NAV {self.usdc(navs[label])} -> {self.usdc(vault.nav())}", 4)
        return before_block, jump_to

    def crystallise_fees(self, before_block: int, jump_to: int) -> None:
        self.out.step(STEPS[9])
        self.out.line("the keeper's accrue_fees duty sees pendingFeeShares() > 0 and calls accrueFees()")
        for plan in PLANS:
            vault = self.vaults[plan.label]
            share_decimals = int(call(vault.fn.decimals()))

            def accrued(v: Vault = vault) -> Any | None:
                """The keeper's first accrual after the jump in time."""
                for log in self.events(v, "FeesAccrued", before_block + 1):
                    if (self.sender_of(log) == KEEPER.address
                            and int(self.w3.eth.get_block(log["blockNumber"])["timestamp"]) >= jump_to):
                        return log
                return None

            log = self.wait(f"waiting for the keeper to accrue {plan.label}'s fees", accrued)
            a = log["args"]
            minted = int(a["managementShares"]) + int(a["performanceShares"])
            value = minted * int(a["nav"]) // int(a["supply"])
            self.out.line(f"{plan.label}: block {log['blockNumber']}, keeper {short(KEEPER.address)} minted "
                          f"{amount(int(a['managementShares']), share_decimals)} management + "
                          f"{amount(int(a['performanceShares']), share_decimals)} performance shares to "
                          f"{plan.manager.name} (worth {self.usdc(value)})")
            self.out.line(f"NAV {self.usdc(int(a['nav']))}, price per share {Decimal(a['pricePerShare']) / 10**18:.6f} "
                          f"USDC, high-water mark {Decimal(a['highWaterMark']) / 10**18:.6f}", 6)

    # ---------------------------------------------------------------- 10-13: withdrawals
    def request_withdrawals(self) -> list[tuple[str, Person]]:
        self.out.step(STEPS[10])
        requests = []
        for plan in PLANS:
            vault = self.vaults[plan.label]
            share_decimals = int(call(vault.fn.decimals()))
            for person, share_bps in plan.redemptions:
                shares = vault.balance_of(person.address) * share_bps // BPS
                vault.request_redeem(shares, person.address)
                request = vault.redeem_request_of(person.address)
                requests.append((plan.label, person))
                self.out.line(f"{person.name:<5} requests {amount(shares, share_decimals)} {plan.config.symbol} "
                              f"({pct(share_bps)} of their shares) from {plan.label}: "
                              f"escrowed in epoch {request.epoch}")
            status = vault.redemption_status()
            self.out.line(f"{plan.label}: epoch {status.epoch} can be settled from "
                          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(status.matures_at))} "
                          f"(after the epoch closes + {days(plan.config.notice_period)} notice)", 4)
        return requests

    def pass_notice(self) -> int:
        self.out.step(STEPS[11])
        matures = max(v.redemption_status().matures_at for v in self.vaults.values())
        wait = max(0, matures - DevChain(self.w3).timestamp()) + 60
        before_block = self.head()
        DevChain(self.w3).increase_time(wait)
        self.out.line(f"evm_increaseTime({wait}): chain clock now {self.chain_date()}; both epochs are due")
        return before_block

    def settle(self, requests: list[tuple[str, Person]], after_block: int) -> None:
        self.out.step(STEPS[12])
        self.out.line("the keeper's settle_redemptions duty reads redemptionStatus(): it unwinds when the free USDC "
                      "is short, then settles")
        log_offset = (self.dir / "keeper.log").stat().st_size
        for label in self.vaults:
            vault = self.vaults[label]
            mine = [p for lab, p in requests if lab == label]

            def settled(v: Vault = vault, people: list[Person] = mine) -> bool | None:
                return True if all(v.redeem_request_of(p.address).pending == 0 for p in people) else None

            self.wait(f"waiting for the keeper to settle {label}", settled)
            share_decimals = int(call(vault.fn.decimals()))
            for log in self.events(vault, "LiquiditySold", after_block + 1):
                a = log["args"]
                kind = "unwindForRedemptions" if int(a["reason"]) == SaleReason.UNWIND else "derisk"
                oracle_value = self.usdc(int(a["oracleAmountOut"]))
                self.out.line(f"{label}: keeper {kind}(): sold {self.token_amount(int(a['amountIn']), a['asset'])} "
                              f"for {self.usdc(int(a['amountOut']))} (oracle value {oracle_value})")
            for log in self.events(vault, "RedemptionsSettled", after_block + 1):
                a = log["args"]
                by = self.names.get(self.sender_of(log), "someone")
                self.out.line(f"{label}: {by} settleRedemptions(): epoch {a['epoch']}, "
                              f"{amount(int(a['sharesBurned']), share_decimals)} shares burnt, "
                              f"{self.usdc(int(a['assetsReserved']))} reserved for claims")
        deadline = time.monotonic() + 3  # the keeper logs a duty just after its last receipt
        lines = self.keeper_log_lines(log_offset, "settle_redemptions")
        while len({line.split(":")[0] for line in lines}) < len(self.vaults) and time.monotonic() < deadline:
            time.sleep(0.1)
            lines = self.keeper_log_lines(log_offset, "settle_redemptions")
        for line in lines:
            self.out.line(f"keeper log: {line}")

    def keeper_log_lines(self, offset: int, duty: str) -> list[str]:
        """`vault label: message` of the keeper's JSON log lines about `duty` after `offset`."""
        lines = []
        with open(self.dir / "keeper.log", "rb") as log:
            log.seek(offset)
            for raw in log.read().decode(errors="replace").splitlines():
                with contextlib.suppress(ValueError):
                    record = json.loads(raw)
                    if isinstance(record, dict) and record.get("duty") == duty:
                        label = next((lab for lab, v in self.vaults.items() if v.address == record.get("vault")), "?")
                        lines.append(f"{label}: {record.get('msg')}")
        return lines

    def claim(self, requests: list[tuple[str, Person]]) -> None:
        self.out.step(STEPS[13])
        usdc = devnet.token(self.w3, self.m, "USDC")
        for label, person in requests:
            vault = self.vaults[label]
            request = vault.redeem_request_of(person.address)
            if person == LEAVES_CLAIMABLE:
                self.out.line(f"{person.name:<5} leaves {self.usdc(request.claimable_assets)} claimable in {label} "
                              "for later (claims never expire, pausing never blocks them)")
                continue
            before = int(call(usdc.functions.balanceOf(person.address)))
            vault.claim(person.address)
            received = int(call(usdc.functions.balanceOf(person.address))) - before
            self.ledger.add(self.ledger.claimed, label, person.address, received)
            self.out.line(f"{person.name:<5} claims from {label}: {self.usdc(received)} arrive in their wallet")
        plan, person, share_bps = LATE_REQUEST
        vault = self.vaults[plan.label]
        shares = vault.balance_of(person.address) * share_bps // BPS
        vault.request_redeem(shares, person.address)
        self.out.line(f"{person.name:<5} requests {pct(share_bps)} of their {plan.label} shares now: pending until "
                      f"epoch {vault.redeem_request_of(person.address).epoch} is settled")


# ==================================================================== entry point


class _Stop(Exception):
    """SIGTERM: stop like Ctrl-C."""


def _on_sigterm(_signum: int, _frame: Any) -> None:
    raise _Stop


def main(argv: list[str] | None = None) -> int:
    settings = parse_settings(argv, __doc__)
    console = Console()
    stack = Stack()
    demo = Demo(settings, stack, console)
    started = time.monotonic()
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    # Ctrl-C stops the stack even when started from a shell that ignores SIGINT in background jobs
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    code, serving = 0, False
    try:
        demo.prepare_state_dir()
        print(f"Cohort demo: {len(STEPS)} steps; files and logs in {demo.dir}", flush=True)
        try:
            ok = demo.run()
        except (DemoError, StackError):
            raise
        except Exception as exc:  # a web3, HTTP or chain error: say what failed, keep the traceback in a file
            trace = demo.dir / "demo-error.log"
            trace.write_text(traceback.format_exc())
            doing = f"step {console.step_no} ({STEPS[max(console.step_no, 1) - 1]})"
            raise DemoError(f"{stack.diagnose(exc, doing)}\n(traceback in {trace})") from exc
        code = 0 if ok else 1
        if not ok:
            print("\ndemo: the summary table does not match what the API serves (see above)", file=sys.stderr,
                  flush=True)
        print(f"\nscenario finished in {time.monotonic() - started:.1f} s", flush=True)
        if ok and not settings.exit:
            serving = True
            demo.serve_until_interrupted()
    except (DemoError, StackError) as exc:
        print(f"\ndemo: {exc}", file=sys.stderr, flush=True)
        code = 1
    except (KeyboardInterrupt, _Stop):
        print("\ninterrupted: stopping the keeper, the API and anvil", flush=True)
        code = 0 if serving else 130
    finally:
        # a second Ctrl-C or SIGTERM must not cut the shutdown short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stopped = stack.stop()
        if stopped:
            print(f"stopped {', '.join(stopped)}", flush=True)
        demo.release_state_dir()
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
    return code


if __name__ == "__main__":
    sys.exit(main())

