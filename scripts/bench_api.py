"""Benchmark of the indexer and the API: `python -m scripts.bench_api [--out bench/api.json]`.

1. Starts its own anvil, deploys the markets and Cohort, and builds a history of more than
   50,000 vault events: 10,000 synthetic investors deposit (contracts/test/BulkInvestors.sol
   does hundreds of deposits per transaction), the manager trades, fees accrue, and 22,000 share
   transfers spread shares over the same investors.
2. Bare eth_getLogs over the same history and block ranges: the ceiling for any indexer.
3. The indexer (decode, books, SQLite writes, one transaction per batch) from an empty database:
   `indexer.events_per_s`; the same into a scratch PostgreSQL database when the server at
   --postgres answers (`indexer.postgres_events_per_s`; the database is dropped afterwards).
4. The API as its own process (`python -m api.cli serve --no-indexer`) on the SQLite database,
   and a load generator as another process (`python -m scripts.bench_api load ...`, asyncio +
   httpx, keep-alive connections on loopback) asking for the MAM view of random investors of the
   10,000-investor vault: `api.mam_p50_ms`, `api.mam_p99_ms` under load (after a warm-up), and
   the same on a single connection (`api.mam_unloaded_*`); the manager's view of all 10,000
   accounts (first answer computes every account, later ones are cached per indexed block).

Writes `{"metrics": {...}, "notes": "..."}` to --out (if given) and prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address
from web3 import Web3

INVESTORS = 10_000
DEPOSITS_PER_TX = 500
TRANSFERS = 22_000
TRANSFERS_PER_TX = 1_000
TRADES = 20
LOAD_REQUESTS = 4_000
LOAD_CONCURRENCY = 8
CROWD = 32  # clients at once for api.mam_p99_ms_32 (issue 17: goal p99 < 50 ms on SQLite)
UNLOADED_REQUESTS = 500
SEED = keccak(text="cohort-bench")
USDC = 10**6
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"  # server to borrow a scratch database from


def _say(message: str) -> None:
    print(f"[bench_api] {message}", file=sys.stderr, flush=True)


def investor(seed: bytes, index: int) -> str:
    """BulkInvestors.investor(seed, index)."""
    return str(to_checksum_address(keccak(abi_encode(["bytes32", "uint256"], [seed, index]))[-20:]))


# ---------------------------------------------------------------------------- the chain
@contextlib.contextmanager
def _anvil(folder: Path) -> Iterator[tuple[str, Web3]]:
    """An anvil of our own with room for big transactions (and without step tracing)."""
    from cohort.chain import connect
    from cohort.dev.stack import Anvil

    with Anvil(log_path=folder / "anvil.log", extra_args=("--gas-limit", "1000000000")) as node:
        yield node.rpc_url, connect(node.rpc_url)


def build_history(w3: Web3, rpc_url: str, folder: Path) -> dict[str, Any]:
    """Markets, Cohort, a vault, 10,000 investors and more than 50,000 vault events."""
    from cohort import protocol, signals
    from cohort.accounts import dev_account
    from cohort.artifacts import project_artifact
    from cohort.deploy import deploy
    from cohort.dev import devnet
    from cohort.dev.anvil import DevChain
    from cohort.onchain import SizeMode
    from cohort.tx import transact
    from cohort.uniswap import encode_v3_path

    path = folder / "local.json"
    _say("deploying the markets (Uniswap V2/V3, tokens) and Cohort")
    m = protocol.ensure_protocol(w3, devnet.bootstrap(w3, path, rpc_url=rpc_url), path)
    chain = DevChain(w3)
    a = chain.dev_accounts()
    owner, keeper, guardian, fees, manager = a[1], a[2], a[3], a[4], dev_account(5)
    vault = protocol.create_vault(w3, m, protocol.VaultConfig(name="Cohort Bench", symbol="cBENCH"), label="bench",
                                  owner=owner, manager=manager.address, guardian=guardian, fee_recipient=fees,
                                  keepers=[keeper], sender=owner)
    bulk = deploy(w3, project_artifact("BulkInvestors"), sender=a[0])
    usdc = devnet.token(w3, m, "USDC")
    each = 10 * USDC
    transact(usdc.functions.mint(bulk.address, INVESTORS * each + TRANSFERS * each + 1_000 * USDC), a[0])
    started = time.monotonic()
    for first in range(0, INVESTORS, DEPOSITS_PER_TX):
        transact(bulk.functions.depositFor(vault.address, SEED, first, min(INVESTORS, first + DEPOSITS_PER_TX), each),
                 a[0], gas=900_000_000)
        _say(f"deposits: {min(INVESTORS, first + DEPOSITS_PER_TX):,}/{INVESTORS:,} investors "
             f"({time.monotonic() - started:.0f}s)")
    transact(bulk.functions.depositSelf(vault.address, TRANSFERS * each), a[0], gas=5_000_000)
    shares_each = vault.balance_of(bulk.address) // TRANSFERS

    domain = vault.domain()
    adapter = m.cohort.adapters["uniswap-v3"]
    base, weth = m.token("USDC").address, m.token("WETH").address
    for i in range(TRADES):
        tin, tout, size, limit = ((base, weth, 500, Decimal(1) / 3000 / 2) if i % 2 == 0
                                  else (weth, base, 5_000, Decimal(3000) / 2))
        signal = signals.TradeSignal(tin, tout, SizeMode.HOLDINGS, size, signals.limit_price_wad(limit), 100,
                                     adapter, encode_v3_path([tin, tout], [3000]), 1_000 + i, 2**40)
        vault.execute_signal(signals.sign(signal, domain, manager), keeper)
        if i % 5 == 4:
            chain.increase_time(3_600)
            vault.accrue_fees(keeper)
    _say(f"{TRADES} trades and {TRADES // 5} fee accruals done")
    started = time.monotonic()
    for start in range(0, TRANSFERS, TRANSFERS_PER_TX):
        transact(bulk.functions.spread(vault.address, SEED, start, TRANSFERS_PER_TX, INVESTORS, shares_each),
                 a[0], gas=900_000_000)
        _say(f"share transfers: {start + TRANSFERS_PER_TX:,}/{TRANSFERS:,} ({time.monotonic() - started:.0f}s)")
    head = w3.eth.block_number
    events = len(w3.provider.make_request("eth_getLogs", [{"address": vault.address, "fromBlock": "0x0",  # type: ignore[arg-type]
                                                           "toBlock": hex(head)}])["result"])
    _say(f"history: {events:,} vault events up to block {head:,}")
    return {"manifest": path, "vault": vault.address, "head": head, "events": events,
            "factory": m.cohort.factory, "factory_block": m.cohort.factory_block}


# ---------------------------------------------------------------------------- measurements
def bare_get_logs(rpc_url: str, history: dict[str, Any], batch: int) -> tuple[int, float]:
    """eth_getLogs alone (HTTP + JSON, no decoding) over the indexer's block ranges."""
    addresses = [history["factory"], history["vault"]]
    count, started = 0, time.monotonic()
    with httpx.Client(timeout=600) as client:
        for first in range(history["factory_block"], history["head"] + 1, batch):
            last = min(first + batch - 1, history["head"])
            body = {"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs",
                    "params": [{"fromBlock": hex(first), "toBlock": hex(last), "address": addresses}]}
            count += len(client.post(rpc_url, json=body).json()["result"])
    return count, time.monotonic() - started


