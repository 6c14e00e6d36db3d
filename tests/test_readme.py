"""The first hour of a new user: each role runs the README's commands, as the README writes them,
through the installed console scripts (separate processes, as in a shell), against the session's
devnet with vault `alpha` (manager #5, keeper #2, as `make devnet` sets them up). Every command's
exit code and message are checked, and no output anywhere holds a traceback or a library warning.

Every command run here is checked to appear verbatim in README.md, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from cohort import manifest as mf
from cohort.accounts import dev_account
from cohort.artifacts import REPO_ROOT
from cohort.dev.anvil import DevChain
from cohort.dev.stack import Anvil, Child, free_port, keeper_started, private_key_of
from cohort.tx import call
from cohort.vault import Vault
from tests.conftest import Roles

BIN = Path(sys.executable).parent
KEEPER_INDEX = 2


def readme_commands() -> set[str]:
    """Every command in README.md's `sh` blocks: continuation lines joined, comments dropped."""
    text = (REPO_ROOT / "README.md").read_text()
    commands: set[str] = set()
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            command = " ".join(line.split("#", 1)[0].split())
            if command:
                commands.add(command)
    return commands


@dataclass
class Result:
    code: int
    out: str
    err: str


class Shell:
    """A new user's shell: the console scripts on PATH, the devnet's settings in the environment,
    a fresh working folder and Ape folder."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd = cwd
        self.env = env
        self.readme = readme_commands()
        self.log: list[str] = []

    def run(self, command: str, *, as_in_readme: bool = True, env: dict[str, str] | None = None,
            **substitutions: str) -> Result:
        if as_in_readme:
            assert command in self.readme, f"not in README.md: {command}"
        for placeholder, value in substitutions.items():
            command = command.replace(f"<{placeholder}>", value)
        argv = shlex.split(command)
        done = subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=self.cwd, env={**self.env, **(env or {})},
                              capture_output=True,
                              text=True, timeout=120, check=False)
        self.log.append(f"$ {command}\n{done.stdout}{done.stderr}")
        for stream in (done.stdout, done.stderr):
            assert "Traceback" not in stream and "Warning" not in stream, f"$ {command}\n{stream}"
        return Result(done.returncode, done.stdout, done.stderr)

    def ok(self, command: str, **kw: str) -> Result:
        result = self.run(command, **kw)
        assert result.code == 0, f"$ {command} exited {result.code}\n{result.out}{result.err}"
        return result

    def refused(self, command: str, code: int, *phrases: str, **kw: str) -> Result:
        result = self.run(command, **kw)
        assert result.code == code, f"$ {command} exited {result.code}, not {code}\n{result.out}{result.err}"
        for phrase in phrases:
            assert phrase in result.err, f"$ {command}: {phrase!r} not in\n{result.err}"
        return result


@pytest.fixture()
def readme_manifest(tmp_path: Path, deployment: mf.Manifest, vault: Vault, roles: Roles) -> Path:
    """The session's deployment with the standard vault recorded as `alpha`, as `make devnet`
    records it."""
    m = deployment.model_copy(deep=True)
    m.cohort.vaults["alpha"] = mf.VaultInfo(address=vault.address, name=str(call(vault.fn.name())),
                                            symbol=str(call(vault.fn.symbol())), asset=str(call(vault.fn.asset())),
                                            manager=roles.manager.address, deployed_block=0)
    return mf.save(m, tmp_path / "local.json")


@pytest.fixture()
def shell(tmp_path: Path, anvil: Anvil, readme_manifest: Path) -> Shell:
    manifest_path = readme_manifest
    home = tmp_path / "home"
    home.mkdir()
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("COHORT_", "KEEPER_", "API_", "APE_"))}
    env = {**keep, "PATH": f"{BIN}{os.pathsep}{keep.get('PATH', '')}", "HOME": str(home),
           "APE_DATA_FOLDER": str(home / ".ape"),
           "COHORT_RPC_URL": anvil.rpc_url, "COHORT_MANIFEST": str(manifest_path),
           "COHORT_PASSPHRASE": "first hour", "KEEPER_MANIFEST": str(manifest_path), "KEEPER_VAULTS": "alpha",
           "KEEPER_PORT": str(free_port()), "API_MANIFEST": str(manifest_path)}
    work = tmp_path / "work"
    work.mkdir()
    return Shell(work, env)


@pytest.fixture()
def keeper(shell: Shell, w3: Web3) -> Iterator[str]:
    """`cohort-keeper run` as `make keeper` starts it, with duties off (the test settles by hand)
    and short retries; stopped before the test's chain snapshot is reverted."""
    env = {**shell.env, "KEEPER_PRIVATE_KEY": private_key_of(dev_account(KEEPER_INDEX)),
           "KEEPER_FEES_INTERVAL_S": "0", "KEEPER_REDEMPTIONS_INTERVAL_S": "0", "KEEPER_RISK_INTERVAL_S": "0",
           "KEEPER_POLL_INTERVAL_S": "0.05", "KEEPER_RETRY_DELAY_S": "0.1", "KEEPER_LOG_LEVEL": "WARNING"}
    process = Child("keeper", [str(BIN / "cohort-keeper"), "run", "--config",
                               str(REPO_ROOT / "keeper" / "keeper.example.toml")], env, shell.cwd.parent / "keeper.log",
                    cwd=shell.cwd)
    url = f"http://127.0.0.1:{env['KEEPER_PORT']}"
    process.start()
    try:
        process.wait_until(lambda: keeper_started(url), "starting the keeper", 60, interval=0.1)
        yield url
    finally:
        process.terminate(30)


