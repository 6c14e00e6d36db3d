"""`cohort strategy create|follow|unfollow|sign` against the devnet: a strategy created, a vault
following it through its real timelock (queued, refused early, applied), unfollowing, signing a
master signal the chain agrees with, and mistakes answered in sentences."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from web3 import Web3

from cohort import manifest as mf
from cohort import strategies
from cohort.dev.anvil import DevChain
from cohort.settings import CohortSettings
from cohort.strategies import FollowRule, RuleKind
from cohort.vault import Vault
from tests.conftest import Roles
from tests.helpers import run_cli

OWNER, MANAGER = ["--dev-account", "1"], ["--dev-account", "5"]  # roles.owner and roles.manager


def _create(capsys, settings: CohortSettings, roles: Roles) -> int:
    code, out, err = run_cli(capsys, settings, "--json", "strategy", "create", "Momentum", "--manager",
                             roles.manager.address, *OWNER)
    assert code == 0, err
    return int(json.loads(out)["strategyId"])


def test_create_then_follow_through_the_timelock_then_unfollow(
        capsys, w3: Web3, chain: DevChain, deployment: mf.Manifest, vault: Vault, roles: Roles,
        settings: CohortSettings) -> None:
    s = strategies.Strategies(w3, deployment.cohort.strategies or "")
    code, out, err = run_cli(capsys, settings, "strategy", "create", "Momentum", "--manager", roles.manager.address,
                             *OWNER)
    assert code == 0, err
    strategy_id = s.count()
    assert f"created strategy {strategy_id} ('Momentum')" in out
    assert s.strategy_of(strategy_id) == (roles.owner, roles.manager.address)

    follow = ["strategy", "follow", vault.address, str(strategy_id), "--rule", "multiplier", "1.5x",
              "--min-lot", "10", "--tolerance", "1%", *OWNER]
    code, out, err = run_cli(capsys, settings, *follow)
    assert code == 0, err
    assert "queued behind the vault's timelock" in out and "run the same command again after" in out
    assert "multiplier 1.5x, minimum lot 10 USDC, price tolerance 1%" in out
    assert strategies.follow_state(vault)[0] == 0  # queued, not applied

    code, _, err = run_cli(capsys, settings, *follow)  # too early: a sentence, not a stack trace
    assert code == 2 and "already queued; it can be applied after" in err

    chain.increase_time(86_400 + 1)
    code, out, err = run_cli(capsys, settings, *follow)
    assert code == 0, err
    assert f"now follows strategy {strategy_id}" in out
    assert strategies.follow_state(vault) == (strategy_id, FollowRule(RuleKind.MULTIPLIER, 15_000, 0, 10 * 10**6, 100))

    code, out, err = run_cli(capsys, settings, "strategy", "unfollow", vault.address, "--dev-account", "3")  # guardian
    assert code == 0, err
    assert f"no longer follows strategy {strategy_id}" in out
    assert strategies.follow_state(vault)[0] == 0
    code, _, err = run_cli(capsys, settings, "strategy", "unfollow", vault.address, *OWNER)
    assert code == 2 and "follows no strategy" in err


def test_sign_writes_a_master_signal_the_chain_agrees_with(
        capsys, w3: Web3, deployment: mf.Manifest, roles: Roles, settings: CohortSettings, tmp_path: Path) -> None:
    strategy_id = _create(capsys, settings, roles)
    out_file = tmp_path / "master.json"
    code, _, err = run_cli(capsys, settings, "strategy", "sign", str(strategy_id), "--sell", "USDC", "--buy", "WETH",
                           "--size", "25%", "--lots", "1.5", "--max-price", "3100", "--ref-price", "3000",
                           "--slippage", "0.5%", "--out", str(out_file), *MANAGER)
    assert code == 0, err
    assert f"signed master signal: strategy {strategy_id}: sell 25% of the vault's USDC for WETH" in err
    assert "1.5 lot(s) for fixed-lot followers" in err and "cohort-keeper submit" in err
    signed = strategies.SignedMaster.from_json_dict(json.loads(out_file.read_text()))
    m = signed.master
    assert (m.strategy_id, m.size_bps, m.lots, m.max_slippage_bps) == (strategy_id, 2500, 15 * 10**17, 50)
    assert m.limit_price == 10**36 // (3100 * 10**18) and m.ref_price == 10**36 // (3000 * 10**18)
    s = strategies.Strategies(w3, deployment.cohort.strategies or "")
    assert s.master_digest(m) == signed.digest
    assert strategies.verify(signed, s.domain(), roles.manager.address) == signed.digest


@pytest.mark.parametrize(("argv", "message"), [
    (["follow", "VAULT", "ID", "--rule", "double"], "is not a rule: write one of equity | multiplier 1.5x"),
    (["follow", "VAULT", "ID", "--rule", "fixed-lot", "1,5"], "commas are ambiguous"),
    (["follow", "VAULT", "ID", "--rule", "equity", "--tolerance", "100%"], "accepts any price"),
    (["follow", "VAULT", "999", "--rule", "equity"], "there is no strategy 999"),
    (["sign", "ID", "--sell", "USDC", "--buy", "WETH", "--max-price", "3100", "--ref-price", "3000"],
     "give --size (for equity and multiplier followers), --lots"),
    (["sign", "ID", "--sell", "USDC", "--buy", "USDC", "--size", "1%", "--min-price", "1", "--ref-price", "1"],
     "--sell and --buy are both USDC"),
])
def test_mistakes_are_answered_in_sentences(capsys, vault: Vault, roles: Roles, settings: CohortSettings,
                                            argv: list[str], message: str) -> None:
    strategy_id = _create(capsys, settings, roles)
    argv = [vault.address if a == "VAULT" else str(strategy_id) if a == "ID" else a for a in argv]
    code, _out, err = run_cli(capsys, settings, "strategy", *argv, *OWNER)
    assert code == 2 and message in err, err


def test_the_manager_cancels_a_signed_master_and_nobody_else_can(
        capsys, w3: Web3, deployment: mf.Manifest, roles: Roles, settings: CohortSettings) -> None:
    strategy_id = _create(capsys, settings, roles)
    code, _, err = run_cli(capsys, settings, "strategy", "cancel", str(strategy_id), "7", "300", *OWNER)
    assert code == 2 and "only the strategy's manager" in err and "sign with the manager's account" in err, err
    code, out, err = run_cli(capsys, settings, "strategy", "cancel", str(strategy_id), "7", "300", *MANAGER)
    assert code == 0, err
    assert out.count("cancelled master nonce") == 2  # two bitmap words, two transactions
    s = strategies.Strategies(w3, deployment.cohort.strategies or "")
    assert s.master_cancelled(strategy_id, 7) and s.master_cancelled(strategy_id, 300)
    assert not s.master_cancelled(strategy_id, 8)
