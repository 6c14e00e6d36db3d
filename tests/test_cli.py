"""The investor and manager command line, against the devnet: every command, accounts from
an Ape keyfile, a private key in the environment and dev keys, and errors by name."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import SecretStr
from web3 import Web3

from cohort import manifest as mf
from cohort import signals
from cohort.accounts import dev_account
from cohort.dev.anvil import DevChain
from cohort.settings import CohortSettings
from cohort.tx import call
from cohort.vault import Vault
from tests.conftest import Roles
from tests.helpers import fund, run_cli

USDC = 10**6


def test_an_investor_deposits_requests_and_claims_from_the_command_line(
        capsys, w3: Web3, chain: DevChain, deployment: mf.Manifest, vault: Vault, roles: Roles,
        settings: CohortSettings) -> None:
    alice = dev_account(7)
    fund(w3, deployment, "USDC", alice.address, 5_000 * USDC)
    me = ["--dev-account", "7"]
    code, out, _ = run_cli(capsys, settings, "deposit", vault.address, "2_500.5", *me)
    assert code == 0 and "deposited 2,500.50 USDC" in out
    assert vault.balance_of(alice.address) == 2_500_500_000 * 10**6
    code, out, _ = run_cli(capsys, settings, "--json", "status", vault.address, "--of", alice.address)
    status = json.loads(out)
    assert status["shares"] == vault.balance_of(alice.address) and status["value"] <= 2_500_500_000
    code, out, _ = run_cli(capsys, settings, "request", vault.address, "all", *me)
    assert code == 0 and "epoch" in out
    code, out, err = run_cli(capsys, settings, "claim", vault.address, *me)
    assert code == 2 and "nothing is claimable" in err  # before settlement: a clear refusal
    chain.increase_time(3 * 86_400)
    vault.settle_redemptions(roles.keeper)
    code, out, _ = run_cli(capsys, settings, "claim", vault.address, *me)
    assert code == 0 and "claimed" in out
    usdc = call(vault.asset.functions.balanceOf(alice.address))
    assert 2_499 * USDC + 2_500_000 < usdc <= 5_000 * USDC


def test_chain_errors_are_printed_by_name_and_bad_input_is_explained(capsys, w3: Web3, deployment: mf.Manifest,
                                                                     vault: Vault, settings: CohortSettings) -> None:
    fund(w3, deployment, "USDC", dev_account(8).address, 10 * USDC)
    code, _, err = run_cli(capsys, settings, "deposit", vault.address, "0.5", "--dev-account", "8")
    assert code == 2 and "minimum deposit of 1.00 USDC (CohortDepositTooSmall)" in err
    code, _, err = run_cli(capsys, settings, "deposit", vault.address, "1.0000001", "--dev-account", "8")
    assert code == 2 and "more than 6 decimals" in err
    code, _, err = run_cli(capsys, settings, "deposit", vault.address, "1", "--dev-account", "8", "--key-env")
    assert code == 2 and "COHORT_PRIVATE_KEY" in err
    keyed = settings.model_copy(update={"private_key": SecretStr(dev_account(8).key.hex())})
    code, _, err = run_cli(capsys, keyed, "deposit", vault.address, "1", "--dev-account", "8", "--key-env")
    assert code == 2 and "exactly one" in err
    code, _, err = run_cli(capsys, settings.model_copy(update={"rpc_url": "http://127.0.0.1:1"}), "status",
                           vault.address, "--of", vault.address)
    assert code == 3 and "cannot reach the node" in err


def test_an_ape_account_and_a_private_key_from_the_environment_both_sign(
        capsys, w3: Web3, deployment: mf.Manifest, vault: Vault, settings: CohortSettings, tmp_path: Path) -> None:
    from ape_accounts.accounts import import_account_from_private_key

    bob = dev_account(9)
    fund(w3, deployment, "USDC", bob.address, 100 * USDC)
    import_account_from_private_key("cohort-cli-test", "s3cret", bob.key.hex())  # Ape's own keyfile format
    ape_settings = settings.model_copy(update={"passphrase": SecretStr("s3cret")})
    paid = lambda: 100 * USDC - int(call(vault.asset.functions.balanceOf(bob.address)))  # noqa: E731
    try:
        code, out, err = run_cli(capsys, ape_settings, "deposit", vault.address, "10", "--account", "cohort-cli-test")
        assert code == 0, err
    finally:
        keyfile = ape_settings.ape_data_folder / "accounts" / "cohort-cli-test.json"
        keyfile.unlink(missing_ok=True)
    first = vault.balance_of(bob.address)
    assert paid() == 10 * USDC and first > 0
    key_settings = settings.model_copy(update={"private_key": SecretStr(bob.key.hex())})
    code, out, err = run_cli(capsys, key_settings, "deposit", vault.address, "10", "--key-env")
    assert code == 0, err
    assert bob.key.hex()[4:20] not in out + err  # the key is never printed
    # The share count of the second deposit depends on the seconds of management fee accrued
    # in between, so each deposit is checked by what bob paid and that shares arrived.
    assert paid() == 20 * USDC and vault.balance_of(bob.address) > first


def test_a_manager_signs_verifies_and_cancels_from_the_command_line(
        capsys, w3: Web3, deployment: mf.Manifest, vault: Vault, roles: Roles, settings: CohortSettings,
        tmp_path: Path) -> None:
    from tests.helpers import deposit

    deposit(w3, deployment, vault, roles.investors[0], 100_000 * USDC)
    out_file = tmp_path / "signal.json"
    manager = ["--dev-account", "5"]  # roles.manager is dev account 5
    code, _, err = run_cli(capsys, settings, "signal", "sign", vault.address, "--sell", "USDC", "--buy", "WETH",
                           "--size", "25%", "--max-price", "3500", "--slippage", "1%", "--out", str(out_file), *manager)
    assert code == 0, err
    signed = signals.SignedSignal.from_json_dict(json.loads(out_file.read_text()))
    assert signed.signal.size_bps == 2500 and signed.signal.max_slippage_bps == 100
    assert signed.signal.limit_price == 10**36 // (3500 * 10**18)  # the inverse of 3500 USDC/WETH
    code, out, _ = run_cli(capsys, settings, "--json", "signal", "verify", str(out_file))
    assert code == 0 and json.loads(out)["signatureValid"] and json.loads(out)["nonceUnused"]
    # offline, with the domain given by hand
    code, out, _ = run_cli(capsys, settings, "signal", "verify", str(out_file), "--offline",
                           "--name", "Cohort Alpha USDC", "--manager", roles.manager.address)
    assert code == 0
    code, out, err = run_cli(capsys, settings, "signal", "verify", str(out_file), "--offline",
                             "--name", "Cohort Alpha USDC", "--manager", roles.outsider)
    assert code == 2 and "not the vault manager's" in err
    vault.execute_signal(signed, roles.keeper)  # what a keeper would do with the file
    code, _, err = run_cli(capsys, settings, "signal", "verify", str(out_file))
    assert code == 2 and "cannot execute" in err  # the nonce is used now
    # cancel a signal that was never sent
    code, _, err = run_cli(capsys, settings, "signal", "sign", vault.address, "--sell", "USDC", "--buy", "WETH",
                           "--size", "10%", "--min-price", "0.0003", "--nonce", "77", "--out", str(out_file), *manager)
    code, out, _ = run_cli(capsys, settings, "signal", "cancel", vault.address, "77", *manager)
    assert code == 0 and vault.nonce_used(77)


def test_offline_signing_matches_the_chain(capsys, vault: Vault, roles: Roles, settings: CohortSettings,
                                           tmp_path: Path) -> None:
    out_file = tmp_path / "offline.json"
    code, _, err = run_cli(capsys, settings, "signal", "sign", vault.address, "--sell", "WETH", "--buy", "USDC",
                           "--size", "0.5", "--min-price", "2500", "--offline", "--chain-id", "31337",
                           "--name", "Cohort Alpha USDC", "--out", str(out_file), "--dev-account", "5")
    assert code == 0, err
    signed = signals.SignedSignal.from_json_dict(json.loads(out_file.read_text()))
    assert vault.signal_digest(signed) == signed.digest
