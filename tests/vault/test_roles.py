"""Roles and governance (SECURITY 23): every privileged function reverts without its role and
works with it; risk-raising changes wait behind the timelock; every setter emits an event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from web3 import Web3

from cohort import manifest as mf
from cohort.deploy import at
from cohort.dev.anvil import DevChain
from cohort.protocol import RiskLimits
from cohort.tx import call, transact
from cohort.uniswap import encode_v3_path
from cohort.vault import Vault
from tests.conftest import Roles
from tests.helpers import SignalBook, deposit, log_names, reverts

DAY = 86_400


def matrix(m: mf.Manifest, vault: Vault, roles: Roles) -> list[tuple[str, str, Callable[[], Any], str, str]]:
    """(function, role, call factory, error without the role, event with it)."""
    f = vault.fn
    link, usdc = m.token("LINK").address, m.token("USDC").address
    v3 = m.cohort.adapters["uniswap-v3"]
    tighter = RiskLimits(max_trade_bps=4000).as_tuple()
    return [
        ("setFees", "owner", lambda: f.setFees(100, 1000), "CohortNotOwner", "FeesSet"),
        ("setFeeRecipient", "owner", lambda: f.setFeeRecipient(roles.outsider), "CohortNotOwner", "FeeRecipientSet"),
        ("setGuardian", "owner", lambda: f.setGuardian(roles.outsider), "CohortNotOwner", "GuardianSet"),
        ("setKeeper", "owner", lambda: f.setKeeper(roles.outsider, True), "CohortNotOwner", "KeeperSet"),
        ("setAdapter(off)", "owner", lambda: f.setAdapter(m.cohort.adapters["uniswap-v2"], False), "CohortNotOwner",
         "AdapterSet"),
        ("setRiskLimits(tighter)", "owner", lambda: f.setRiskLimits(tighter), "CohortNotOwner", "RiskLimitsSet"),
        ("setDepositLimits", "owner", lambda: f.setDepositLimits(10**15, 5), "CohortNotOwner", "DepositLimitsSet"),
        ("setRedemptionParams(shorter)", "owner", lambda: f.setRedemptionParams(3600, 5000), "CohortNotOwner",
         "RedemptionParamsSet"),
        ("setTimelock(longer)", "owner", lambda: f.setTimelock(2 * DAY), "CohortNotOwner", "TimelockSet"),
        ("setManager", "owner", lambda: f.setManager(roles.outsider), "CohortNotOwner", "ChangeSubmitted"),
        ("listAsset", "owner", lambda: f.listAsset((link, v3, encode_v3_path([link, usdc], [3000]))),
         "CohortNotOwner", "ChangeSubmitted"),
        ("transferOwnership", "owner", lambda: f.transferOwnership(roles.outsider), "CohortNotOwner",
         "OwnershipTransferStarted"),
        ("setPaused(true)", "guardian", lambda: f.setPaused(True), "CohortNotGuardian", "PausedSet"),
        ("invalidateNonces", "manager", lambda: f.invalidateNonces(0, 1), "CohortNotManager", "NoncesInvalidated"),
        ("accrueFees", "anyone", lambda: f.accrueFees(), "", "FeesAccrued"),
    ]


def _who(role: str, roles: Roles) -> str:
    return {"owner": roles.owner, "guardian": roles.guardian, "manager": roles.manager.address,
            "keeper": roles.keeper, "anyone": roles.outsider}[role]


def test_role_matrix(w3: Web3, chain: DevChain, deployment: mf.Manifest, vault: Vault, roles: Roles) -> None:
    deposit(w3, deployment, vault, roles.investors[0], 10_000 * 10**6)
    outsiders = [roles.outsider, roles.investors[1], roles.keeper]
    for name, role, make, error, event in matrix(deployment, vault, roles):
        with chain.isolated():
            if error:
                for intruder in outsiders:
                    if intruder == _who(role, roles):
                        continue
                    with reverts(error):
                        transact(make(), intruder)
            receipt = transact(make(), _who(role, roles))
            assert event in log_names(vault, receipt), f"{name} did not emit {event}"


def test_keeper_only_entry_points(w3: Web3, chain: DevChain, deployment: mf.Manifest, vault: Vault,
                                  roles: Roles) -> None:
    investor = roles.investors[0]
    shares = deposit(w3, deployment, vault, investor, 10_000 * 10**6)
    book = SignalBook(vault, deployment, roles.manager)
    signed = book.signed("USDC", "WETH", size_bps=1000)
    with reverts("CohortNotKeeper"):
        vault.execute_signal(signed, roles.outsider)
    vault.execute_signal(signed, roles.keeper)
    vault.request_redeem(shares // 2, investor)
    chain.increase_time(3 * DAY)
    for fn in ("unwindForRedemptions", "settleRedemptions"):
        with reverts("CohortNotKeeper"):
            transact(getattr(vault.fn, fn)(), roles.outsider)
    # once an epoch has been matured for the grace period, anyone may settle it
    chain.increase_time(7 * DAY)
    assert vault.events(transact(vault.fn.settleRedemptions(), roles.outsider), "RedemptionsSettled")


def test_pause_is_the_guardians_and_only_the_owner_resumes(w3: Web3, deployment: mf.Manifest, vault: Vault,
                                                            roles: Roles) -> None:
    transact(vault.fn.setPaused(True), roles.guardian)
    with reverts("CohortNotGuardian"):
        transact(vault.fn.setPaused(False), roles.guardian)
    transact(vault.fn.setPaused(False), roles.owner)
    assert call(vault.fn.riskState())[1] is False


def test_the_module_cannot_be_used_directly_or_initialised_twice(w3: Web3, deployment: mf.Manifest, vault: Vault,
                                                                 roles: Roles) -> None:
    module = at(w3, "CohortVaultAdmin", deployment.cohort.admin)
    with reverts("CohortNotDelegated"):
        transact(module.functions.setKeeper(roles.outsider, True), roles.outsider)
    with reverts("CohortAlreadyInitialized"):
        params = call(vault.fn.riskState())  # any params: the vault refuses before reading them
        del params
        from cohort.protocol import VaultConfig, vault_params

        transact(vault.fn.initialize(vault_params(deployment, VaultConfig(), owner=roles.outsider,
                                                  manager=roles.outsider, guardian=roles.outsider,
                                                  fee_recipient=roles.outsider, keepers=[])), roles.outsider)


def test_ownership_moves_in_two_steps(w3: Web3, deployment: mf.Manifest, vault: Vault, roles: Roles) -> None:
    transact(vault.fn.transferOwnership(roles.outsider), roles.owner)
    assert call(vault.fn.owner()) == roles.owner
    with reverts("CohortNotPendingOwner"):
        transact(vault.fn.acceptOwnership(), roles.keeper)
    transact(vault.fn.acceptOwnership(), roles.outsider)
    assert call(vault.fn.owner()) == roles.outsider
    with reverts("CohortNotOwner"):
        transact(vault.fn.setKeeper(roles.keeper, False), roles.owner)


@pytest.mark.parametrize(
    ("name", "raise_args", "lower_args"),
    [
        ("setFees", (300, 2000), (100, 1000)),
        ("setTimelock", (3600,), (2 * DAY,)),
        ("setRedemptionParams", (2 * DAY, 2500), (3600, 5000)),
    ],
)
def test_risk_raising_changes_wait_and_others_apply_at_once(name: str, raise_args: tuple, lower_args: tuple,
                                                            w3: Web3, chain: DevChain, vault: Vault,
                                                            roles: Roles) -> None:
    fn = getattr(vault.fn, name)
    receipt = transact(fn(*raise_args), roles.owner)  # recorded, not applied
    (submitted,) = vault.events(receipt, "ChangeSubmitted")
    assert submitted["validAt"] == vault.events(receipt, "ChangeSubmitted")[0]["validAt"]
    with reverts("CohortTimelockPending"):
        transact(fn(*raise_args), roles.owner)
    chain.increase_time(DAY + 1)
    receipt = transact(fn(*raise_args), roles.owner)  # the very same call applies it
    assert "ChangeSubmitted" not in log_names(vault, receipt)
    with chain.isolated():
        receipt = transact(fn(*lower_args), roles.owner)  # the safe direction: at once
        assert "ChangeSubmitted" not in log_names(vault, receipt)


def test_a_submitted_change_can_be_revoked_by_the_guardian(w3: Web3, chain: DevChain, vault: Vault,
                                                           roles: Roles) -> None:
    receipt = transact(vault.fn.setManager(roles.outsider), roles.owner)
    (submitted,) = vault.events(receipt, "ChangeSubmitted")
    with reverts("CohortNotGuardian"):
        transact(vault.fn.revokePendingChange(submitted["id"]), roles.outsider)
    transact(vault.fn.revokePendingChange(submitted["id"]), roles.guardian)
    chain.increase_time(2 * DAY)
    transact(vault.fn.setManager(roles.outsider), roles.owner)  # starts over: recorded again
    assert call(vault.fn.manager()) == roles.manager.address
    with reverts("CohortNoPendingChange"):
        transact(vault.fn.revokePendingChange(b"\x01" * 32), roles.owner)


def test_loosening_a_risk_limit_waits_tightening_does_not(w3: Web3, chain: DevChain, vault: Vault,
                                                          roles: Roles) -> None:
    looser = RiskLimits(max_slippage_bps=300).as_tuple()
    assert "ChangeSubmitted" in log_names(vault, transact(vault.fn.setRiskLimits(looser), roles.owner))
    assert call(vault.fn.riskState())[0][3] == 100
    tighter = RiskLimits(max_slippage_bps=50).as_tuple()
    assert "RiskLimitsSet" in log_names(vault, transact(vault.fn.setRiskLimits(tighter), roles.owner))
    assert call(vault.fn.riskState())[0][3] == 50
    with reverts("CohortInvalidParameter"):
        transact(vault.fn.setRiskLimits(RiskLimits(max_slippage_bps=0).as_tuple()), roles.owner)


def test_invalid_changes_are_refused_when_submitted_not_when_applied(vault: Vault, roles: Roles,
                                                                    chain: DevChain) -> None:
    with reverts("CohortInvalidParameter"):  # above the 5% cap: refused at once, never queued
        transact(vault.fn.setFees(501, 0), roles.owner)
    with reverts("CohortInvalidParameter"):  # above the 50% cap
        transact(vault.fn.setFees(0, 5001), roles.owner)
    with reverts("CohortInvalidParameter"):  # a looser but out-of-range window
        transact(vault.fn.setRiskLimits(RiskLimits(twap_window=10).as_tuple()), roles.owner)
    with reverts("CohortInvalidParameter"):
        transact(vault.fn.setTimelock(31 * DAY), roles.owner)
    with reverts("CohortInvalidParameter"):
        transact(vault.fn.setRedemptionParams(91 * DAY, 2500), roles.owner)
