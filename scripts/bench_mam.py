"""MAM bulk execution: gas of one master signal for 1, 10 and 50 follower vaults, one bulk
execution for 10 followers against 10 separate `executeSignal`s of the same trade, and the
keeper's latency from a master signal's HTTP receipt to every follower's trade mined (a
`cohort-keeper run` process serving 10, then 50 followers; anvil automines).

    python -m scripts.bench_mam [--out bench/mam.json]

Steady state, like scripts/bench_gas.py: every follower already holds both tokens, its share
word of the strategy's nonces is in use and the adapter has approved the router, so the figures
are what each further master signal costs. Each measurement starts from the same chain state
(evm_snapshot / evm_revert).
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

from cohort import protocol
from cohort import strategies as st
from cohort.onchain import SizeMode
from cohort.tx import transact
from cohort.uniswap import encode_v3_path
from cohort.vault import Vault
from scripts.bench_gas import Bench, _progress, bench_main, run_on_devnet
from scripts.bench_keeper import percentile, start_keeper

USDC = 10**6
SIZES = (1, 10, 50)
KEEPER_RUNS = ((10, 20), (50, 10))  # (followers, master signals): closed loop, one in flight
TRADE_BPS = 200  # each master sells 2% of every follower's USDC for WETH


class MamBench:
    def __init__(self, b: Bench) -> None:
        self.b = b
        m = b.m
        self.strategies = st.Strategies(b.w3, m.cohort.strategies or "")
        self.strategy_id = self.strategies.create(b.manager.address, "Bench", b.owner)
        self.usdc, self.weth = m.token("USDC").address, m.token("WETH").address
        self.path = encode_v3_path([self.usdc, self.weth], [3000])
        self.nonce = 1000  # one share word per follower: steady state after the first master

    def master(self, buy: bool = True) -> st.SignedMaster:
        """Buys WETH with 2% of each follower's USDC, or (buy False) sells half its WETH back."""
        self.nonce += 1
        tin, tout = (self.usdc, self.weth) if buy else (self.weth, self.usdc)
        path = self.path if buy else encode_v3_path([self.weth, self.usdc], [3000])
        master = st.MasterSignal(self.strategy_id, tin, tout, SizeMode.HOLDINGS, TRADE_BPS if buy else 5000, 0, 1, 1,
                                 100, self.b.m.cohort.adapters["uniswap-v3"], path, self.nonce, 2**40)
        return st.sign(master, self.strategies.domain(), self.b.manager)

    def bulk(self, followers: list[Vault]) -> int:
        signed = self.master()
        receipt, _floor = self.strategies.execute_at_market(signed, [f.address for f in followers], self.b.keeper, 50)
        skipped = self.strategies.events(receipt, "FollowerSkipped")
        if skipped:
            raise RuntimeError(f"bench: {len(skipped)} followers skipped: {skipped[0]}")
        return int(receipt["gasUsed"])

    def separate(self, followers: list[Vault]) -> int:
        gas = 0
        for v in followers:
            signed = self.b.signal(v, "USDC", "WETH", TRADE_BPS, "uniswap-v3", self.path)
            gas += int(v.execute_signal(signed, self.b.keeper)["gasUsed"])
        return gas


def measure(b: Bench, metrics: dict[str, float]) -> tuple[MamBench, list[Vault]]:
    mam = MamBench(b)
    n = max(SIZES)
    _progress(f"MAM: {n} follower vaults (create, deposit, follow)")
    followers: list[Vault] = []
    cfg = protocol.VaultConfig(name="Bench follower", symbol="cBF", timelock=0)
    for i in range(n):
        v, _ = b.vault(f"bench-follower-{i}", cfg)
        transact(v.fn.followStrategy(mam.strategy_id, st.FollowRule().as_tuple()), b.owner)
        b.deposit(v, b.investors[i % len(b.investors)], 100_000 * USDC)
        followers.append(v)
    # warm-up shared by every measurement: each follower holds WETH, uses its share word and the
    # vault nonce word of the separate signals; the TWAP then catches up with the trades
    mam.bulk(followers)
    for v in followers[:10]:
        mam.separate([v])
    b.chain.increase_time(1800)
    for size in SIZES:
        _progress(f"  one master signal for {size} followers")
        chunk = followers[:size]
        metrics[f"gas.bulk_{size}_followers"] = b.isolated(lambda chunk=chunk: mam.bulk(chunk))  # type: ignore[misc]
    metrics["gas.bulk_marginal_per_follower"] = round(
        (metrics[f"gas.bulk_{n}_followers"] - metrics["gas.bulk_1_followers"]) / (n - 1))
    metrics["gas.bulk_marginal_per_follower_10"] = round(
        (metrics["gas.bulk_10_followers"] - metrics["gas.bulk_1_followers"]) / 9)
    _progress("  10 separate executeSignal of the same trade")
    metrics["gas.separate_10_signals"] = b.isolated(lambda: mam.separate(followers[:10]))
    metrics["gas.bulk_10_vs_10_separate"] = round(metrics["gas.bulk_10_followers"]
                                                  / metrics["gas.separate_10_signals"], 3)
    return mam, followers


def measure_keeper(b: Bench, mam: MamBench, followers: list[Vault], rpc_url: str, metrics: dict[str, float]) -> None:
    """A master signal's HTTP receipt -> every follower's trade mined, from the keeper's store."""
    with tempfile.TemporaryDirectory() as tmp:
        for size, count in KEEPER_RUNS:
            _progress(f"keeper: {count} master signals for {size} followers, one at a time")
            keeper, url, db = start_keeper(Path(tmp), rpc_url, [f.address for f in followers[:size]],
                                           name=f"mam-{size}", extra={"strategies": mam.strategies.address})
            try:
                for i in range(count):
                    signed = mam.master(buy=i % 2 == 0)
                    answer = httpx.post(f"{url}/masters", content=signed.to_json(),
                                        headers={"content-type": "application/json"}, timeout=30)
                    if answer.status_code != 202:
                        raise RuntimeError(f"bench: master refused: {answer.text}")
                    record = httpx.get(f"{url}/masters/{answer.json()['id']}", params={"wait": 120}, timeout=150).json()
                    filled = sum(1 for f in record["followers"] if f["state"] == "filled")
                    if record["state"] != "executed" or filled != size:
                        raise RuntimeError(f"bench: master ended {record['state']} with {filled}/{size} filled: "
                                           f"{record.get('detail')}")
                    b.chain.increase_time(1800)  # the TWAP follows the trade before the next one
            finally:
                keeper.stop(30)
            con = sqlite3.connect(db)
            rows = con.execute("SELECT received_at, finished_at FROM masters WHERE state = 'executed'").fetchall()
            con.close()
            latency = [(done - received) * 1000 for received, done in rows]
            metrics[f"keeper.master_mined_p50_ms_{size}"] = round(statistics.median(latency), 1)
            metrics[f"keeper.master_mined_p99_ms_{size}"] = round(percentile(latency, 99), 1)


def _measure(b: Bench, rpc_url: str, metrics: dict[str, float]) -> None:
    mam, followers = measure(b, metrics)
    measure_keeper(b, mam, followers, rpc_url, metrics)


def run(out_path: Path | None = None) -> dict[str, float]:
    return run_on_devnet("mam", _measure, out_path)


def main(argv: list[str] | None = None) -> int:
    return bench_main("bench_mam", __doc__, run, argv)


if __name__ == "__main__":
    sys.exit(main())
