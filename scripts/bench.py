"""`make bench`: every benchmark of the project in one run.

Runs, one after another so they do not share the CPUs: the gas figures (scripts/bench_gas.py and,
for MAM bulk execution, scripts/bench_mam.py),
the keeper's latency and throughput (scripts/bench_keeper.py) and the indexer's throughput and
the API's latency (scripts/bench_api.py). Writes `bench/results.json`
({"machine", "date", "metrics": {name: number}}) and rewrites `BENCHMARKS.md` with the figures,
the machine's description and the date. Each part starts its own anvil.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from cohort.artifacts import REPO_ROOT
from cohort.dev.stack import anvil_binary

RESULTS = REPO_ROOT / "bench" / "results.json"
REPORT = REPO_ROOT / "BENCHMARKS.md"
# Hand-written notes kept under the figures (what each gas change saved, what is left): the report
# is rewritten on every run, the notes are not.
NOTES = REPO_ROOT / "bench" / "NOTES.md"

# name -> (what it measures, goal or None)
DESCRIPTIONS: dict[str, tuple[str, str | None]] = {
    "gas.deposit_ratio_vs_oz": ("deposit into a vault holding one non-base asset / plain OZ ERC-4626 deposit",
                                "<= 1.5"),
    "gas.settle_ratio_1000_vs_1": ("settleRedemptions gas, 1,000 requests from 1,000 controllers / 1 request",
                                   "<= 1.05"),
    "gas.execute_signal_ratio_v3_single": ("executeSignal / the same V3 single-hop swap sent to SwapRouter by an EOA",
                                           "<= 1.35"),
    "gas.execute_signal_ratio_v2_single": ("executeSignal / the same swap sent to V2 Router02 by an EOA", "<= 1.45"),
    "gas.execute_signal_ratio_v3_two_hop": ("executeSignal / the same two-hop V3 swap sent to SwapRouter", None),
    "gas.bulk_marginal_per_follower": ("MAM: gas each extra follower adds to one bulk execution (1 to 50 followers)",
                                       "<= 35,000"),
    "gas.bulk_marginal_per_follower_10": ("MAM: the same, 1 to 10 followers", None),
    "gas.bulk_10_vs_10_separate": ("MAM: one bulk execution for 10 followers / 10 separate executeSignal", "<= 0.35"),
    "keeper.master_mined_p50_ms_10": ("keeper: a master signal's HTTP receipt to all 10 followers' trades mined, "
                                      "median", None),
    "keeper.master_mined_p99_ms_10": ("the same, 99th percentile (20 master signals)", None),
    "keeper.master_mined_p50_ms_50": ("keeper: the same for 50 followers, median", None),
    "keeper.master_mined_p99_ms_50": ("the same, 99th percentile (10 master signals)", None),
    "keeper.internal_p50_ms": ("keeper: HTTP receipt of a signal to broadcast, median", None),
    "keeper.internal_p99_ms": ("keeper: HTTP receipt of a signal to broadcast, 99th percentile", "< 10"),
    "keeper.mined_p50_ms": ("keeper: HTTP receipt to mined on anvil (automine), median", None),
    "keeper.mined_p99_ms": ("keeper: HTTP receipt to mined on anvil (automine), 99th percentile", None),
    "keeper.signals_per_s": ("keeper throughput, several vaults in parallel", None),
    "keeper.two_keepers_reverted_per_signal": ("two keepers of one vault given every signal at once (1 s blocks): "
                                               "reverted transactions per signal", "0"),
    "keeper.two_keepers_burnt_gas_per_signal": ("the same: gas burnt by reverted transactions, per signal", "0"),
    "indexer.events_per_s": ("indexer: events stored per second over a 50,000+ event history (SQLite)", None),
    "indexer.raw_getlogs_events_per_s": ("bare eth_getLogs over the same history: the ceiling", None),
    "api.mam_p50_ms": ("MAM view of one investor in a 10,000-investor vault under concurrent load, median", None),
    "api.mam_p99_ms": ("the same, 99th percentile", None),
    "api.mam_p99_ms_32": ("the same with 32 clients at once (SQLite), 99th percentile", "< 50"),
}


def machine() -> dict[str, object]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(next(ln for ln in Path("/proc/meminfo").read_text().splitlines()
                          if ln.startswith("MemTotal")).split()[1])
    except (OSError, StopIteration, ValueError):
        mem_kb = 0
    anvil = subprocess.run([str(anvil_binary()), "--version"], capture_output=True, text=True).stdout.splitlines()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kb / 1024**2, 1),
            "os": platform.platform(), "python": platform.python_version(),
            "anvil": anvil[0] if anvil else "unknown"}


def _part(name: str, fn: Callable[[], dict[str, float]]) -> dict[str, float]:
    print(f"== {name}", flush=True)
    start = time.monotonic()
    metrics = fn()
    print(f"== {name}: {len(metrics)} figures in {time.monotonic() - start:.0f} s", flush=True)
    return metrics


def run(parts: list[str]) -> dict[str, object]:
    from scripts import bench_api, bench_gas, bench_keeper, bench_mam

    runners: dict[str, Callable[[], dict[str, float]]] = {
        "gas": lambda: bench_gas.run(),
        "mam": lambda: bench_mam.run(),
        "keeper": lambda: bench_keeper.run(),
        "api": lambda: bench_api.run(),
    }
    metrics: dict[str, float] = {}
    for name in parts:
        metrics.update(_part(name, runners[name]))
    return {"machine": machine(), "date": datetime.now(UTC).isoformat(timespec="seconds"), "metrics": metrics}


def report(results: dict[str, object]) -> str:
    m = results["machine"]
    assert isinstance(m, dict)
    metrics = results["metrics"]
    assert isinstance(metrics, dict)
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (scripts/bench.py); the machine-readable copy is `bench/results.json`.",
        "Ratios are measured side by side in the same run. Latencies come from a shared, noisy",
        "machine: compare runs on the same machine only.",
        "",
        f"## Run of {results['date']}",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; {m['os']}; Python {m['python']}; "
        f"{m['anvil']}.",
        "",
        "| metric | value | goal | what it measures |",
        "|---|---|---|---|",
    ]
    described = [k for k in DESCRIPTIONS if k in metrics]
    for name in described + sorted(k for k in metrics if k not in DESCRIPTIONS):
        what, goal = DESCRIPTIONS.get(name, ("", None))
        value = metrics[name]
        shown = f"{value:,.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else f"{value:,}"
        lines.append(f"| `{name}` | {shown} | {goal or ''} | {what} |")
    if NOTES.exists():
        lines += ["", NOTES.read_text().rstrip()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=["gas", "mam", "keeper", "api"],
                        help="run only these parts (repeatable); the others keep their last figures")
    args = parser.parse_args(argv)
    parts = args.only or ["gas", "mam", "keeper", "api"]
    results = run(parts)
    if args.only and RESULTS.exists():  # keep the figures of the parts not re-run
        previous = json.loads(RESULTS.read_text()).get("metrics", {})
        metrics = results["metrics"]
        assert isinstance(metrics, dict)
        results["metrics"] = {**previous, **metrics}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    REPORT.write_text(report(results))
    print(f"wrote {RESULTS.relative_to(REPO_ROOT)} and {REPORT.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
