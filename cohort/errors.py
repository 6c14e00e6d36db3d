"""The root of every error Cohort's Python code raises on purpose.

Like web3.py's `Web3ValueError(Web3Exception, ValueError)`, each error also inherits the
matching built-in, so callers can catch either the Cohort type or the plain Python one.
"""

from __future__ import annotations


class CohortError(Exception):
    """Base class of every error raised by Cohort's Python code."""


class ArtifactNotFound(CohortError, FileNotFoundError):
    """A compiled contract or an npm artifact is missing (run `make setup`)."""


class ManifestError(CohortError, ValueError):
    """A deployment manifest is missing, malformed or does not match the chain."""


class ChainUnavailable(CohortError, ConnectionError):
    """The RPC endpoint does not answer."""


class ContractRevert(CohortError, RuntimeError):
    """A call or transaction reverted; `name` is the decoded custom error, if any."""

    def __init__(self, name: str, args: tuple[object, ...] = (), data: str = "") -> None:
        self.name = name
        self.error_args = args
        self.data = data
        shown = ", ".join(repr(a) for a in args)
        super().__init__(f"{name}({shown})")


class SignalError(CohortError, ValueError):
    """A trade signal is malformed or its signature does not verify."""


class UsageError(CohortError, ValueError):
    """A command cannot run as asked (a malformed argument, a missing file or database); the
    message says what to do. Raised by the command-line tools (cohort, cohort-api)."""
