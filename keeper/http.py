"""The keeper's HTTP API (FastAPI): signal and master-signal intake and status, health, metrics,
breaker reset.

Every error answer is JSON `{"error": "<code>", "detail": "..."}` with a 4xx status (or 503
from /healthz while the keeper cannot send).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from keeper import __version__
from keeper.breaker import BreakerGuard
from keeper.columns import MAX_SQL_INT
from keeper.intake import Admission, Intake
from keeper.masters import MasterIntake
from keeper.metrics import CONTENT_TYPE, KeeperMetrics
from keeper.policy import SignalState
from keeper.settings import KeeperSettings
from keeper.store import Store


class Keeper(Protocol):
    """What the HTTP layer needs of a running keeper (keeper.service.Keeper is one), so the
    layer depends on its parts, not on the service that builds them."""

    settings: KeeperSettings
    intake: Intake
    master_intake: MasterIntake
    store: Store
    metrics: KeeperMetrics
    breaker: BreakerGuard

    async def wait_finished(self, signal_id: int, timeout: float) -> None: ...

    async def wait_master_finished(self, master_id: int, timeout: float) -> None: ...

    def health(self) -> tuple[int, dict[str, Any]]: ...


def error(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status)


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, reading at most `limit + 1` bytes (enough to tell it is too large)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)


async def _submit(request: Request, max_bytes: int, admit: Callable[..., Awaitable[Admission]]) -> JSONResponse:
    """A POSTed signal or master signal through its intake (`admit`): the answer it gives."""
    body = await _read_body(request, max_bytes)
    received_at = time.time()  # a submission is received once its bytes are in
    client = request.client.host if request.client is not None else None
    admission = await admit(body, source="http", received_at=received_at, client=client)
    return JSONResponse(admission.body, status_code=admission.status)


def signals_router(keeper: Keeper) -> APIRouter:
    router = APIRouter(prefix="/signals", tags=["signals"])

    @router.post("", status_code=202, summary="Submit a signed signal (the JSON of cohort.signals.SignedSignal)")
    async def submit(request: Request) -> JSONResponse:
        return await _submit(request, keeper.settings.max_body_bytes, keeper.intake.admit)

    @router.get("/{signal_id}", summary="A signal's state, reason, outcome and transactions")
    async def get_signal(signal_id: Annotated[int, Path(ge=1, le=MAX_SQL_INT)],
                         wait: Annotated[float, Query(ge=0, le=60,
                                                      description="seconds to wait for a final state")] = 0,
                         ) -> JSONResponse:
        if wait:
            await keeper.wait_finished(signal_id, wait)
        record = keeper.store.get(signal_id)
        if record is None:
            return error(404, "not_found", f"no signal #{signal_id}")
        body = record.public()
        body["transactions"] = [t.public() for t in keeper.store.txs_for_signal(signal_id)]
        return JSONResponse(body)

    @router.get("", summary="Signals, newest first, optionally by state or vault")
    async def list_signals(state: SignalState | None = None, vault: str | None = None,
                           limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                           offset: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0) -> JSONResponse:
        records = keeper.store.list_signals(state=None if state is None else str(state), vault=vault, limit=limit,
                                    offset=offset)
        return JSONResponse({"signals": [r.public() for r in records]})

    return router


def masters_router(keeper: Keeper) -> APIRouter:
    router = APIRouter(prefix="/masters", tags=["master signals"])

    @router.post("", status_code=202, summary="Submit a signed master signal (cohort.strategies.SignedMaster's JSON)")
    async def submit(request: Request) -> JSONResponse:
        return await _submit(request, keeper.settings.max_body_bytes, keeper.master_intake.admit)

    @router.get("/{master_id}", summary="A master signal's state, each follower's outcome, and its transactions")
    async def get_master(master_id: Annotated[int, Path(ge=1, le=MAX_SQL_INT)],
                         wait: Annotated[float, Query(ge=0, le=120,
                                                      description="seconds to wait for a final state")] = 0,
                         ) -> JSONResponse:
        if wait:
            await keeper.wait_master_finished(master_id, wait)
        body = keeper.store.master_view(master_id)
        if body is None:
            return error(404, "not_found", f"no master signal #{master_id}")
        return JSONResponse(body)

    @router.get("", summary="Master signals, newest first, optionally by state or strategy id")
    async def list_masters(state: SignalState | None = None,
                           strategy: Annotated[int | None, Query(ge=1, le=MAX_SQL_INT)] = None,
                           limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                           offset: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0) -> JSONResponse:
        records = keeper.store.list_masters(state=None if state is None else str(state), strategy_id=strategy,
                                            limit=limit, offset=offset)
        return JSONResponse({"masters": [r.public() for r in records]})

    return router


def ops_router(keeper: Keeper) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="200 when the keeper can send; 503 with the reason when not")
    async def healthz() -> JSONResponse:
        status, body = keeper.health()
        return JSONResponse(body, status_code=status)

    @router.get("/metrics", summary="Prometheus metrics (text format)")
    async def metrics() -> Response:
        return Response(keeper.metrics.render(), media_type=CONTENT_TYPE)

    @router.post("/breaker/reset", summary="Close the circuit breaker (needs the admin token; refused without one)")
    async def reset_breaker(authorization: Annotated[str | None, Header()] = None) -> JSONResponse:
        token = keeper.settings.admin_token
        if token is None or not token.get_secret_value():
            return error(403, "reset_disabled", "no admin_token is configured (KEEPER_ADMIN_TOKEN): the breaker "
                         "closes after breaker_cooldown_s, or set a token to reset it over HTTP")
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
            return error(401, "unauthorized", "send Authorization: Bearer <admin_token>")
        keeper.breaker.reset()
        return JSONResponse({"breaker": keeper.breaker.state.snapshot()})

    return router


def create_app(keeper: Keeper) -> FastAPI:
    app = FastAPI(title="Cohort keeper", version=__version__,
                  description="Relays manager-signed trade signals to Cohort vaults and runs their duties.")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        return error(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        detail: Any = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return error(422, "invalid_request", detail)

    app.include_router(signals_router(keeper))
    app.include_router(masters_router(keeper))
    app.include_router(ops_router(keeper))
    return app
