"""Accounts: anvil's well-known dev keys, private keys from the environment, Ape keyfiles."""

from __future__ import annotations

import getpass
import json
from functools import cache
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from cohort.errors import CohortError

Account.enable_unaudited_hdwallet_features()

# anvil's default mnemonic: `test test ... junk`; account 0 deploys on the devnet.
DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_ACCOUNTS = 20  # anvil's funded dev accounts (`--accounts`)


class AccountError(CohortError, ValueError):
    """An account could not be loaded (unknown alias, wrong passphrase, bad key)."""


@cache
def dev_account(index: int) -> LocalAccount:
    """Anvil's dev account `index` (the `test ... junk` mnemonic). Devnet only: the key is public."""
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def from_private_key(key: str) -> LocalAccount:
    try:
        return Account.from_key(key)
    except Exception as exc:  # eth_account raises several types for a bad key
        raise AccountError(f"not a valid private key: {type(exc).__name__}") from None


def from_keyfile(path: Path | str, passphrase: str | None = None) -> LocalAccount:
    """A JSON keystore (the format Ape, geth and MetaMask export); asks for the passphrase if
    none is given."""
    path = Path(path)
    if not path.exists():
        raise AccountError(f"keyfile {path} does not exist")
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise AccountError(f"keyfile {path} cannot be read as a JSON keystore: {exc}") from None
    if passphrase is None:
        passphrase = getpass.getpass(f"passphrase for {path.name}: ")
    try:
        return Account.from_key(Account.decrypt(data, passphrase))
    except ValueError:
        raise AccountError(f"wrong passphrase for {path}") from None


def ape_keyfile(alias: str, data_folder: Path) -> Path:
    """Where Ape keeps the keyfile of account `alias` (`ape accounts generate/import`)."""
    return data_folder / "accounts" / f"{alias}.json"


def load(*, alias: str | None = None, keyfile: str | None = None, private_key: str | None = None,
         dev_index: int | None = None, passphrase: str | None = None,
         ape_data_folder: Path | None = None) -> LocalAccount:
    """One account from exactly one source: an Ape alias, a keyfile, a private key, or a devnet
    index."""
    given = [x is not None for x in (alias, keyfile, private_key, dev_index)]
    if sum(given) != 1:
        raise AccountError("give exactly one of --account (Ape alias), --keyfile, --key-env, --dev-account")
    if alias is not None:
        folder = ape_data_folder or Path.home() / ".ape"
        if not ape_keyfile(alias, folder).exists():
            raise AccountError(f"there is no Ape account {alias!r} in {folder / 'accounts'}: create it with "
                               f"`ape accounts generate {alias}` or `ape accounts import {alias}`, or on the devnet "
                               f"with `cohort dev account {alias} 7` (anvil's dev key #7)")
        return from_keyfile(ape_keyfile(alias, folder), passphrase)
    if keyfile is not None:
        return from_keyfile(keyfile, passphrase)
    if private_key is not None:
        return from_private_key(private_key)
    assert dev_index is not None
    if not 0 <= dev_index < DEV_ACCOUNTS:
        raise AccountError(f"--dev-account takes 0 to {DEV_ACCOUNTS - 1} (anvil's funded dev accounts), "
                           f"not {dev_index}")
    return dev_account(dev_index)


def address_of_alias(alias: str, data_folder: Path) -> str | None:
    """The address of Ape account `alias`, read from its keyfile without the passphrase."""
    path = ape_keyfile(alias, data_folder)
    if not path.exists():
        return None
    address = str(json.loads(path.read_text()).get("address", ""))
    return "0x" + address.removeprefix("0x") if address else None


def write_ape_keyfile(alias: str, account: LocalAccount, passphrase: str, data_folder: Path) -> Path:
    """Store `account` as Ape account `alias` (a standard JSON keystore, as `ape accounts import`
    writes). Refuses to replace an existing one."""
    path = ape_keyfile(alias, data_folder)
    if path.exists():
        raise AccountError(f"Ape account {alias!r} already exists ({path}); pick another name or delete it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(Account.encrypt(account.key, passphrase)))
    return path