def test_each_role_follows_the_readme_without_a_traceback(shell: Shell, keeper: str, w3: Web3, chain: DevChain,
                                                          deployment: mf.Manifest, vault: Vault,
                                                          roles: Roles) -> None:
    alice = dev_account(7).address
    usdc = vault.asset

    # ---- an investor, from nothing: an account, test money, a look at the vaults
    out = shell.ok("cohort dev account alice 7").out
    assert alice in out and "--account alice" in out
    out = shell.ok("cohort dev faucet alice 10000 USDC").out
    assert f"gave 10,000.00 USDC to {alice}" in out
    out = shell.ok("cohort vaults").out
    assert "alpha" in out and "fees 2% a year on NAV + 20% of gains" in out
    assert "1d notice, gate 25% of NAV per epoch; deposits from 1.00 USDC" in out
    shell.refused("cohort deposit alpha 1000 --account bob", 2, "no Ape account 'bob'", "ape accounts generate bob",
                  as_in_readme=False)
    out = shell.ok("cohort deposit alpha 1000 --account alice").out
    assert out.startswith(f"deposited 1,000.00 USDC for {alice}: ") and " cALPHA received" in out
    assert int(call(usdc.functions.balanceOf(alice))) >= 9_000 * 10**6
    out = shell.ok("cohort status alpha --account alice").out
    assert "value    1,000.00 USDC" in out or "value    999.99 USDC" in out

    # ---- the manager signs, checks and submits; the keeper executes
    result = shell.ok("cohort signal sign alpha --sell USDC --buy WETH --size 25% --max-price 3100 --slippage 1% "
                      "--dev-account 5 --out signal.json")
    assert "signed: sell 25% of the vault's USDC for WETH on Uniswap V3 (0.3% pools)" in result.err
    assert "at most 3,100.00 USDC per WETH" in result.err and "valid until" in result.err
    first = json.loads((shell.cwd / "signal.json").read_text())
    out = shell.ok("cohort signal verify signal.json").out
    assert "signatureValid: True" in out and "nonceUnused: True" in out and "time left: " in out
    assert "trade: sell 25% of the vault's USDC for WETH" in out
    result = shell.ok("cohort-keeper submit signal.json --wait 30")
    assert json.loads(result.out)["state"] == "executed" and "executed (tx 0x" in result.err
    assert vault.holdings(deployment.token("WETH").address) > 0

    # a second signal signed at once gets its own nonce, and can be cancelled by it
    shell.ok("cohort signal sign alpha --sell USDC --buy WETH --size 25% --max-price 3100 --slippage 1% "
             "--dev-account 5 --out signal.json")
    second = json.loads((shell.cwd / "signal.json").read_text())
    assert second["signal"]["nonce"] != first["signal"]["nonce"]
    nonce = second["signal"]["nonce"]
    out = shell.ok("cohort signal cancel alpha <nonce> --dev-account 5", nonce=nonce).out
    assert f"cancelled nonce {nonce}" in out and vault.nonce_used(int(nonce))
    shell.refused("cohort signal verify signal.json", 2, "cannot execute", as_in_readme=False)

    # a signal the vault cannot execute: a warning when signed, and `submit --wait` exits 1
    result = shell.run("cohort signal sign alpha --sell WBTC --buy USDC --size 50% --min-price 50000 "
                       "--dev-account 5 --out hopeless.json", as_in_readme=False)
    assert result.code == 0 and "warning: the vault holds no WBTC" in result.err
    result = shell.refused("cohort-keeper submit hopeless.json --wait 30", 1, "ended", as_in_readme=False)
    assert json.loads(result.out)["state"] in ("failed", "rejected")
    result = shell.run("cohort signal sign alpha --sell USDC --buy LINK --size 5% --min-price 0.01 "
                       "--dev-account 5 --out link.json", as_in_readme=False)
    assert result.code == 0 and "warning: the vault cannot hold LINK" in result.err

    # ---- the investor leaves: request, change their mind, request again, wait, claim
    out = shell.ok("cohort request alpha all --account alice").out
    assert "requested " in out and " cALPHA (about " in out and "cohort claim alpha" in out
    out = shell.ok("cohort cancel alpha --account alice").out
    assert out.startswith("cancelled: ") and f"cALPHA back to {alice}" in out
    shell.ok("cohort request alpha all --account alice")
    out = shell.ok("cohort dev time +2d").out
    assert "moved the chain's clock 2d forward" in out
    vault.settle_redemptions(roles.keeper)  # what the keeper's redemption duty does
    out = shell.ok("cohort claim alpha --account alice").out
    assert out.startswith("claimed ") and " USDC for " in out and f"to {alice}" in out

    # ---- a deadline counts from the chain's clock, even when its last block is stale
    chain.increase_time(3600, mine=False)
    shell.ok("cohort signal sign alpha --sell USDC --buy WETH --size 25% --max-price 3100 --slippage 1% "
             "--dev-account 5 --out signal.json")
    verified = json.loads(shell.run("cohort --json signal verify signal.json", as_in_readme=False).out)
    # counted from the last block, the deadline would be about now; from the chain's clock, 1h away
    assert 1800 < verified["secondsToDeadline"] <= 3600

    # ---- the keeper operator and the auditor
    out = shell.ok("cohort-keeper list").out
    assert out.splitlines()[0].split()[:2] == ["id", "state"] and " executed " in out
    shown = json.loads(shell.ok("cohort-keeper status 1").out)
    assert shown["state"] == "executed" and shown["nonce"] == first["signal"]["nonce"]
    shell.ok("cohort-api index --once")
    report = json.loads(shell.ok("cohort-api reconcile alpha").out)
    assert report["ok"] and report["vault"] == vault.address


