"""The vault's parameters as its setters left them: roles, fees, limits, keepers, adapters,
listed assets with their exit routes, and the pause and risk-off flags."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.ledger.events import LogEvent
from api.ledger.state import BookState, Handler


def initial_config(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters a vault starts with (VaultCreated.params), before its setters replay."""
    return {
        "asset": params["asset"], "name": params["name"], "symbol": params["symbol"],
        "oracle": params["oracle"], "owner": None, "manager": None, "guardian": None,
        "feeRecipient": None, "managementFeeBps": 0, "performanceFeeBps": 0,
        "riskLimits": None, "depositCap": 0, "minDeposit": 0, "noticePeriod": 0, "gateBps": 0,
        "timelock": 0, "paused": False, "riskOff": False, "keepers": [], "adapters": [],
        "listedAssets": [], "exitRoutes": {},
    }


def _setter(values: Callable[[dict[str, Any]], dict[str, Any]]) -> Handler:
    """A handler that sets the parameters `values` reads from the event."""

    def handler(book: BookState, ev: LogEvent, a: dict[str, Any]) -> None:
        book.config.update(values(a))

    return handler


def _member_setter(key: str, member: str) -> Handler:
    """A handler that adds `a[member]` to (allowed) or removes it from the list `key`."""

    def handler(book: BookState, ev: LogEvent, a: dict[str, Any]) -> None:
        address = a[member]
        members = [m for m in book.config[key] if m != address]
        book.config[key] = [*members, address] if bool(a["allowed"]) else members

    return handler


def _on_asset_listed(book: BookState, ev: LogEvent, a: dict[str, Any]) -> None:
    asset = a["asset"]
    if asset not in book.config["listedAssets"]:
        book.config["listedAssets"] = [*book.config["listedAssets"], asset]
    book.config["exitRoutes"] = {**book.config["exitRoutes"],
                                 asset: {"adapter": a["exitAdapter"], "path": a["exitPath"]}}


def _on_asset_delisted(book: BookState, ev: LogEvent, a: dict[str, Any]) -> None:
    listed = list(book.config["listedAssets"])
    if a["asset"] in listed:
        i = listed.index(a["asset"])
        listed[i] = listed[-1]  # the contract swaps with the last entry and pops
        listed.pop()
    book.config["listedAssets"] = listed
    book.config["exitRoutes"] = {k: v for k, v in book.config["exitRoutes"].items() if k != a["asset"]}


HANDLERS: dict[str, Handler] = {
    "KeeperSet": _member_setter("keepers", "keeper"),
    "AdapterSet": _member_setter("adapters", "adapter"),
    "AssetListed": _on_asset_listed,
    "AssetDelisted": _on_asset_delisted,
    "RiskOffEntered": _setter(lambda a: {"riskOff": True}),
    "RiskOffExited": _setter(lambda a: {"riskOff": False}),
    "OwnershipTransferred": _setter(lambda a: {"owner": a["newOwner"]}),
    "ManagerSet": _setter(lambda a: {"manager": a["manager"]}),
    "GuardianSet": _setter(lambda a: {"guardian": a["guardian"]}),
    "FeeRecipientSet": _setter(lambda a: {"feeRecipient": a["recipient"]}),
    "FeesSet": _setter(lambda a: {"managementFeeBps": int(a["managementFeeBps"]),
                                  "performanceFeeBps": int(a["performanceFeeBps"])}),
    "RiskLimitsSet": _setter(lambda a: {"riskLimits": dict(a["limits"])}),
    "DepositLimitsSet": _setter(lambda a: {"depositCap": int(a["depositCap"]), "minDeposit": int(a["minDeposit"])}),
    "RedemptionParamsSet": _setter(lambda a: {"noticePeriod": int(a["noticePeriod"]), "gateBps": int(a["gateBps"])}),
    "TimelockSet": _setter(lambda a: {"timelock": int(a["timelock"])}),
    "PausedSet": _setter(lambda a: {"paused": bool(a["paused"])}),
}
