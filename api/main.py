"""The FastAPI app: the web app at /, OpenAPI at /docs, one router per resource, 4xx JSON for bad input.

`create_app(settings)` migrates the database, and (unless told not to) runs the indexer in a
background thread for the app's lifetime. Errors always answer JSON `{"detail", "code"}`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import __version__
from api.db import is_sqlite, make_engine, migrate, session_factory
from api.deps import AppState
from api.errors import ApiError
from api.indexer.rpc import Rpc
from api.indexer.runner import Indexer
from api.routes import api_router
from api.routes.investors import MamFastPath
from api.services.chain import ChainReader
from api.services.context import ContextCache
from api.settings import Settings
from cohort.artifacts import NODE_MODULES

log = logging.getLogger("cohort.api")
WEB = Path(__file__).resolve().parent / "web"
# npm packages the pages and /docs load, served from node_modules (pinned in package.json): offline.
WEB_LIBRARIES = {"ethers": "ethers/dist", "lightweight-charts": "lightweight-charts/dist",
                 "swagger-ui": "swagger-ui-dist"}

DESCRIPTION = """
The multi-account (MAM) view of Cohort vaults, from the chain's events.

Every investor of a pooled vault appears as their own sub-account: shares, equity, net
deposits, realised and unrealised P&L (average cost), fees borne, pending and claimable
redemptions, and an allocation ticket for every trade since they joined. Auditors get the raw
event log (JSON, CSV) and a reconciliation of the books, rebuilt from events alone, with the
chain. Amounts are integers in the token's smallest unit, as decimal strings.
"""


def _error(status: int, detail: object, code: str, **extra: object) -> JSONResponse:
    content = {"detail": jsonable_encoder(detail), "code": code}
    content.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(status_code=status, content=content)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status_code, exc.message, exc.code, indexed_block=exc.indexed_block)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{k: v for k, v in e.items() if k != "ctx"} for e in exc.errors()]
        return _error(422, errors, "invalid_input")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, exc.detail, code)

    @app.exception_handler(SQLAlchemyError)
    async def database_error(_request: Request, exc: SQLAlchemyError) -> JSONResponse:
        log.exception("database error", exc_info=exc)
        return _error(503, "the database is unavailable", "database_unavailable")


def create_app(settings: Settings | None = None, *, run_indexer: bool | None = None,
               rpc: Rpc | None = None) -> FastAPI:
    settings = settings or Settings()
    rpc = rpc or Rpc(settings.rpc_url, settings.rpc_timeout)
    start_indexer = settings.indexer if run_indexer is None else run_indexer

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state: AppState = app.state.cohort
        # Handlers are CPU-bound Python: a few threads keep the GIL from thrashing between many.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        migrate(make_engine(settings.database_url))
        stop = threading.Event()
        thread: threading.Thread | None = None
        if start_indexer:
            indexer = Indexer(settings, make_engine(settings.database_url), rpc=Rpc(settings.rpc_url,
                                                                                      settings.rpc_timeout),
                              progress=log.info)
            thread = threading.Thread(target=indexer.run_forever, args=(stop,), name="cohort-indexer", daemon=True)
            thread.start()
        try:
            yield
        finally:
            stop.set()
            if thread is not None:
                thread.join(timeout=30)
            state.engine.dispose()

    # /docs: Swagger UI 5 (it reads OpenAPI 3.1) from npm's swagger-ui-dist, not a CDN.
    app = FastAPI(title="Cohort API", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    for name, folder in WEB_LIBRARIES.items():
        app.mount(f"/app/lib/{name}", StaticFiles(directory=NODE_MODULES / folder, check_dir=False), name=f"lib-{name}")
    app.mount("/app/static", StaticFiles(directory=WEB), name="web")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Cohort API",
                                   swagger_js_url="/app/lib/swagger-ui/swagger-ui-bundle.js",
                                   swagger_css_url="/app/lib/swagger-ui/swagger-ui.css",
                                   swagger_favicon_url="/app/lib/swagger-ui/favicon-32x32.png")
    engine = make_engine(settings.database_url, read_only=True)
    app.state.cohort = AppState(settings=settings, engine=engine, sessions=session_factory(engine),
                                chain=ChainReader(rpc, settings.chain_cache_size), contexts=ContextCache(),
                                inline_reads=is_sqlite(settings.database_url))
    install_error_handlers(app)
    app.include_router(api_router)
    app.add_middleware(MamFastPath)  # the hot path, ahead of routing (see its docstring)

    @app.get("/", include_in_schema=False)
    def root() -> FileResponse:
        return FileResponse(WEB / "index.html")

    return app