def index(rpc_url: str, history: dict[str, Any], database_url: str) -> tuple[int, float, int]:
    from api.db import make_engine, migrate
    from api.indexer.runner import Indexer
    from api.settings import Settings

    settings = Settings(rpc_url=rpc_url, manifest=history["manifest"], database_url=database_url, indexer=False,
                        progress_interval=2.0)
    engine = make_engine(database_url)
    migrate(engine)
    indexer = Indexer(settings, engine, progress=_say)
    started = time.monotonic()
    report = indexer.sync()
    seconds = time.monotonic() - started
    engine.dispose()
    return report.events, seconds, report.batches


@contextlib.contextmanager
def scratch_postgres(server_url: str) -> Iterator[str | None]:
    """A PostgreSQL database of our own on `server_url`'s server (None if it is unreachable)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"cohort_bench_api_{os.getpid()}"
    try:
        admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        _say(f"PostgreSQL at {server_url} is not usable ({type(exc).__name__}): SQLite only")
        yield None
        return
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def serve(rpc_url: str, history: dict[str, Any], database_url: str, folder: Path) -> Iterator[str]:
    from cohort.dev.stack import api_process, free_port

    port = free_port()
    server = api_process(rpc_url, database_url, history["manifest"], port, folder / "api.log", indexer=False)
    url = f"http://127.0.0.1:{port}"
    server.start()
    try:
        server.wait_ready(60, interval=0.2)
        yield url
    finally:
        server.stop()


def load_from_another_process(url: str, vault: str, requests: int, concurrency: int, seed: int) -> dict[str, float]:
    """Each run asks for its own random investors (`seed`): no run is served from another's cache."""
    out = subprocess.run([sys.executable, "-m", "scripts.bench_api", "load", "--url", url, "--vault", vault,
                          "--requests", str(requests), "--concurrency", str(concurrency), "--seed", str(seed)],
                         capture_output=True, text=True, timeout=1_800, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


class _Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough HTTP for GETs of JSON. The load
    generator shares the CPUs with the server: at 32 clients httpx's own ~1 ms of Python per
    request would queue inside the generator and be counted as the server's latency."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, url: str) -> _Connection:
        parts = httpx.URL(url)
        reader, writer = await asyncio.open_connection(parts.host, parts.port)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer, f"{parts.host}:{parts.port}")

    async def get(self, path: str) -> tuple[int, bytes]:
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def _load(url: str, vault: str, requests: int, concurrency: int, seed: int) -> dict[str, float]:
    """The load generator: `concurrency` clients on keep-alive connections, random investors."""
    rng = random.Random(seed)
    who = [investor(SEED, rng.randrange(INVESTORS)) for _ in range(requests + 50)]
    latencies: list[float] = []
    errors = 0
    connections = [await _Connection.open(url) for _ in range(concurrency)]
    for address in who[:50]:  # warm-up: connections, caches
        await connections[0].get(f"/vaults/{vault}/investors/{address}")
    queue: asyncio.Queue[str] = asyncio.Queue()
    for address in who[50:]:
        queue.put_nowait(address)

    async def client(connection: _Connection) -> None:
        nonlocal errors
        while not queue.empty():
            address = queue.get_nowait()
            started = time.perf_counter()
            status, body = await connection.get(f"/vaults/{vault}/investors/{address}")
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200 or b'"tickets":{"items":[{' not in body:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in connections))
    elapsed = time.perf_counter() - started
    for connection in connections:
        connection.close()
    manager = []
    audit: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        for _ in range(5):
            t0 = time.perf_counter()
            response = await http.get(f"/vaults/{vault}/accounts", params={"limit": 100})
            manager.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200 or response.json()["accounts"]["total"] < INVESTORS:
                errors += 1
        if concurrency == 1:  # the auditor's endpoints, once, on the quiet server
            for name, offset in (("reconciliation_first_page_ms", 0), ("reconciliation_next_page_ms", 500),
                                 ("reconciliation_again_ms", 500)):
                t0 = time.perf_counter()
                response = await http.get(f"/vaults/{vault}/reconciliation", params={"accounts_offset": offset})
                audit[name] = (time.perf_counter() - t0) * 1000
                if response.status_code != 200 or not response.json()["ok"]:
                    errors += 1
            t0 = time.perf_counter()
            response = await http.get(f"/vaults/{vault}/events.csv")
            audit["events_csv_page_ms"] = (time.perf_counter() - t0) * 1000
            audit["events_csv_page_kb"] = len(response.content) / 1024
            if response.status_code != 200 or "x-next-after" not in response.headers:
                errors += 1
    latencies.sort()
    return {"p50_ms": statistics.median(latencies), "p99_ms": latencies[int(len(latencies) * 0.99) - 1],
            "max_ms": latencies[-1], "requests_per_s": len(latencies) / elapsed, "errors": errors,
            "manager_first_ms": manager[0], "manager_warm_ms": statistics.median(manager[1:]), **audit}


