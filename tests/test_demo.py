"""`make demo EXIT=1` end to end: the whole scenario runs, every step is shown, the summary table
equals what the API serves, and nothing is left running."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from cohort.artifacts import REPO_ROOT
from cohort.dev.anvil import pid_alive
from scripts.demo import MATCH_LINE, STEPS, STRATEGY_MATCH_LINE

DEMO_TIMEOUT_S = 240


@pytest.mark.slow
def test_the_demo_plays_every_step_and_its_summary_matches_the_api(tmp_path: Path) -> None:
    state = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "scripts.demo", "--exit", "--state-dir", str(state),
                           "--rpc-port", "0", "--keeper-port", "0", "--api-port", "0"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=DEMO_TIMEOUT_S, check=False)
    out = done.stdout
    assert done.returncode == 0, f"demo failed ({done.returncode}):\n{out[-4000:]}\n{done.stderr[-4000:]}"

    for number, title in enumerate(STEPS, start=1):
        assert f"[{number:>2}/{len(STEPS)}] {title}" in out, f"step {number} ({title}) is missing"
    # what each step is about actually happened, in the words the demo prints
    for evidence in ("deposits", "POST http://", "keeper executed it in block", "limit <=", "oracle", "execution",
                     "bad_signature", "(+8.00%)", "minted", "escrowed in epoch", "unwindForRedemptions()",
                     "settleRedemptions()", "claims from alpha", "claimable", "pending"):
        assert evidence in out, f"the output does not show {evidence!r}"
    assert f"{MATCH_LINE}: 8 sub-accounts" in out
    # the strategy: both followers side by side, filled at one block price, 1.5x selling three times 0.5x
    assert f"{STRATEGY_MATCH_LINE}: " in out
    assert "/masters -> 202; the keeper finds 2 followers it serves" in out  # the running keeper executed it
    table = out[out.index("executed in block"):out.index(STRATEGY_MATCH_LINE)]
    header = re.search(r"^ +calm \(0\.5x\) +bold \(1\.5x\)$", table, re.MULTILINE)
    assert header, table
    rows = {m.group(1): [cell.strip() for cell in m.group(2).split("  ") if cell.strip()]
            for m in re.finditer(r"^  (\S[\w& ]*?)  +(\S.*)$", table, re.MULTILINE)}
    calm, bold = (Decimal(cell.split()[0].replace(",", "")) for cell in rows["USDC sold"])
    assert bold == 3 * calm > 0
    assert len(set(rows["block price"])) == 1 and rows["fill price"] == rows["block price"]
    assert rows["ticket from"] == ["strategy #1", "strategy #1"] and len(rows["P&L"]) == 2
    assert re.search(r"API: +http://127\.0\.0\.1:\d+ +\(OpenAPI docs: http://127\.0\.0\.1:\d+/docs\)", out)
    assert re.search(r"App: +http://127\.0\.0\.1:\d+/ ", out)

    stopped = re.search(r"^stopped (.+)$", out, re.MULTILINE)
    assert stopped, "the demo did not say what it stopped"
    pids = [int(p) for p in re.findall(r"\(pid (\d+)\)", stopped.group(1))]
    assert len(pids) == 3, stopped.group(1)  # keeper, API, anvil
    assert not [pid for pid in pids if pid_alive(pid)], "a process of the demo outlived it"
    assert not (state / "demo.pid").exists()
    assert {"keeper.log", "api.log", "anvil.log", "local.json", "keeper.toml"} <= {p.name for p in state.iterdir()}
