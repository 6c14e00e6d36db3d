"""`cohort`: the command line of investors and managers, and devnet helpers.

Investors (any account: an Ape account alias, a keyfile, COHORT_PRIVATE_KEY, or a devnet index):

    cohort vaults                                    # every vault: NAV, fees, notice, gate, minimum
    cohort deposit alpha 1000 --account alice        # 1000 USDC into vault `alpha`
    cohort status alpha --account alice              # shares, value, pending and claimable
    cohort request alpha all --account alice         # notice-period withdrawal of every share
    cohort cancel alpha --account alice              # take back the unsettled part
    cohort claim alpha --account alice               # after settlement: collect the assets

Managers sign trade signals off-chain (sizes are fractions, so one signal fits any vault size):

    cohort signal sign alpha --sell USDC --buy WETH --size 25% --max-price 3100 \\
        --slippage 1% --account manager --out signal.json
    cohort signal verify signal.json                 # digest, signature, nonce unused, time left
    cohort signal cancel alpha NONCE --account manager   # invalidate a nonce on-chain

Strategies (MAM): one manager's master signal traded by every vault that follows it, each by its rule:

    cohort strategy create "Momentum" --manager 0x.. --account owner    # prints the strategy id
    cohort strategy follow alpha 1 --rule multiplier 1.5x --min-lot 10 --tolerance 1% --account owner
    cohort strategy unfollow alpha --account owner   # owner or guardian, at once
    cohort strategy sign 1 --sell USDC --buy WETH --size 25% --max-price 3100 --ref-price 3000 \\
        --account manager --out master.json          # then: cohort-keeper submit master.json

`follow` waits behind the vault's timelock: the first call queues it and prints when the same
command applies it. Rules: `equity`, `multiplier 0.5x`, `fixed-lot 100` (amount of the input
token per master lot; --min-lot and fixed lots count in the vault's asset unless --lot-token).

On the devnet (chain 31337) only:

    cohort dev account alice 7                       # Ape account `alice` holding dev key #7
    cohort dev faucet alice 10000 USDC               # mint test tokens (or ETH) to an address or alias
    cohort dev time +2d                              # move the chain's clock forward

VAULT is a label from the deployment manifest or an address. Amounts are whole tokens written
with a dot before the decimals (`1000.5`, `1_000.5`; commas are refused); shares are whole
shares, or `all`.

Prices: a signal's limit, the API's trade prices and this command's output are whole tokens
bought per whole token sold (`--min-price`). `--max-price` is the same limit written the other
way round, whole tokens sold per token bought (USDC per WETH when buying WETH), as a trader
usually thinks of it; `signal sign` prints both.

The node: `--rpc-url`, else COHORT_RPC_URL, else the manifest's `rpcUrl`. Exit codes: 0 done;
1 the chain refused (the error is printed by name and in words); 2 bad usage or nothing to do;
3 the node cannot be reached.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from web3.exceptions import Web3Exception

from cohort.cli import dev, investor, signal, strategy, vaults
from cohort.cli.context import Context, global_options
from cohort.errors import CohortError, ContractRevert
from cohort.settings import CohortSettings

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cohort", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    global_options(parser, in_subcommand=False)
    common = argparse.ArgumentParser(add_help=False)
    global_options(common, in_subcommand=True)
    sub = parser.add_subparsers(dest="command", required=True)
    for part in (vaults, investor, signal, strategy, dev):
        part.register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None, *, settings: CohortSettings | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides: dict[str, Any] = {}
    if args.rpc_url:
        overrides["rpc_url"] = args.rpc_url
    if args.manifest:
        overrides["manifest"] = Path(args.manifest)
    base = settings or CohortSettings()
    ctx = Context(args, base.model_copy(update=overrides))
    run: Callable[[Context], None] = args.run
    try:
        run(ctx)
    except ContractRevert as exc:
        print(f"error: the chain refused: {exc}", file=sys.stderr)
        return 1
    except CohortError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the output went to `head` or a closed pager
        return 0
    except (ConnectionError, OSError) as exc:  # requests' errors are OSErrors
        print(f"error: cannot reach the node at {ctx.rpc_url} ({type(exc).__name__}): start it (`make devnet`) or "
              "point --rpc-url (COHORT_RPC_URL) at a running one", file=sys.stderr)
        return 3
    except Web3Exception as exc:  # the node answered with an error (no gas money, a bad request)
        message = exc.args[0] if exc.args else exc
        if isinstance(message, dict):
            message = message.get("message", message)
        hint = (": the account needs ETH for gas (on the devnet, `cohort dev faucet ADDRESS 1 ETH`)"
                if "funds" in str(message) else "")
        print(f"error: the node refused the request: {message}{hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0

