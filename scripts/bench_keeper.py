"""Keeper benchmark: `python -m scripts.bench_keeper [--signals 600] [--vaults 5] [--out FILE]`.

Starts its own anvil, deploys Uniswap, Cohort and several funded vaults, runs the keeper as a
`cohort-keeper run` process, and posts signed signals to it over HTTP: one client per vault,
each posting its next signal when the last one is final (closed loop, so the figures are the
keeper's own latency, not a queue that grows). From the keeper's store it then measures:

- keeper.internal_p50_ms / _p99_ms: HTTP receipt -> broadcast (the node accepted the signed
  transaction): parsing, verification (ecrecover, nonce), storing, simulation, signing,
  write-ahead record, broadcast;
- keeper.mined_p50_ms / _p99_ms: HTTP receipt -> the keeper has the receipt (anvil automines);
- keeper.signals_per_s: signals executed per second over the run;
- keeper.two_keepers_reverted_per_signal / _burnt_gas_per_signal: two keepers of one vault (two
  processes, two accounts) given every signal at the same moment, blocks every second (a chain
  where a transaction waits in the pool): transactions that reverted, and the gas they burnt, per
  signal (goal 0: they take turns and check the pending block instead of racing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import eth_keys
import httpx

from cohort import protocol, signals
from cohort.accounts import dev_account
from cohort.dev import devnet
from cohort.dev.anvil import DevChain
from cohort.dev.stack import Anvil, Child, free_port, keeper_process, private_key_of
from cohort.onchain import SizeMode
from cohort.uniswap import encode_v3_path

MANAGER, KEEPER, SECOND_KEEPER = 5, 2, 13
TWO_KEEPER_SIGNALS = 20
BLOCK_TIME_S = 1  # interval mining for the two-keeper phase
DEPOSIT = 1_000_000 * 10**6  # USDC per vault


def _progress(msg: str) -> None:
    print(f"  bench_keeper: {msg}", flush=True)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))]


def _signal_book(m: Any, vault: Any, count: int, first_nonce: int) -> list[signals.SignedSignal]:
    """Alternating buys (2% of the USDC held) and sells (half the WETH held) on Uniswap V3."""
    usdc, weth = m.token("USDC").address, m.token("WETH").address
    adapter = m.cohort.adapters["uniswap-v3"]
    domain = vault.domain()
    manager = dev_account(MANAGER)
    out = []
    for i in range(count):
        buy = i % 2 == 0
        tin, tout = (usdc, weth) if buy else (weth, usdc)
        limit = signals.limit_price_wad("0.0001" if buy else "1000")  # loose: the oracle bound binds
        sig = signals.TradeSignal(tin, tout, SizeMode.HOLDINGS, 200 if buy else 5000, limit, 100, adapter,
                                  encode_v3_path([tin, tout], [3000]), first_nonce + i, 2**40)
        out.append(signals.sign(sig, domain, manager))
    return out


def _deploy(w3: Any, workdir: Path, rpc_url: str, vaults: int) -> tuple[Any, list[Any]]:
    path = workdir / "local.json"
    m = protocol.ensure_protocol(w3, devnet.bootstrap(w3, path, rpc_url=rpc_url), path)
    accounts = DevChain(w3).dev_accounts()
    made = []
    for i in range(vaults):
        vault = protocol.create_vault(w3, m, protocol.VaultConfig(name=f"Bench {i}", symbol=f"cB{i}"),
                                      label=f"bench-{i}", owner=accounts[1], manager=dev_account(MANAGER).address,
                                      guardian=accounts[3], fee_recipient=accounts[4], keepers=[accounts[KEEPER]],
                                      sender=accounts[1])
        investor = accounts[7 + i % 10]
        devnet.fund(w3, m, "USDC", investor, DEPOSIT)
        vault.deposit(DEPOSIT, investor)
        made.append(vault)
    return m, made


def start_keeper(workdir: Path, rpc_url: str, vaults: list[str], *, account: int = KEEPER,
                  name: str = "keeper", extra: dict[str, Any] | None = None) -> tuple[Child, str, Path]:
    port = free_port()
    db = workdir / f"{name}.db"
    settings = {"rpc_url": rpc_url, "vaults": vaults, "db_path": str(db), "port": port, "poll_interval_s": 0.1,
                "fees_interval_s": 0, "redemptions_interval_s": 0, "risk_interval_s": 0, "log_level": "WARNING",
                **(extra or {})}
    keeper = keeper_process(workdir / f"{name}.toml", settings, private_key_of(dev_account(account)),
                            workdir / f"{name}.log", name=name)
    keeper.start()
    keeper.wait_ready()
    return keeper, f"http://127.0.0.1:{port}", db


async def _drive(url: str, books: list[list[signals.SignedSignal]], *, concurrent: bool, label: str) -> list[int]:
    """Post every signal of `books` and wait for each to be final. concurrent: one client per book
    (vault), each with one signal in flight; else one signal in flight in all, vault after vault."""
    total = sum(len(b) for b in books)
    done: list[int] = []
    started = time.monotonic()

    async def one(http: httpx.AsyncClient, signed: signals.SignedSignal) -> None:
        answer = await http.post("/signals", content=signed.to_json(), headers={"content-type": "application/json"})
        if answer.status_code != 202:
            raise RuntimeError(f"signal refused: {answer.text}")
        signal_id = answer.json()["id"]
        record = (await http.get(f"/signals/{signal_id}", params={"wait": 60})).json()
        if record["state"] != "executed":
            raise RuntimeError(f"signal #{signal_id} ended {record['state']}: {record.get('detail')}")
        done.append(signal_id)
        if len(done) % 100 == 0 or len(done) == total:
            rate = len(done) / (time.monotonic() - started)
            _progress(f"{label}: {len(done)}/{total} signals executed ({rate:.0f}/s)")

    async def client(http: httpx.AsyncClient, book: list[signals.SignedSignal]) -> None:
        for signed in book:
            await one(http, signed)

    # no Nagle: a POST's headers and body go out at once (else delayed ACKs add ~40 ms per request)
    transport = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=2 * len(books)),
                                         socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    async with httpx.AsyncClient(base_url=url, timeout=90, transport=transport) as http:
        if concurrent:
            await asyncio.gather(*(client(http, book) for book in books))
        else:
            interleaved = [b[i] for i in range(max(len(b) for b in books)) for b in books if i < len(b)]
            await client(http, interleaved)
    return done


def _two_keepers(workdir: Path, w3: Any, m: Any, rpc_url: str, count: int) -> dict[str, float]:
    """Two keeper processes on one vault, every signal posted to both at once, a block a second."""
    accounts = DevChain(w3).dev_accounts()
    keepers = [accounts[KEEPER], dev_account(SECOND_KEEPER).address]
    vault = protocol.create_vault(w3, m, protocol.VaultConfig(name="Bench pair", symbol="cBP"), label="bench-pair",
                                  owner=accounts[1], manager=dev_account(MANAGER).address, guardian=accounts[3],
                                  fee_recipient=accounts[4], keepers=keepers, sender=accounts[1])
    investor = accounts[17]
    devnet.fund(w3, m, "USDC", investor, DEPOSIT)
    vault.deposit(DEPOSIT, investor)
    book = _signal_book(m, vault, count, first_nonce=1)
    started: list[tuple[Child, str, Path]] = []
    try:
        for index, name in ((KEEPER, "pair-a"), (SECOND_KEEPER, "pair-b")):
            started.append(start_keeper(workdir, rpc_url, [vault.address], account=index, name=name))
        w3.provider.make_request("evm_setAutomine", [False])
        w3.provider.make_request("evm_setIntervalMining", [BLOCK_TIME_S])
        states = asyncio.run(_drive_pair([url for _p, url, _db in started], book))
    finally:
        w3.provider.make_request("evm_setIntervalMining", [0])
        w3.provider.make_request("evm_setAutomine", [True])
        for keeper, _url, _db in started:
            keeper.stop(30)
    executed = sum(1 for pair in states if sorted(pair) == ["executed", "executed_by_other"])
    if executed != count:
        raise RuntimeError(f"two keepers: {count - executed} signals did not end executed once: {states}")
    import sqlite3

    reverted, burnt, sent = 0, 0, 0
    for _proc, _url, db in started:
        con = sqlite3.connect(db)
        try:
            n, gas = con.execute("SELECT count(*), coalesce(sum(gas_used), 0) FROM txs WHERE receipt_status = 0"
                                 ).fetchone()
            sent += con.execute("SELECT count(*) FROM txs WHERE mined_block IS NOT NULL").fetchone()[0]
        finally:
            con.close()
        reverted, burnt = reverted + n, burnt + gas
    _progress(f"two keepers: {count} signals, {sent} transactions mined, {reverted} reverted ({burnt:,} gas burnt)")
    return {"keeper.two_keepers_reverted_per_signal": round(reverted / count, 3),
            "keeper.two_keepers_burnt_gas_per_signal": round(burnt / count, 1),
            "keeper.two_keepers_transactions_per_signal": round(sent / count, 3)}


async def _drive_pair(urls: list[str], book: list[signals.SignedSignal]) -> list[list[str]]:
    """Post every signal to every keeper at the same moment; each signal's final state at each."""
    transport = httpx.AsyncHTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    async with httpx.AsyncClient(timeout=120, transport=transport) as http:
        async def post(url: str, signed: signals.SignedSignal) -> int:
            answer = await http.post(f"{url}/signals", content=signed.to_json(),
                                     headers={"content-type": "application/json"})
            if answer.status_code != 202:
                raise RuntimeError(f"signal refused by {url}: {answer.text}")
            return int(answer.json()["id"])

        async def final(url: str, signal_id: int) -> str:
            while True:
                record = (await http.get(f"{url}/signals/{signal_id}", params={"wait": 60})).json()
                if record["state"] in ("executed", "executed_by_other", "rejected", "failed", "expired"):
                    return str(record["state"])

        ids = [await asyncio.gather(*(post(url, signed) for url in urls)) for signed in book]
        return [list(await asyncio.gather(*(final(url, i) for url, i in zip(urls, pair, strict=True))))
                for pair in ids]