def run(out_path: Path | None = None, postgres: str | None = POSTGRES) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="cohort-bench-api-") as tmp:
        folder = Path(tmp)
        with _anvil(folder) as (rpc_url, w3):
            history = build_history(w3, rpc_url, folder)
            database_url = f"sqlite:///{folder / 'bench.sqlite3'}"
            _say("indexing from an empty SQLite database")
            events, seconds, batches = index(rpc_url, history, database_url)
            _say(f"indexed {events:,} events in {seconds:.1f}s ({events / seconds:,.0f} events/s, {batches} batches)")
            raw_events, raw_seconds = bare_get_logs(rpc_url, history, 2_000)
            _say(f"bare eth_getLogs: {raw_events:,} logs in {raw_seconds:.2f}s ({raw_events / raw_seconds:,.0f}/s)")
            pg_rate = None
            with scratch_postgres(postgres) if postgres else contextlib.nullcontext(None) as pg_url:
                if pg_url is not None:
                    _say("indexing the same history into PostgreSQL")
                    pg_events, pg_seconds, _ = index(rpc_url, history, pg_url)
                    pg_rate = pg_events / pg_seconds
                    _say(f"PostgreSQL: {pg_events:,} events in {pg_seconds:.1f}s ({pg_rate:,.0f} events/s)")
            with serve(rpc_url, history, database_url, folder) as url:
                _say(f"MAM view under load: {LOAD_REQUESTS:,} requests, {LOAD_CONCURRENCY} connections, "
                     "from a separate process")
                load = load_from_another_process(url, history["vault"], LOAD_REQUESTS, LOAD_CONCURRENCY, 7)
                _say(f"MAM view with {CROWD} clients at once")
                crowd = load_from_another_process(url, history["vault"], LOAD_REQUESTS, CROWD, 32)
                _say(f"and alone: {UNLOADED_REQUESTS} requests on one connection")
                alone = load_from_another_process(url, history["vault"], UNLOADED_REQUESTS, 1, 1)
    if load["errors"] or alone["errors"] or crowd["errors"]:
        raise RuntimeError(f"the load generator saw {load['errors'] + alone['errors'] + crowd['errors']} bad answers")
    metrics = {
        "indexer.events_per_s": round(events / seconds, 1),
        "indexer.raw_getlogs_events_per_s": round(raw_events / raw_seconds, 1),
        "indexer.events": float(events),
        "indexer.seconds": round(seconds, 2),
        **({"indexer.postgres_events_per_s": round(pg_rate, 1)} if pg_rate else {}),
        "api.mam_p50_ms": round(load["p50_ms"], 2),
        "api.mam_p99_ms": round(load["p99_ms"], 2),
        "api.mam_requests_per_s": round(load["requests_per_s"], 1),
        "api.mam_p50_ms_32": round(crowd["p50_ms"], 2),
        "api.mam_p99_ms_32": round(crowd["p99_ms"], 2),
        "api.mam_max_ms_32": round(crowd["max_ms"], 2),
        "api.mam_requests_per_s_32": round(crowd["requests_per_s"], 1),
        "api.mam_unloaded_p50_ms": round(alone["p50_ms"], 2),
        "api.mam_unloaded_p99_ms": round(alone["p99_ms"], 2),
        "api.manager_view_first_ms": round(load["manager_first_ms"], 1),
        "api.manager_view_warm_ms": round(load["manager_warm_ms"], 1),
        **{f"api.{k}": round(v, 1) for k, v in alone.items() if k.startswith(("reconciliation_", "events_csv_"))},
    }
    notes = (f"{history['events']:,} vault events ({INVESTORS:,} investors: {INVESTORS:,} deposits, {TRADES} trades, "
             f"{TRANSFERS:,} share transfers) on anvil; indexer into SQLite (WAL) from an empty database, "
             f"{batches} eth_getLogs batch(es), decode + books + writes included; bare eth_getLogs = HTTP + JSON only "
             f"over the same ranges. MAM view: GET /vaults/{{vault}}/investors/{{investor}} (20 tickets each) for "
             f"random investors of the {INVESTORS:,}-investor vault, {LOAD_REQUESTS:,} requests over "
             f"{LOAD_CONCURRENCY} keep-alive connections from a separate process on loopback (asyncio + httpx), and "
             f"again over {CROWD} (the _32 metrics), one "
             "uvicorn worker with 4 handler threads, after 50 warm-up requests; 'unloaded' = one connection, "
             f"{UNLOADED_REQUESTS} requests. {os.cpu_count()} CPUs shared by anvil, the API and the load generator.")
    result = {"metrics": metrics, "notes": notes}
    text = json.dumps(result, indent=2)
    if out_path is not None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(text + "\n")
    print(text, flush=True)
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_api", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="write the JSON result here")
    parser.add_argument("--postgres", default=POSTGRES,
                        help="PostgreSQL server to also index into (a scratch database is created and dropped); "
                             "'' to skip")
    sub = parser.add_subparsers(dest="command")
    load = sub.add_parser("load", help="(internal) the load generator process")
    load.add_argument("--url", required=True)
    load.add_argument("--vault", required=True)
    load.add_argument("--requests", type=int, default=LOAD_REQUESTS)
    load.add_argument("--concurrency", type=int, default=LOAD_CONCURRENCY)
    load.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.command == "load":
        print(json.dumps(asyncio.run(_load(args.url, args.vault, args.requests, args.concurrency, args.seed))),
              flush=True)
        return 0
    run(args.out, args.postgres or None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
