"""Errors the keeper raises on purpose.

Like the rest of Cohort (and web3.py's `Web3ValueError(Web3Exception, ValueError)`), each one
also inherits the matching built-in, so callers can catch either.
"""

from __future__ import annotations

from cohort.errors import CohortError


class KeeperError(CohortError):
    """Base class of every error the keeper raises on purpose."""


class ConfigError(KeeperError, ValueError):
    """The settings are incomplete or contradict the chain (wrong chain id, no vaults, no key)."""


class RpcUnavailable(KeeperError, ConnectionError):
    """The node did not answer (refused, reset, timed out, not JSON): retry after a back-off."""


class RpcError(KeeperError, RuntimeError):
    """The node answered with a JSON-RPC error (a revert carries its data)."""

    def __init__(self, method: str, code: int, message: str, data: object = None) -> None:
        self.method = method
        self.code = code
        self.message = message
        self.data = data
        super().__init__(f"{method}: {message} (code {code})")

    @property
    def revert_data(self) -> str | None:
        """Hex revert data, when the error is an execution revert that carries it."""
        data = self.data
        if isinstance(data, dict):
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x"):
            return data
        return None


class SendRejected(KeeperError, RuntimeError):
    """The node refused a transaction outright (insufficient funds, fee too low, ...)."""


class DeadlinePassed(KeeperError, RuntimeError):
    """A signal's deadline is too close (or past) to send it: it is never sent."""


class Superseded(KeeperError, RuntimeError):
    """Between simulation and broadcast, another transaction doing the same work reached the
    pending block (another keeper's): ours is not broadcast."""


class Rejection(KeeperError, ValueError):
    """A submitted signal is refused at intake; `code` and `status` make the HTTP answer."""

    def __init__(self, code: str, detail: str, status: int = 422) -> None:
        self.code = code
        self.detail = detail
        self.status = status
        super().__init__(f"{code}: {detail}")
