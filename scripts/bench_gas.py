"""Gas figures of the vault against plain baselines, measured side by side in one run.

    python -m scripts.bench_gas [--out bench/gas.json]

Every pair is measured from the same chain state (evm_snapshot / evm_revert), after the
one-off costs both sides share (approvals, the first use of a nonce word, an adapter's first
router approval) have been paid, so the numbers compare steady-state operations:

- deposit into a vault holding 0, 1 and 3 non-base assets vs a plain OpenZeppelin ERC-4626;
- accrueFees; VaultFactory.createVault;
- settleRedemptions of an epoch with 1 request vs 1,000 requests from 1,000 controllers;
- executeSignal vs the same swap sent straight to the router by an EOA: V3 single hop, V2, and
  a two-hop V3 path.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cohort import manifest as mf
from cohort import protocol, signals
from cohort.accounts import dev_account
from cohort.artifacts import project_artifact
from cohort.chain import connect
from cohort.deploy import deploy
from cohort.dev import devnet
from cohort.dev.anvil import DevChain
from cohort.dev.stack import Anvil
from cohort.onchain import SizeMode
from cohort.tx import transact
from cohort.uniswap import MAX_UINT256, encode_v2_path, encode_v3_path
from cohort.vault import Vault

USDC = 10**6
DAY = 86_400


def _progress(msg: str) -> None:
    print(f"  [gas] {msg}", flush=True)


class Bench:
    def __init__(self, w3: Any, m: mf.Manifest) -> None:
        self.w3, self.m = w3, m
        self.chain = DevChain(w3)
        accts = self.chain.dev_accounts()
        self.owner, self.keeper, self.trader = accts[1], accts[2], accts[6]
        self.manager = dev_account(5)
        self.investors = accts[7:12]
        self.nonce = 1000  # one nonce word for every signal: steady state after the first
        self.slippage_bps = 100

    def vault(self, label: str, cfg: protocol.VaultConfig) -> tuple[Vault, int]:
        before = self.w3.eth.block_number
        v = protocol.create_vault(self.w3, self.m, cfg, label=label, owner=self.owner, manager=self.manager.address,
                                  guardian=self.owner, fee_recipient=self.owner, keepers=[self.keeper],
                                  sender=self.owner)
        receipt = self.w3.eth.get_transaction_receipt(self.w3.eth.get_block(before + 1)["transactions"][0])
        return v, int(receipt["gasUsed"])

    def deposit(self, vault: Any, who: str, amount: int) -> int:
        devnet.fund(self.w3, self.m, "USDC", who, amount)
        usdc = devnet.token(self.w3, self.m, "USDC")
        transact(usdc.functions.approve(vault.address, MAX_UINT256), who)
        fn = vault.functions.deposit(amount, who) if hasattr(vault, "functions") else vault.fn.deposit(amount, who)
        return int(transact(fn, who)["gasUsed"])

    def signal(self, vault: Vault, tin: str, tout: str, bps: int, adapter: str, path: bytes) -> signals.SignedSignal:
        self.nonce += 1
        s = signals.TradeSignal(self.m.token(tin).address, self.m.token(tout).address, SizeMode.HOLDINGS,
                                bps, 1, self.slippage_bps, self.m.cohort.adapters[adapter], path, self.nonce, 2**40)
        return signals.sign(s, vault.domain(), self.manager)

    def trade(self, vault: Vault, tin: str, tout: str, bps: int, adapter: str = "uniswap-v3",
              path: bytes | None = None) -> Any:
        path = path or encode_v3_path([self.m.token(tin).address, self.m.token(tout).address], [3000])
        receipt = vault.execute_signal(self.signal(vault, tin, tout, bps, adapter, path), self.keeper)
        self.chain.increase_time(1800)  # let the TWAP follow, so the next trade is not refused
        return receipt

    def isolated(self, fn: Callable[[], int]) -> int:
        with self.chain.isolated():
            return fn()


def measure_deposits(b: Bench, metrics: dict[str, float]) -> None:
    _progress("deposits: vaults holding 0, 1 and 3 assets, and a plain OpenZeppelin ERC-4626")
    plain = deploy(b.w3, project_artifact("PlainVault"), b.m.token("USDC").address, sender=b.owner)
    b.deposit(plain, b.investors[0], 100_000 * USDC)
    metrics["gas.deposit_oz_plain"] = b.deposit(plain, b.investors[1], 1_000 * USDC)
    three = protocol.VaultConfig(name="Bench three", symbol="cB3", assets=("WETH", "WBTC", "LINK"))
    v3a, _ = b.vault("bench-3", three)
    b.deposit(v3a, b.investors[0], 300_000 * USDC)
    b.chain.increase_time(DAY)  # the fee recipient holds shares already: fee mints are steady-state
    transact(v3a.fn.accrueFees(), b.owner)
    # every measured deposit accrues a fee (the 1- and 3-asset ones follow a trade and 30 minutes):
    # without this the 0-asset one did only when the wall clock ticked over a second in between
    b.chain.increase_time(60)
    held = 0
    for n, symbol in ((0, None), (1, "WETH"), (2, "WBTC"), (3, "LINK")):
        if symbol:
            b.trade(v3a, "USDC", symbol, 2000)
            held += 1
        if n in (0, 1, 3):
            metrics[f"gas.deposit_vault_{n}_assets"] = b.isolated(
                lambda: b.deposit(v3a, b.investors[1], 1_000 * USDC))
    metrics["gas.deposit_ratio_vs_oz"] = round(metrics["gas.deposit_vault_1_assets"]
                                               / metrics["gas.deposit_oz_plain"], 3)
    b.chain.increase_time(7 * DAY)
    metrics["gas.accrue_fees_3_assets"] = int(transact(v3a.fn.accrueFees(), b.owner)["gasUsed"])


def measure_settlement(b: Bench, metrics: dict[str, float]) -> None:
    _progress("settlement: 1 request vs 1,000 requests from 1,000 controllers")
    batcher = deploy(b.w3, project_artifact("RequestBatcher"), sender=b.owner)
    gas = {}
    for n in (1, 1000):
        with b.chain.isolated():
            v, _ = b.vault(f"bench-settle-{n}", protocol.VaultConfig(name=f"Bench settle {n}", symbol="cBS"))
            whale = b.investors[0]
            b.deposit(v, whale, 1_000_000 * USDC)
            b.deposit(v, b.investors[1], 1_000_000 * USDC)
            b.trade(v, "USDC", "WETH", 2000)  # a held asset: the settlement values it
            b.chain.increase_time(60)  # the fee recipient holds shares already: no first write in the
            transact(v.fn.accrueFees(), b.keeper)  # measured settlement, whatever the wall clock did
            transact(v.fn.approve(batcher.address, MAX_UINT256), whale)
            for start in range(0, n, 100):
                transact(batcher.functions.requestMany(v.address, whale, b"\x42" * 32, start, min(n, start + 100),
                                                       10**12), whale, gas=25_000_000)
            b.chain.increase_time(3 * DAY)
            gas[n] = int(v.settle_redemptions(b.keeper)["gasUsed"])
    metrics["gas.settle_1_request"] = gas[1]
    metrics["gas.settle_1000_requests"] = gas[1000]
    metrics["gas.settle_ratio_1000_vs_1"] = round(gas[1000] / gas[1], 4)


def measure_signals(b: Bench, metrics: dict[str, float]) -> None:
    _progress("executeSignal vs the same swap sent straight to the router")
    # two hops pay two pool fees: the trade vault allows 2% against the oracle
    risk = protocol.RiskLimits(max_slippage_bps=200)
    v, create_gas = b.vault("bench-trade", protocol.VaultConfig(name="Bench trade", symbol="cBT", risk=risk))
    b.slippage_bps = 200
    metrics["gas.factory_create_vault"] = create_gas
    b.deposit(v, b.investors[0], 1_000_000 * USDC)
    m = b.m
    usdc, weth, wbtc = (m.token(s).address for s in ("USDC", "WETH", "WBTC"))
    routes = {
        "v3_single": ("uniswap-v3", encode_v3_path([usdc, weth], [3000]), "WETH"),
        "v2_single": ("uniswap-v2", encode_v2_path([usdc, weth]), "WETH"),
        "v3_two_hop": ("uniswap-v3", encode_v3_path([usdc, weth, wbtc], [3000, 3000]), "WBTC"),
    }
    # warm-up shared by both sides: the vault holds WETH (its NAV reads a pool), each adapter has
    # approved the router, the nonce word is in use; the trader has approved both routers
    for adapter, path, out in routes.values():
        b.trade(v, "USDC", out, 500, adapter, path)
    trader = b.trader
    devnet.fund(b.w3, m, "USDC", trader, 10_000_000 * USDC)
    usdc_c = devnet.token(b.w3, m, "USDC")
    v3 = devnet.v3_from_manifest(b.w3, m)
    v2 = devnet.v2_from_manifest(b.w3, m)
    for router in (v3.router.address, v2.router.address):
        transact(usdc_c.functions.approve(router, MAX_UINT256), trader)
    for name, (adapter, path, out) in routes.items():
        amount_in = v.holdings(usdc) * 200 // 10_000  # what a 2% signal will spend

        def direct(path: bytes = path, adapter: str = adapter, amount_in: int = amount_in) -> int:
            if adapter == "uniswap-v3":
                fn = v3.router.functions.exactInput((path, trader, 2**40, amount_in, 1))
            else:
                hops = [b.w3.to_checksum_address("0x" + path[i:i + 20].hex()) for i in range(0, len(path), 20)]
                fn = v2.router.functions.swapExactTokensForTokens(amount_in, 1, hops, trader, 2**40)
            return int(transact(fn, trader)["gasUsed"])

        def signal(path: bytes = path, adapter: str = adapter, out: str = out) -> int:
            return int(v.execute_signal(b.signal(v, "USDC", out, 200, adapter, path), b.keeper)["gasUsed"])

        _progress(f"  {name}")
        metrics[f"gas.direct_{name}"] = b.isolated(direct)
        metrics[f"gas.execute_signal_{name}"] = b.isolated(signal)
        metrics[f"gas.execute_signal_ratio_{name}"] = round(
            metrics[f"gas.execute_signal_{name}"] / metrics[f"gas.direct_{name}"], 3)


def run_on_devnet(name: str, measure: Callable[[Bench, str, dict[str, float]], None],
                  out_path: Path | None = None) -> dict[str, float]:
    """Start anvil, deploy the markets and Cohort, `measure(bench, rpc_url, metrics)`, and write
    {"metrics": ...} JSON to `out_path` if given; shared by the gas and the MAM benches."""
    metrics: dict[str, float] = {}
    with Anvil() as node:
        w3 = connect(node.rpc_url)
        _progress(f"anvil on {node.rpc_url}: deploying Uniswap, tokens and Cohort")
        tmp = Path(f".bench-{name}-manifest.json")
        try:
            m = devnet.bootstrap(w3, tmp, rpc_url=node.rpc_url)
            m = protocol.ensure_protocol(w3, m, tmp)
        finally:
            tmp.unlink(missing_ok=True)
        measure(Bench(w3, m), node.rpc_url, metrics)
    if out_path is not None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps({"metrics": metrics}, indent=2) + "\n")
    return metrics


def bench_main(prog: str, doc: str | None, run_bench: Callable[[Path | None], dict[str, float]],
               argv: list[str] | None = None) -> int:
    """The command line of a bench: `--out` for the JSON, the figures printed one a line."""
    parser = argparse.ArgumentParser(prog=prog, description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="write {\"metrics\": ...} JSON here")
    args = parser.parse_args(argv)
    metrics = run_bench(args.out)
    width = max(map(len, metrics))
    for name, value in metrics.items():
        print(f"{name:<{width}}  {value:,}")
    return 0


def _measure(b: Bench, _rpc_url: str, metrics: dict[str, float]) -> None:
    measure_deposits(b, metrics)
    measure_settlement(b, metrics)
    measure_signals(b, metrics)


def run(out_path: Path | None = None) -> dict[str, float]:
    return run_on_devnet("gas", _measure, out_path)


def main(argv: list[str] | None = None) -> int:
    return bench_main("bench_gas", __doc__, run, argv)


if __name__ == "__main__":
    sys.exit(main())
