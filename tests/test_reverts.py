"""The classification of the vault's errors (cohort.reverts): one table, checked against the
compiled ABI both ways, and the words an operator reads."""

from __future__ import annotations

from cohort import reverts
from cohort.abi import functions
from cohort.errors import ContractRevert
from cohort.onchain import vault_abi
from cohort.reverts import Disposition

WBTC = "0x" + "0b" * 20
USDC = "0x" + "0c" * 20


def test_every_classified_error_is_an_error_of_the_vault_and_every_cohort_error_is_classified() -> None:
    in_abi = reverts.abi_error_names()
    assert set(reverts.SIGNAL_REVERTS) <= in_abi, set(reverts.SIGNAL_REVERTS) - in_abi
    unclassified = {name for name in in_abi if name.startswith("Cohort")} - set(reverts.SIGNAL_REVERTS)
    assert not unclassified, f"classify these in cohort/reverts.py: {sorted(unclassified)}"


def test_errors_map_to_what_a_relayer_does() -> None:
    assert reverts.classify("CohortInvalidSignature") is Disposition.REJECT
    assert reverts.classify("CohortSignalExpired") is Disposition.EXPIRE
    assert reverts.classify("CohortNonceUsed") is Disposition.RECONCILE
    assert reverts.classify("CohortNotKeeper") is Disposition.KEEPER_FAULT
    for transient in ("CohortPaused", "CohortPriceDeviation", "CohortLossBudgetExceeded", "CohortOracleFailed"):
        assert reverts.classify(transient) is Disposition.RETRY
    for hopeless in ("CohortZeroAmount", "CohortInsufficientOutput", "CohortSlippageOutOfRange",
                     "CohortAssetNotListed", "CohortTradeTooLarge"):
        assert reverts.classify(hopeless) is Disposition.FAIL
    assert reverts.classify("Panic") is Disposition.RETRY  # unknown: retried, then failed


def test_a_revert_is_explained_in_words_with_its_name() -> None:
    names = {WBTC: "WBTC", USDC: "USDC"}.get
    context = {"token_in": WBTC, "token_out": USDC, "size_mode": 0}
    zero = reverts.explain(ContractRevert("CohortZeroAmount"), name_of=lambda a: names(a, a), context=context)
    assert zero == "the vault holds no WBTC (CohortZeroAmount())"
    short = reverts.explain(ContractRevert("CohortInsufficientOutput", (5, 9)), name_of=lambda a: names(a, a),
                            context=context)
    assert short.startswith("the market gives 5 USDC") and "at least 9" in short
    assert reverts.explain(ContractRevert("Panic", (17,))) == "Panic(17)"  # no words: the name
    assert reverts.explain(ContractRevert("CohortAssetNotListed")) == "CohortAssetNotListed()"  # args missing


def test_duty_nothing_to_do_errors_are_errors_of_the_functions_the_keeper_calls() -> None:
    vault_functions = functions(vault_abi())
    for fn, errors in reverts.NOTHING_TO_DO.items():
        assert fn in vault_functions, fn
        assert errors <= reverts.abi_error_names(), errors - reverts.abi_error_names()


def test_a_spent_gate_is_read_by_the_errors_argument_name() -> None:
    assert reverts.gate_spent(ContractRevert("CohortNoSettlementCapacity", (0, 5)))
    assert not reverts.gate_spent(ContractRevert("CohortNoSettlementCapacity", (3, 0)))  # short of base
    assert not reverts.gate_spent(ContractRevert("CohortNoSettlementCapacity"))  # arguments not decoded
    assert not reverts.gate_spent(ContractRevert("CohortNothingToSettle"))
    assert reverts.error_arg(ContractRevert("CohortNoSettlementCapacity", (3, 7)), "baseAvailable") == 7
