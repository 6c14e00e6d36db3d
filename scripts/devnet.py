"""Local devnet: `python -m scripts.devnet up|down|status`.

`up` attaches to the RPC if one answers, else starts anvil in the background (its state is
kept in .devnet/state.json across `down`/`up`), brings up Uniswap, the test tokens and the
Cohort contracts (reusing whatever the manifest already records), and prints the manifest
path and a live quote. `down` stops the anvil that `up` started.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from web3 import Web3

from cohort import manifest as mf
from cohort import protocol
from cohort.accounts import dev_account
from cohort.artifacts import REPO_ROOT
from cohort.chain import DEFAULT_RPC, connect, rpc_alive
from cohort.deploy import has_code
from cohort.dev import devnet
from cohort.dev.anvil import DevChain, pid_alive
from cohort.dev.stack import Anvil, stop_group
from cohort.settings import CohortSettings

STATE_DIR = REPO_ROOT / ".devnet"
PID_FILE = STATE_DIR / "anvil.pid"


def _progress(msg: str) -> None:
    print(f"  - {msg}", flush=True)


def start_background_anvil(port: int) -> Anvil:
    STATE_DIR.mkdir(exist_ok=True)
    anvil = Anvil(port=port, state_path=STATE_DIR / "state.json", log_path=STATE_DIR / "anvil.log")
    anvil.start()
    assert anvil.process is not None
    PID_FILE.write_text(json.dumps({"pid": anvil.process.pid, "port": port}))
    return anvil


def ensure_devnet_vault(w3: Web3, m: mf.Manifest, path: Path) -> mf.Manifest:
    """Vault `alpha` with anvil's dev accounts in every role, so the CLI, `make keeper` and
    `make api` have something to act on: owner #1, keeper #2, guardian #3, fee recipient #4,
    manager #5 (their keys are public: devnet only)."""
    info = m.cohort.vaults.get("alpha")
    if info is not None and has_code(w3, info.address):
        return m
    _progress("creating vault 'alpha' (owner #1, keeper #2, guardian #3, fee recipient #4, manager #5)")
    accounts = [dev_account(i).address for i in range(6)]
    protocol.create_vault(w3, m, protocol.VaultConfig(), label="alpha", owner=accounts[1],
                          manager=accounts[5], guardian=accounts[3], fee_recipient=accounts[4],
                          keepers=[accounts[2]], sender=accounts[1], path=path)
    return mf.load(path)


def print_summary(m: mf.Manifest, path: Path, rpc_url: str) -> None:
    w3 = connect(rpc_url)
    v3 = devnet.v3_from_manifest(w3, m)
    weth, usdc, wbtc = (m.token(s) for s in ("WETH", "USDC", "WBTC"))
    print(f"\nmanifest: {path}")
    print(f"rpc:      {rpc_url} (chain id {m.chain_id}, block {w3.eth.block_number})")
    for s, t in m.tokens.items():
        print(f"  {s:<5} {t.address}  ({t.decimals} decimals)")
    print(f"  Uniswap V3 SwapRouter {m.uniswap_v3.swap_router}, QuoterV2 {m.uniswap_v3.quoter_v2}")
    print(f"  Uniswap V2 Router02   {m.uniswap_v2.router02}")
    if m.cohort.factory:
        print(f"  Cohort VaultFactory   {m.cohort.factory}, oracle {m.cohort.oracle}")
    for label, v in m.cohort.vaults.items():
        print(f"  vault {label}: {v.address} ({v.symbol})")
    eth_out = v3.quote_exact_input_single(weth.address, usdc.address, 3000, 10**18)
    btc_out = v3.quote_exact_input_single(wbtc.address, usdc.address, 3000, 10**8)
    print(f"live quote (QuoterV2, 0.3% pools): 1 WETH -> {eth_out / 10**6:,.2f} USDC; "
          f"1 WBTC -> {btc_out / 10**6:,.2f} USDC")


def up(args: argparse.Namespace) -> int:
    rpc_url = args.rpc_url
    if rpc_alive(rpc_url):
        print(f"attaching to the chain at {rpc_url}")
    else:
        port = int(rpc_url.rsplit(":", 1)[1])
        print(f"starting anvil on port {port} (state in {STATE_DIR / 'state.json'})")
        start_background_anvil(port)
    w3 = connect(rpc_url)
    DevChain(w3).align_clock()
    path = Path(args.manifest)
    m = devnet.bootstrap(w3, path, network=args.network, rpc_url=rpc_url, progress=_progress)
    m = protocol.ensure_protocol(w3, m, path, progress=_progress)
    m = ensure_devnet_vault(w3, m, path)
    print_summary(m, path, rpc_url)
    return 0


def down(_: argparse.Namespace) -> int:
    if not PID_FILE.exists():
        print("no devnet anvil recorded (nothing to stop)")
        return 0
    pid = int(json.loads(PID_FILE.read_text())["pid"])
    if pid_alive(pid):
        stop_group(pid)  # anvil writes --state on SIGTERM
        print(f"stopped anvil (pid {pid}); state kept in {STATE_DIR / 'state.json'}")
    PID_FILE.unlink(missing_ok=True)
    return 0


def status(args: argparse.Namespace) -> int:
    alive = rpc_alive(args.rpc_url)
    print(f"rpc {args.rpc_url}: {'up' if alive else 'down'}")
    if alive and Path(args.manifest).exists():
        print_summary(mf.load(args.manifest), Path(args.manifest), args.rpc_url)
    return 0 if alive else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cohort-devnet", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--rpc-url", default=CohortSettings().rpc_url or DEFAULT_RPC,
                        help="RPC URL (COHORT_RPC_URL; default %(default)s); on another port, anvil starts there")
    parser.add_argument("--network", default="local")
    parser.add_argument("--manifest", default=None, help="manifest path (default deployments/<network>.json)")
    args = parser.parse_args(argv)
    args.manifest = args.manifest or str(mf.default_path(args.network))
    return {"up": up, "down": down, "status": status}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
