"""What every command shares: its context (settings, manifest, node, account), the error for bad
usage, and how results are printed."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import Web3Exception
from web3.types import TxReceipt

from cohort import manifest as mf
from cohort import units as u
from cohort.accounts import load as load_account
from cohort.chain import connect
from cohort.deploy import has_code
from cohort.errors import ContractRevert, UsageError
from cohort.settings import CohortSettings
from cohort.tx import call
from cohort.vault import Vault

utc = u.format_utc


def tx_hash(receipt: TxReceipt) -> str:
    return "0x" + bytes(receipt["transactionHash"]).hex()


@dataclass(frozen=True)
class Units:
    """A vault's two units, to print amounts as people read them."""

    asset_symbol: str
    asset_decimals: int
    share_symbol: str
    share_decimals: int

    def assets(self, amount: int) -> str:
        return f"{u.format_amount(amount, self.asset_decimals)} {self.asset_symbol}"

    def shares(self, amount: int) -> str:
        return f"{u.format_amount(amount, self.share_decimals, 6)} {self.share_symbol}"


class Context:
    """What every command needs: settings, the manifest, a chain connection, an account."""

    def __init__(self, args: argparse.Namespace, settings: CohortSettings) -> None:
        self.args = args
        self.settings = settings
        self.rpc_url = settings.node_url()
        self._manifest: mf.Manifest | None = None
        self._w3: Web3 | None = None
        self._account: LocalAccount | None = None

    @property
    def manifest(self) -> mf.Manifest:
        if self._manifest is None:
            self._manifest = mf.load(self.settings.manifest)
        return self._manifest

    @property
    def account(self) -> LocalAccount:
        if self._account is None:
            a = self.args
            key = None
            if getattr(a, "key_env", False):
                if self.settings.private_key is None:
                    raise UsageError("--key-env: set COHORT_PRIVATE_KEY to the account's private key")
                key = self.settings.private_key.get_secret_value()
            self._account = load_account(alias=a.account, keyfile=a.keyfile, private_key=key, dev_index=a.dev_account,
                                         passphrase=self.passphrase(), ape_data_folder=self.settings.ape_data_folder)
        return self._account

    def passphrase(self) -> str | None:
        return self.settings.passphrase.get_secret_value() if self.settings.passphrase else None

    @property
    def w3(self) -> Web3:
        if self._w3 is None:
            signing = (self.account,) if self.has_account() else ()
            self._w3 = connect(self.rpc_url, accounts=signing)
        return self._w3

    def has_account(self) -> bool:
        a = self.args
        return any(getattr(a, k, None) not in (None, False) for k in ("account", "keyfile", "key_env", "dev_account"))

    def vault(self, ref: str) -> Vault:
        """The vault named by a manifest label or an address, checked to be a Cohort vault on
        the node we talk to."""
        if Web3.is_address(ref):
            address = Web3.to_checksum_address(ref)
        else:
            address = Web3.to_checksum_address(self.manifest.vault(ref).address)
            if self.manifest.chain_id != self.w3.eth.chain_id:
                raise UsageError(f"{self.settings.manifest} is for chain {self.manifest.chain_id}, but the node at "
                                 f"{self.rpc_url} is chain {self.w3.eth.chain_id}: point --rpc-url (COHORT_RPC_URL) "
                                 "at the right node, or --manifest at the right file")
        if not has_code(self.w3, address):
            raise UsageError(f"there is no contract at {address} on the chain at {self.rpc_url}: check the address, "
                             "or point --rpc-url (COHORT_RPC_URL) at the chain the vault is on (`cohort vaults` "
                             "lists the manifest's vaults)")
        v = Vault(self.w3, address)
        try:
            v.price_per_share()
        except (ContractRevert, Web3Exception):
            raise UsageError(f"the contract at {address} is not a Cohort vault: `cohort vaults` lists the "
                             "manifest's vaults") from None
        return v

    def units(self, v: Vault) -> Units:
        asset = v.asset
        return Units(str(call(asset.functions.symbol())), int(call(asset.functions.decimals())),
                     str(call(v.fn.symbol())), int(call(v.fn.decimals())))

    def token_symbol(self, address: str) -> str:
        return self.manifest.symbols().get(address.lower(), address)

    def token(self, ref: str) -> mf.TokenInfo:
        if Web3.is_address(ref):
            return self.manifest.token(self.token_symbol(ref))
        return self.manifest.token(ref.upper())

    def emit(self, data: dict[str, Any], lines: Sequence[str]) -> None:
        """Print a result: `data` as JSON with --json, else `lines` for people."""
        if self.args.json:
            print(json.dumps(data, indent=2, default=str))
        else:
            print("\n".join(lines))


def global_options(parser: argparse.ArgumentParser, *, in_subcommand: bool) -> None:
    """--rpc-url, --manifest, --json: accepted before the command and after it (`cohort vaults
    --json` too); after it they only override what was given before."""
    default = argparse.SUPPRESS if in_subcommand else None
    parser.add_argument("--rpc-url", default=default,
                        help="JSON-RPC URL (COHORT_RPC_URL; default: the manifest's rpcUrl)")
    parser.add_argument("--manifest", default=default,
                        help="deployment manifest (COHORT_MANIFEST; default deployments/local.json)")
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS if in_subcommand else False,
                        help="machine-readable output (integers in token units)")


def account_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("account (exactly one)")
    g.add_argument("--account", help="an Ape account alias (keyfile in $APE_DATA_FOLDER/accounts)")
    g.add_argument("--keyfile", help="a JSON keystore file")
    g.add_argument("--key-env", action="store_true", help="the private key in COHORT_PRIVATE_KEY")
    g.add_argument("--dev-account", type=int, help="anvil dev account N, 0 to 19 (devnet only)")
