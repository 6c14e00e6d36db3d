"""What a vault's custom errors mean for a relayer, and how to say them in words.

One table, keyed by the error names of the compiled ABI (`vault_abi()`): whether a signal that
reverts with an error may pass later (retry), can never pass as signed (fail at once), or
means something else (bad signature, expired, nonce used, this keeper is not allowed). A test
checks the table against the ABI both ways: every name in it is an error of the vault, and
every `Cohort*` error of the vault is in it, so a new or renamed error cannot go unclassified.

`NOTHING_TO_DO` names the reverts by which a keeper duty's call says there is no work, and
`gate_spent()` reads a settlement's revert by its argument names; a test checks both against
the ABI too.

`explain()` turns a revert into words an operator can act on ("the vault holds no WBTC").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from functools import cache
from typing import Any

from cohort.errors import ContractRevert
from cohort.onchain import SizeMode, vault_abi


class Disposition(StrEnum):
    REJECT = "reject"  # the signal itself is invalid (signature)
    EXPIRE = "expire"  # the deadline passed
    RECONCILE = "reconcile"  # the nonce is used: find out by whom on-chain
    RETRY = "retry"  # may pass later (pause, prices, loss budget): retry a few times
    FAIL = "fail"  # can never pass as signed: fail at once
    KEEPER_FAULT = "keeper_fault"  # this keeper's own problem: counts toward the breaker


_D = Disposition
SIGNAL_REVERTS: Mapping[str, Disposition] = {
    # the signal is not the manager's, or is stale
    "CohortInvalidSignature": _D.REJECT,
    "CohortSignalExpired": _D.EXPIRE,
    "CohortNonceUsed": _D.RECONCILE,
    "CohortNotKeeper": _D.KEEPER_FAULT,
    # the state of the vault or the market, which changes
    "CohortPaused": _D.RETRY,
    "CohortLossBudgetExceeded": _D.RETRY,  # the budget refills when the window rolls
    "CohortPriceDeviation": _D.RETRY,  # the TWAP follows the spot within minutes
    "CohortOracleFailed": _D.RETRY,
    "CohortRiskOff": _D.RETRY,
    "CohortTransferMismatch": _D.RETRY,
    # the signal as signed, against the vault's fixed rules: no later block helps
    "CohortZeroAmount": _D.FAIL,  # selling a token the vault does not hold
    "CohortInsufficientOutput": _D.FAIL,  # the limit is beyond the market
    "CohortTradeTooLarge": _D.FAIL,
    "CohortAssetNotListed": _D.FAIL,
    "CohortRouteTokenNotListed": _D.FAIL,
    "CohortNoPriceFeed": _D.FAIL,
    "CohortAdapterNotAllowed": _D.FAIL,
    "CohortSameToken": _D.FAIL,
    "CohortInvalidSize": _D.FAIL,
    "CohortZeroLimitPrice": _D.FAIL,
    "CohortSlippageOutOfRange": _D.FAIL,
    "CohortZeroMinimum": _D.FAIL,
    "CohortZeroAddress": _D.FAIL,
    "CohortInvalidParameter": _D.FAIL,
    # a follower's share of a master signal (skipped with the reason, may be tried again)
    "CohortFillBelowMinimum": _D.RETRY,  # the keeper's floor is below this follower's bound
    "CohortFillBelowTolerance": _D.RETRY,  # the market is away from the master's reference price
    "CohortNotFollowing": _D.FAIL,
    "CohortNotStrategies": _D.FAIL,
    "CohortNoPendingFill": _D.FAIL,
    # never raised by executeSignal: if one ever is, it is retried like an unknown error
    **{name: _D.RETRY for name in (
        "CohortNotManager", "CohortNotGuardian", "CohortNotControllerOrOperator", "CohortZeroShares",
        "CohortDepositTooSmall", "CohortTimelockPending", "CohortNoPendingChange", "CohortTooManyAssets",
        "CohortAssetAlreadyListed", "CohortAssetHasHoldings", "CohortAsyncRedemption", "CohortRequestPending",
        "CohortNothingToCancel", "CohortNothingToSettle", "CohortEpochNotMatured", "CohortExceedsClaimable",
        "CohortNoSettlementCapacity", "CohortNoUnwindNeeded", "CohortBreakerNotTripped", "CohortNotOwner",
        "CohortNotPendingOwner", "CohortAlreadyInitialized", "CohortNotDelegated")},
}


@cache
def abi_error_names() -> frozenset[str]:
    """Every custom error of the vault (CohortVault and its modules), from the compiled ABI."""
    return frozenset(item["name"] for item in vault_abi() if item.get("type") == "error")


def classify(error_name: str) -> Disposition:
    """What a named revert of `executeSignal` means; anything unknown is retried (then fails)."""
    return SIGNAL_REVERTS.get(error_name, Disposition.RETRY)


# ------------------------------------------------------------------------------------ duties
# The reverts by which a keeper duty's call, simulated first, says there is nothing to do (the
# work is done, or not due yet): the keeper sends nothing and reports nothing.
NOTHING_TO_DO: Mapping[str, frozenset[str]] = {
    "unwindForRedemptions": frozenset({"CohortNoUnwindNeeded"}),
    "settleRedemptions": frozenset({"CohortNothingToSettle", "CohortEpochNotMatured"}),
    "tripBreaker": frozenset({"CohortBreakerNotTripped"}),
    "derisk": frozenset({"CohortZeroAmount"}),
}


def error_arg(revert: ContractRevert, name: str) -> Any:
    """The argument `name` of a decoded revert, found by the error's ABI input names; KeyError
    when the error has no such argument or its arguments were not decoded."""
    for item in vault_abi():
        if item.get("type") == "error" and item["name"] == revert.name:
            names = [i["name"] for i in item["inputs"]]
            if name in names and len(revert.error_args) == len(names):
                return revert.error_args[names.index(name)]
    raise KeyError(f"{revert.name} has no decoded argument {name}")


def gate_spent(revert: ContractRevert) -> bool:
    """`CohortNoSettlementCapacity(gateRemaining=0, ...)`: this window's gate is used up (normal),
    as opposed to a vault short of the base asset (gateRemaining > 0)."""
    if revert.name != "CohortNoSettlementCapacity":
        return False
    try:
        return int(str(error_arg(revert, "gateRemaining"))) == 0
    except KeyError:
        return False


# ------------------------------------------------------------------------------------ words
Namer = Callable[[str], str]  # an address -> a name to show (a token's symbol)

_WORDS: Mapping[str, Callable[[tuple[Any, ...], Namer, Mapping[str, Any]], str]] = {
    "CohortZeroAmount": lambda a, n, c: (f"the vault holds no {n(c['token_in'])}"
                                         if c.get("size_mode") == SizeMode.HOLDINGS
                                         else "the trade's size rounds to zero"),
    "CohortInsufficientOutput": lambda a, n, c: (f"the market gives {a[0]} {n(c['token_out'])} (smallest units), "
                                                 f"the signal's limit or the oracle bound asks at least {a[1]}"),
    "CohortSlippageOutOfRange": lambda a, n, c: f"the signal allows {a[0]} bps of slippage, the vault at most {a[1]}",
    "CohortTradeTooLarge": lambda a, n, c: f"the trade is worth {a[0]}, over the vault's limit of {a[1]} per trade",
    "CohortAssetNotListed": lambda a, n, c: f"the vault does not list {n(a[0])}",
    "CohortRouteTokenNotListed": lambda a, n, c: f"the route passes through {n(a[0])}, which the vault does not list",
    "CohortNoPriceFeed": lambda a, n, c: f"the oracle has no price feed for {n(a[0])}",
    "CohortAdapterNotAllowed": lambda a, n, c: f"the vault does not allow adapter {a[0]}",
    "CohortSameToken": lambda a, n, c: f"the signal sells and buys the same token ({n(a[0])})",
    "CohortInvalidSize": lambda a, n, c: f"a size of {a[1]} bps in mode {a[0]} is not valid",
    "CohortZeroLimitPrice": lambda a, n, c: "the signal has no limit price",
    "CohortZeroMinimum": lambda a, n, c: "the minimum output rounds to zero",
    "CohortPaused": lambda a, n, c: "the vault is paused",
    "CohortRiskOff": lambda a, n, c: f"the vault is risk-off: it only trades into its base asset, not {n(a[0])}",
    "CohortPriceDeviation": lambda a, n, c: (f"{n(a[0])}'s spot price is {a[1]} ticks from its TWAP "
                                             f"(the bound is {a[2]})"),
    "CohortLossBudgetExceeded": lambda a, n, c: (f"the trade would lose {a[0]} against the oracle; "
                                                 f"the loss budget has {a[1]} left"),
    "CohortOracleFailed": lambda a, n, c: f"the oracle cannot price {n(a[0])}",
    "CohortNotKeeper": lambda a, n, c: f"{a[0]} is not an allowed keeper of the vault",
    "CohortInvalidSignature": lambda a, n, c: "the signature is not the vault manager's",
    "CohortSignalExpired": lambda a, n, c: f"its deadline ({a[0]}) has passed",
    "CohortNonceUsed": lambda a, n, c: f"nonce {a[0]} is already used",
    "CohortFillBelowMinimum": lambda a, n, c: (f"the block trade's floor pays {a[0]} (smallest units), the follower's "
                                               f"limit or oracle bound asks at least {a[1]}"),
    "CohortFillBelowTolerance": lambda a, n, c: (f"the block trade's floor pays {a[0]} (smallest units), more than "
                                                 f"the follower's price tolerance from the master's price allows "
                                                 f"(at least {a[1]})"),
    "CohortNotFollowing": lambda a, n, c: f"the vault does not follow strategy {a[0]}",
}


def explain(revert: ContractRevert, *, name_of: Namer = str, context: Mapping[str, Any] | None = None) -> str:
    """The revert in words, then its name and arguments: "the vault holds no WBTC (CohortZeroAmount())".

    `context` carries what the call was about (a signal's `token_in`, `token_out`, `size_mode`);
    `name_of` names an address (a token's symbol)."""
    words = _WORDS.get(revert.name)
    if words is not None:
        try:
            return f"{words(revert.error_args, name_of, context or {})} ({revert})"
        except (IndexError, KeyError):  # arguments not decoded, or no context: the name alone
            pass
    return str(revert)