def run(out_path: Path | None = None, *, signals_total: int = 600, vaults: int = 5, latency_share: float = 0.4,
        steps_tracing: bool = False) -> dict[str, float]:
    """Run the benchmark; returns (and writes to `out_path`) the keeper's metrics.

    Two phases over the same keeper: `latency_share` of the signals one at a time (the keeper's
    own latency: keeper.internal_*, keeper.mined_*), then the rest with one client per vault in
    parallel (keeper.signals_per_s, and the latencies under that load as keeper.loaded_*). Then
    two keepers on one vault (keeper.two_keepers_*).

    anvil runs without `--steps-tracing` unless asked: the devnet's tracer makes each mined swap
    cost 30-150 ms (and more as the chain grows), which would measure the tracer, not the keeper."""
    per_vault = -(-signals_total // vaults)
    sequential = max(1, round(per_vault * latency_share))
    with tempfile.TemporaryDirectory(prefix="bench-keeper-") as tmp:
        workdir = Path(tmp)
        anvil = Anvil(log_path=workdir / "anvil.log", steps_tracing=steps_tracing)
        keeper: Child | None = None
        try:
            w3 = anvil.start()
            _progress(f"deploying Uniswap, Cohort and {vaults} funded vaults")
            m, made = _deploy(w3, workdir, anvil.rpc_url, vaults)
            _progress(f"signing {per_vault * vaults} signals")
            books = [_signal_book(m, v, per_vault, first_nonce=1) for v in made]
            keeper, url, db = start_keeper(workdir, anvil.rpc_url, [v.address for v in made])
            _progress(f"keeper up at {url}; latency phase: one signal in flight")
            first = asyncio.run(_drive(url, [b[:sequential] for b in books], concurrent=False, label="latency"))
            _progress(f"load phase: {vaults} clients (one per vault), one signal in flight each")
            second = asyncio.run(_drive(url, [b[sequential:] for b in books], concurrent=True, label="load"))
            keeper.terminate(30)
            _progress(f"two keepers on one vault: {TWO_KEEPER_SIGNALS} signals to both, a block every {BLOCK_TIME_S}s")
            pair = _two_keepers(workdir, w3, m, anvil.rpc_url, TWO_KEEPER_SIGNALS)
        finally:
            if keeper is not None:
                keeper.stop(30)
            anvil.stop()
        quiet, _ = _measure(db, first)
        loaded, rate = _measure(db, second)
    metrics = {
        "keeper.internal_p50_ms": quiet["internal_p50"], "keeper.internal_p99_ms": quiet["internal_p99"],
        "keeper.mined_p50_ms": quiet["mined_p50"], "keeper.mined_p99_ms": quiet["mined_p99"],
        "keeper.signals_per_s": rate,
        "keeper.loaded_internal_p50_ms": loaded["internal_p50"],
        "keeper.loaded_internal_p99_ms": loaded["internal_p99"],
        "keeper.loaded_mined_p99_ms": loaded["mined_p99"],
        **pair,
    }
    notes = (f"{len(first) + len(second)} signals (Uniswap V3 swaps) over {vaults} vaults: {len(first)} one at a time "
             f"(internal/mined), then {len(second)} with {vaults} clients in parallel (signals_per_s, loaded_*). "
             f"Keeper as a subprocess (poll_interval_s=0.1, sqlite FULL, WAL); anvil automine "
             f"{'with' if steps_tracing else 'without'} --steps-tracing; secp256k1 backend "
             f"{type(eth_keys.backends.get_backend()).__name__}; {os.cpu_count()} CPUs shared by anvil, keeper and "
             f"client. internal = HTTP receipt (body read) -> node accepted the signed transaction; mined = HTTP "
             f"receipt -> keeper holds the receipt. two_keepers_*: {TWO_KEEPER_SIGNALS} signals, each posted to two "
             f"keeper processes (default settings: claim_slot_s 2) of one vault at once, anvil mining a block every "
             f"{BLOCK_TIME_S}s; burnt gas = gas used by reverted transactions.")
    result = {"metrics": metrics, "notes": notes}
    if out_path is not None:
        Path(out_path).write_text(json.dumps(result, indent=2) + "\n")
    return metrics


def _measure(db: Path, ids: list[int]) -> tuple[dict[str, float], float]:
    """Latency percentiles (ms) of the signals `ids`, read from the keeper's store, and their rate."""
    import sqlite3

    con = sqlite3.connect(db)
    try:
        marks = ",".join("?" * len(ids))
        rows = con.execute(f"SELECT received_at, broadcast_at, mined_at FROM signals WHERE state = 'executed' "
                           f"AND id IN ({marks})", ids).fetchall()
    finally:
        con.close()
    internal = [(b - r) * 1000 for r, b, _m in rows]
    mined = [(mi - r) * 1000 for r, _b, mi in rows]
    span = max(mi for _r, _b, mi in rows) - min(r for r, _b, _m in rows)
    return ({"internal_p50": round(statistics.median(internal), 2), "internal_p99": round(percentile(internal, 99), 2),
             "mined_p50": round(statistics.median(mined), 2), "mined_p99": round(percentile(mined, 99), 2)},
            round(len(rows) / span, 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=600)
    parser.add_argument("--vaults", type=int, default=5)
    parser.add_argument("--out", type=Path, help="write {metrics, notes} JSON here")
    parser.add_argument("--steps-tracing", action="store_true", help="run anvil with the devnet's tracer on")
    args = parser.parse_args(argv)
    metrics = run(args.out, signals_total=args.signals, vaults=args.vaults, steps_tracing=args.steps_tracing)
    for name, value in metrics.items():
        print(f"{name:<32} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
