"""Create a vault through the VaultFactory and record it in the deployment manifest.

    python -m scripts.deploy_vault beta --name "Cohort Beta USDC" --symbol cBETA \\
        --manager 0x... --owner 0x... --keeper 0x... --fees 100/1000 --assets WETH,LINK

Defaults suit the devnet (anvil's dev accounts as roles, the deployer's manifest). The sender
is the owner's account: --dev-account N on the devnet, or COHORT_PRIVATE_KEY with --key-env.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cohort import manifest as mf
from cohort import protocol
from cohort.accounts import dev_account
from cohort.accounts import load as load_account
from cohort.chain import connect
from cohort.errors import CohortError
from cohort.settings import CohortSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy_vault", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("label", help="the vault's label in the manifest")
    parser.add_argument("--name", required=True)
    parser.add_argument("--symbol", required=True)
    parser.add_argument("--base", default="USDC")
    parser.add_argument("--assets", default="WETH,WBTC", help="comma-separated symbols the vault may hold")
    parser.add_argument("--fees", default="200/2000", help="management/performance fee in bps")
    parser.add_argument("--owner", help="default: dev account #1")
    parser.add_argument("--manager", help="default: dev account #5")
    parser.add_argument("--guardian", help="default: dev account #3")
    parser.add_argument("--fee-recipient", help="default: dev account #4")
    parser.add_argument("--keeper", action="append", help="default: dev account #2 (repeatable)")
    parser.add_argument("--notice", type=int, default=86_400, help="notice period, seconds")
    parser.add_argument("--gate", type=int, default=2500, help="gate per epoch, bps of NAV")
    parser.add_argument("--timelock", type=int, default=86_400, help="seconds")
    parser.add_argument("--dev-account", type=int, default=1, help="sender on the devnet (default #1)")
    parser.add_argument("--key-env", action="store_true", help="send with COHORT_PRIVATE_KEY")
    parser.add_argument("--rpc")
    parser.add_argument("--manifest")
    args = parser.parse_args(argv)
    settings = CohortSettings()
    rpc = args.rpc or settings.rpc_url
    path = Path(args.manifest) if args.manifest else settings.manifest
    try:
        if args.key_env:
            if settings.private_key is None:
                raise CohortError("--key-env: set COHORT_PRIVATE_KEY")
            sender = load_account(private_key=settings.private_key.get_secret_value())
        else:
            sender = dev_account(args.dev_account)
        w3 = connect(rpc, accounts=(sender,))
        m = mf.load(path)
        mgmt, perf = (int(x) for x in args.fees.split("/"))
        cfg = protocol.VaultConfig(name=args.name, symbol=args.symbol, base=args.base,
                                   assets=tuple(a.strip().upper() for a in args.assets.split(",") if a.strip()),
                                   management_fee_bps=mgmt, performance_fee_bps=perf, notice_period=args.notice,
                                   gate_bps=args.gate, timelock=args.timelock)
        vault = protocol.create_vault(
            w3, m, cfg, label=args.label, owner=args.owner or dev_account(1).address,
            manager=args.manager or dev_account(5).address, guardian=args.guardian or dev_account(3).address,
            fee_recipient=args.fee_recipient or dev_account(4).address,
            keepers=args.keeper or [dev_account(2).address], sender=sender.address, path=path)
    except (CohortError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"vault {args.label}: {vault.address} ({args.symbol}), recorded in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