def test_a_strategy_manager_and_a_vault_owner_follow_the_readme(shell: Shell, keeper: str, w3: Web3,
                                                                deployment: mf.Manifest, vault: Vault) -> None:
    shell.ok("cohort dev account alice 7")
    shell.ok("cohort dev faucet alice 10000 USDC")
    shell.ok("cohort deposit alpha 1000 --account alice")
    out = shell.ok("cohort strategy create Momentum --manager 0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc "
                   "--dev-account 1").out
    assert "strategy 1" in out
    follow = "cohort strategy follow alpha 1 --rule multiplier 1.5x --min-lot 10 --tolerance 1% --dev-account 1"
    out = shell.ok(follow).out
    assert "queued behind the vault's timelock" in out and "run the same command again after" in out
    shell.ok("cohort dev time +2d")
    shell.ok(follow)
    assert int(call(vault.fn.followState())[0]) == 1
    result = shell.ok("cohort strategy sign 1 --sell USDC --buy WETH --size 25% --max-price 3100 --ref-price 3000 "
                      "--dev-account 5 --out master.json")
    assert "signed master signal: strategy 1" in result.err
    result = shell.ok("cohort-keeper submit master.json --wait 60")
    record = json.loads(result.out)
    assert record["state"] == "executed", record
    (fill,) = record["followers"]
    # 25% of 1,000 USDC, times 1.5, in whole lots of 10 USDC
    assert (fill["state"], int(fill["amount_in"])) == ("filled", 370 * 10**6)
    assert vault.holdings(deployment.token("WETH").address) == int(fill["amount_out"]) > 0
    # a second master, withdrawn by its nonce before any keeper runs it
    shell.ok("cohort strategy sign 1 --sell USDC --buy WETH --size 25% --max-price 3100 --ref-price 3000 "
             "--dev-account 5 --out master.json")
    nonce = json.loads((shell.cwd / "master.json").read_text())["master"]["nonce"]
    out = shell.ok("cohort strategy cancel 1 <nonce> --dev-account 5", nonce=nonce).out
    assert f"cancelled master nonce {nonce} of strategy 1" in out
    out = shell.ok("cohort strategy unfollow alpha --dev-account 1").out
    assert "no longer follows strategy 1" in out


