"""Create a vault through the VaultFactory and record it in the deployment manifest; on a
network whose manifest has no Cohort contracts yet, deploy them first (oracle, adapters, admin
module, factory).

On the devnet every role defaults to anvil's dev accounts (owner #1, keeper #2, guardian #3,
fee recipient #4, manager #5) and the sender is dev account #1:

    python -m scripts.deploy_vault beta --name "Cohort Beta USDC" --symbol cBETA --fees 100/1000

On any other network every role must be given, and the sender signs with its own key
(`--key-env` reads COHORT_PRIVATE_KEY, or `--keyfile`, or `--account` for an Ape account):

    COHORT_RPC_URL=https://... python -m scripts.deploy_vault alpha --manifest deployments/mainnet.json \\
        --name "Cohort Alpha USDC" --symbol cALPHA --assets WETH,WBTC --key-env \\
        --owner 0xSAFE... --guardian 0x... --fee-recipient 0x... --manager 0x... --keeper 0x...

Start the manifest from deployments/template.json (deployments/README.md says how). The sender
needs no role afterwards: make the owner a multisig (a Safe, say), since the owner lists assets,
sets fees, keepers and adapters, and confirms every timelocked change.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from web3 import Web3

from cohort import manifest as mf
from cohort import protocol
from cohort.accounts import dev_account
from cohort.accounts import load as load_account
from cohort.chain import DEVNET_CHAIN_ID, connect
from cohort.deploy import has_code
from cohort.errors import CohortError
from cohort.settings import CohortSettings
from cohort.units import parse_bps, parse_duration

ROLES = ("owner", "manager", "guardian", "fee_recipient")
DEV_ROLES = {"owner": 1, "keeper": 2, "guardian": 3, "fee_recipient": 4, "manager": 5}


def placeholders(m: mf.Manifest) -> list[str]:
    """The manifest's addresses that are not addresses (left as the template's `<...>`)."""
    out: list[str] = []

    def walk(value: object, where: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{where}.{k}" if where else str(k))
        elif isinstance(value, str) and value.startswith("<"):
            out.append(where)

    walk(m.model_dump(by_alias=True), "")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy_vault", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("label", help="the vault's label in the manifest")
    parser.add_argument("--name", required=True, help="the share token's name (also the EIP-712 domain name)")
    parser.add_argument("--symbol", required=True)
    parser.add_argument("--base", default="USDC")
    parser.add_argument("--assets", default="WETH,WBTC", help="comma-separated symbols the vault may hold")
    parser.add_argument("--fees", default="200/2000", help="management/performance fee in bps (default 200/2000)")
    parser.add_argument("--owner", help="a multisig on a public network (devnet default: dev account #1)")
    parser.add_argument("--manager", help="devnet default: dev account #5")
    parser.add_argument("--guardian", help="devnet default: dev account #3")
    parser.add_argument("--fee-recipient", help="devnet default: dev account #4")
    parser.add_argument("--keeper", action="append", help="devnet default: dev account #2 (repeatable)")
    parser.add_argument("--notice", default="1d", help="notice period, e.g. 1d or 86400 (default 1d)")
    parser.add_argument("--gate", default="25%", help="gate per epoch, a fraction of NAV (default 25%%)")
    parser.add_argument("--timelock", default="1d", help="delay of governance changes (default 1d)")
    g = parser.add_argument_group("sender (one; default on the devnet: dev account #1)")
    g.add_argument("--dev-account", type=int, help="anvil dev account N (devnet only)")
    g.add_argument("--key-env", action="store_true", help="the private key in COHORT_PRIVATE_KEY")
    g.add_argument("--keyfile", help="a JSON keystore (COHORT_PASSPHRASE or asked)")
    g.add_argument("--account", help="an Ape account alias")
    parser.add_argument("--rpc-url", help="JSON-RPC URL (COHORT_RPC_URL; default: the manifest's rpcUrl)")
    parser.add_argument("--manifest", help="deployment manifest (COHORT_MANIFEST; default deployments/local.json)")
    args = parser.parse_args(argv)
    settings = CohortSettings()
    path = Path(args.manifest) if args.manifest else settings.manifest
    try:
        m = mf.load(path)
        if todo := placeholders(m):
            raise CohortError(f"{path} still has template placeholders at {', '.join(todo)}: fill in the network's "
                              "addresses (deployments/README.md)")
        rpc = args.rpc_url or settings.rpc_url or m.rpc_url
        chosen = [args.dev_account is not None, args.key_env, args.keyfile is not None, args.account is not None]
        if sum(chosen) > 1:
            raise CohortError("give one sender: --dev-account, --key-env, --keyfile or --account")
        key = settings.private_key.get_secret_value() if args.key_env and settings.private_key else None
        if args.key_env and key is None:
            raise CohortError("--key-env: set COHORT_PRIVATE_KEY to the sender's private key")
        passphrase = settings.passphrase.get_secret_value() if settings.passphrase else None
        sender = (load_account(alias=args.account, keyfile=args.keyfile, private_key=key, dev_index=args.dev_account,
                               passphrase=passphrase, ape_data_folder=settings.ape_data_folder)
                  if any(chosen) else dev_account(DEV_ROLES["owner"]))
        w3 = connect(rpc, accounts=(sender,))
        on_devnet = w3.eth.chain_id == DEVNET_CHAIN_ID
        if w3.eth.chain_id != m.chain_id:
            raise CohortError(f"{path} is for chain {m.chain_id}, the node at {rpc} is chain {w3.eth.chain_id}")
        if not on_devnet and not any(chosen):
            raise CohortError("off the devnet, sign with --key-env, --keyfile or --account")
        roles = {r: getattr(args, r) for r in ROLES}
        keepers = args.keeper
        if on_devnet:
            roles = {r: v or dev_account(DEV_ROLES[r]).address for r, v in roles.items()}
            keepers = keepers or [dev_account(DEV_ROLES["keeper"]).address]
        missing = [f"--{r.replace('_', '-')}" for r, v in roles.items() if not v] + ([] if keepers else ["--keeper"])
        if missing:
            raise CohortError(f"off the devnet every role must be given: missing {', '.join(missing)}")
        bad = [v for v in [*roles.values(), *keepers] if not Web3.is_address(v)]
        if bad:
            raise CohortError(f"not addresses: {', '.join(bad)}")
        if not has_code(w3, m.cohort.factory):
            print(f"no Cohort factory in {path} on this chain: deploying the oracle, adapters, admin module and "
                  f"factory from {sender.address}", file=sys.stderr)
            m = m.model_copy(update={"deployer": sender.address})
            m = protocol.ensure_protocol(w3, m, path, progress=lambda s: print(f"  - {s}", file=sys.stderr))
        mgmt, perf = (int(x) for x in args.fees.split("/"))
        cfg = protocol.VaultConfig(name=args.name, symbol=args.symbol, base=args.base,
                                   assets=tuple(a.strip().upper() for a in args.assets.split(",") if a.strip()),
                                   management_fee_bps=mgmt, performance_fee_bps=perf,
                                   notice_period=parse_duration(args.notice), gate_bps=parse_bps(args.gate),
                                   timelock=parse_duration(args.timelock))
        vault = protocol.create_vault(w3, m, cfg, label=args.label, owner=roles["owner"], manager=roles["manager"],
                                      guardian=roles["guardian"], fee_recipient=roles["fee_recipient"],
                                      keepers=keepers, sender=sender.address, path=path)
    except (CohortError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ConnectionError, OSError) as exc:
        print(f"error: cannot reach the node ({type(exc).__name__}): set --rpc-url or COHORT_RPC_URL", file=sys.stderr)
        return 3
    print(f"vault {args.label}: {vault.address} ({args.symbol}), owner {roles['owner']}, recorded in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
