"""`cohort-api`: serve the API (with its indexer), or run the indexer and maintenance on their own.

    cohort-api serve [--host H] [--port P] [--no-indexer]   # OpenAPI at http://H:P/docs
    cohort-api index [--once] [--to-block N]               # follow the chain (or catch up and exit)
    cohort-api migrate                                     # bring the schema to the latest revision
    cohort-api rebuild                                     # rewrite every projection from the stored events
    cohort-api reconcile VAULT                             # the reconciliation report (VAULT: label or address)
    cohort-api openapi                                     # the OpenAPI document, as JSON

Settings come from `API_*` environment variables (see api.settings); the flags below override
the most common ones.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from web3 import Web3

from api.db import is_sqlite, make_engine, migrate
from api.settings import Settings
from cohort import manifest as mf
from cohort.errors import CohortError, UsageError


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for name in ("rpc_url", "database_url", "manifest", "factory", "start_block", "confirmations", "host", "port"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    if getattr(args, "no_indexer", False):
        overrides["indexer"] = False
    return Settings(**overrides)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cmd_serve(settings: Settings) -> int:
    import uvicorn

    from api.main import create_app

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
    return 0


def cmd_index(settings: Settings, once: bool, to_block: int | None) -> int:
    from api.indexer.runner import Indexer

    engine = make_engine(settings.database_url)
    migrate(engine)
    indexer = Indexer(settings, engine, progress=_progress)
    if once or to_block is not None:
        report = indexer.sync(to_block)
        _progress(f"indexed blocks {report.from_block:,}..{report.to_block:,}: {report.events:,} events in "
                  f"{report.seconds:.1f}s ({report.events_per_s:,.0f} events/s), {report.reorgs} reorg(s)")
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    _progress(f"indexing {settings.rpc_url} into {engine.url.render_as_string(hide_password=True)}")
    indexer.run_forever(stop)
    return 0


def cmd_rebuild(settings: Settings) -> int:
    from api import models
    from api.indexer import store

    engine = make_engine(settings.database_url)
    migrate(engine)
    with Session(engine) as session:
        state = session.get(models.IndexerState, 1)
        books = store.rebuild_projections(session, state.factory if state else None)
        session.commit()
    _progress(f"rebuilt the books of {len(books)} vault(s) from the stored events")
    return 0


def indexed_engine(settings: Settings) -> Engine:
    """An engine on a database the indexer has written to; never creates an empty one."""
    url = settings.database_url
    shown = make_url(url).render_as_string(hide_password=True)
    todo = ("run `cohort-api index --once` (or `cohort-api serve`) first, or point --database-url "
            "(API_DATABASE_URL) at the API's database")
    if is_sqlite(url):
        path = make_url(url).database
        if not path or path == ":memory:" or not Path(path).exists():
            raise UsageError(f"there is no API database at {shown}: {todo}")
    engine = make_engine(url)
    if not inspect(engine).has_table("indexer_state"):
        raise UsageError(f"the database at {shown} has nothing indexed: {todo}")
    return engine


def vault_address(settings: Settings, vault: str) -> str:
    """An address as given, or the address of a manifest label."""
    if Web3.is_address(vault):
        return str(Web3.to_checksum_address(vault))
    return str(Web3.to_checksum_address(mf.load(settings.manifest_path()).vault(vault).address))


def cmd_reconcile(settings: Settings, vault: str) -> int:
    from api import models
    from api.indexer.rpc import Rpc
    from api.services.audit import reconcile
    from api.services.chain import ChainReader

    address = vault_address(settings, vault)
    engine = indexed_engine(settings)
    with Session(engine) as session:
        state = session.get(models.IndexerState, 1)
        if state is None:
            raise UsageError("the API's database has nothing indexed yet: run `cohort-api index --once` first")
        report = reconcile(session, ChainReader(Rpc(settings.rpc_url, settings.rpc_timeout)), state.factory, address)
    print(report.model_dump_json(indent=2))
    return 0 if report.ok else 1


def cmd_openapi(settings: Settings) -> int:
    from api.main import create_app

    print(json.dumps(create_app(settings, run_indexer=False).openapi(), indent=2))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cohort-api", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rpc-url", help="JSON-RPC endpoint (COHORT_RPC_URL)")
    p.add_argument("--database-url", help="SQLAlchemy URL: sqlite:///file.db or postgresql+psycopg://... "
                                          "(API_DATABASE_URL)")
    p.add_argument("--manifest", help="deployment manifest with the factory (API_MANIFEST)")
    p.add_argument("--factory", help="VaultFactory address (API_FACTORY)")
    p.add_argument("--start-block", type=int, help="first block to index (API_START_BLOCK)")
    p.add_argument("--confirmations", type=int, help="blocks behind the head (API_CONFIRMATIONS)")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the API (and run the indexer)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--no-indexer", action="store_true", help="serve only (another process indexes)")
    index = sub.add_parser("index", help="run the indexer")
    index.add_argument("--once", action="store_true", help="catch up with the head, then exit")
    index.add_argument("--to-block", type=int, help="stop at this block")
    sub.add_parser("migrate", help="apply the database migrations")
    sub.add_parser("rebuild", help="rewrite the projections from the stored events")
    rec = sub.add_parser("reconcile", help="compare the books rebuilt from events with the chain")
    rec.add_argument("vault", help="a manifest label (alpha) or an address")
    sub.add_parser("openapi", help="print the OpenAPI document")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return run(args)
    except CohortError as exc:
        print(f"cohort-api: {exc}", file=sys.stderr)
        return 2
    except (ConnectionError, OSError) as exc:
        print(f"cohort-api: cannot reach the node or the database ({type(exc).__name__}: {exc}); start them, or "
              "point COHORT_RPC_URL and API_DATABASE_URL at running ones", file=sys.stderr)
        return 3


def run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.command == "serve":
        return cmd_serve(settings)
    if args.command == "index":
        return cmd_index(settings, args.once, args.to_block)
    if args.command == "migrate":
        migrate(make_engine(settings.database_url))
        _progress("database schema is up to date")
        return 0
    if args.command == "rebuild":
        indexed_engine(settings).dispose()  # refuse to rebuild nothing into a new file
        return cmd_rebuild(settings)
    if args.command == "reconcile":
        return cmd_reconcile(settings, args.vault)
    return cmd_openapi(settings)


if __name__ == "__main__":
    sys.exit(main())
