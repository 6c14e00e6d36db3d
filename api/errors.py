"""Errors the API and the indexer raise on purpose. Like the shared module's, each also
inherits the matching built-in. An `ApiError` becomes a 4xx JSON answer (see `main`)."""

from __future__ import annotations

from cohort.errors import CohortError


class ApiError(CohortError):
    """A request the API cannot answer as asked; `status_code` says why."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, indexed_block: int | None = None) -> None:
        self.message = message
        self.indexed_block = indexed_block  # set when the answer is only true as of the indexed books
        super().__init__(message)


class BadInput(ApiError, ValueError):
    status_code = 422
    code = "invalid_input"


class NotFound(ApiError, LookupError):
    status_code = 404
    code = "not_found"


class IndexerError(CohortError, RuntimeError):
    """The indexer cannot go on (the RPC refuses even one block, a reorg is deeper than allowed)."""


class ReorgTooDeep(IndexerError):
    """No stored block within `max_reorg_depth` is still on the chain."""


class KeeperUnavailable(ApiError, ConnectionError):
    """No keeper is configured for the web app's relay, or the configured one does not answer."""

    status_code = 503
    code = "keeper_unavailable"


class ManifestMissing(ApiError, LookupError):
    """The API was started without a deployment manifest, so it cannot name a signal's route."""

    status_code = 503
    code = "manifest_missing"