def test_mistakes_get_a_sentence_that_says_what_to_do(shell: Shell, vault: Vault, tmp_path: Path) -> None:
    shell.ok("cohort dev account alice 7")
    shell.ok("cohort dev faucet alice 10000 USDC")
    for amount in ("1,5", "nan"):  # every malformed amount: tests/test_units.py
        shell.refused(f"cohort deposit alpha {amount} --account alice", 2, "write digits with a dot",
                      as_in_readme=False)
    assert vault.balance_of(dev_account(7).address) == 0  # nothing was deposited
    shell.refused("cohort signal sign alpha --sell USDC --buy WETH --size 25% --max-price 3,100 --dev-account 5",
                  2, "not a --max-price", as_in_readme=False)
    fresh = Account.create()  # an account with test USDC but no ETH for gas
    shell.ok(f"cohort dev faucet {fresh.address} 10 USDC", as_in_readme=False)
    shell.refused("cohort deposit alpha 5 --key-env", 1, "needs ETH for gas", "cohort dev faucet ADDRESS 1 ETH",
                  as_in_readme=False, env={"COHORT_PRIVATE_KEY": "0x" + bytes(fresh.key).hex()})
    shell.refused("cohort deposit alpha 10 --dev-account 25", 2, "--dev-account takes 0 to 19", as_in_readme=False)
    shell.refused("cohort status 0x000000000000000000000000000000000000dEaD --dev-account 7", 2, "no contract at",
                  as_in_readme=False)
    shell.refused("cohort status nosuchvault --dev-account 7", 2, "not in the manifest (its vaults: alpha",
                  as_in_readme=False)
    shell.refused("cohort claim alpha --account alice", 2, "nothing is claimable", as_in_readme=False)
    shell.refused("cohort cancel alpha --account alice", 2, "no unsettled withdrawal request", as_in_readme=False)
    shell.refused("cohort --rpc-url http://127.0.0.1:9 vaults", 3, "cannot reach the node", as_in_readme=False)
    shell.refused("cohort dev time +soon", 2, "not a duration: write 90s, 30m, 1h", as_in_readme=False)

    # keeper and API commands pointed at nothing say so, and leave no empty files behind
    shell.refused("cohort-keeper submit missing.json", 2, "cannot read the signal file missing.json",
                  as_in_readme=False)
    shell.refused("cohort-keeper list", 2, "there is no keeper store")
    shell.refused("cohort-api reconcile alpha", 2, "there is no API database")
    shell.refused("cohort-api reconcile nosuchvault", 2, "vault 'nosuchvault' is not in the manifest",
                  as_in_readme=False)
    assert list(shell.cwd.iterdir()) == []
    (shell.cwd / "cohort-api.sqlite3").touch()  # an empty database file
    shell.refused("cohort-api reconcile alpha", 2, "has nothing indexed", as_in_readme=False)


def test_the_manifest_template_is_refused_until_filled_in(shell: Shell) -> None:
    template = REPO_ROOT / "deployments" / "template.json"
    result = subprocess.run([sys.executable, "-m", "scripts.deploy_vault", "alpha", "--manifest", str(template),
                             "--name", "Cohort Alpha USDC", "--symbol", "cALPHA", "--key-env"], cwd=REPO_ROOT,
                            env=shell.env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "still has template placeholders at network, rpcUrl" in result.stderr


def test_deploy_vault_creates_a_vault_and_records_it_in_the_manifest(
        readme_manifest: Path, anvil: Anvil, w3: Web3, roles: Roles, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from scripts import deploy_vault

    monkeypatch.setenv("COHORT_RPC_URL", anvil.rpc_url)
    code = deploy_vault.main(["beta", "--manifest", str(readme_manifest), "--name", "Cohort Beta USDC", "--symbol",
                              "cBETA", "--fees", "100/1000", "--notice", "2d", "--gate", "10%"])
    assert code == 0, capsys.readouterr().err
    info = mf.load(readme_manifest).cohort.vaults["beta"]
    beta = Vault(w3, info.address)
    assert (beta.fee_state().management_fee_bps, beta.fee_state().performance_fee_bps) == (100, 1000)
    assert tuple(call(beta.fn.queueState()))[2:4] == (2 * 86_400, 1000)
    assert beta.manager() == roles.manager.address and call(beta.fn.owner()) == roles.owner
    assert f"vault beta: {info.address} (cBETA), owner {roles.owner}" in capsys.readouterr().out
