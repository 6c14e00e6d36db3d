"""`make demo`: bring the devnet up and show what is deployed, with a live quote."""

from __future__ import annotations

import argparse
import sys

from scripts import devnet as devnet_cli


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cohort-demo", description=__doc__)
    parser.add_argument("--exit", action="store_true", help="run and exit (the default at this stage)")
    parser.parse_args(argv)
    return devnet_cli.main(["up"])


if __name__ == "__main__":
    sys.exit(main())
