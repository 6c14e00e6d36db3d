"""Fixtures for the indexer and API tests: databases (a SQLite file per test, and one
PostgreSQL database for the session, emptied per test), an indexer + app harness, and the
shared multi-investor scenario (built once for the package, on a vault of its own, and undone
at the end so other test packages see the session chain as they expect)."""

from __future__ import annotations

import contextlib
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine
from web3 import Web3

from api.db import downgrade, make_engine, migrate
from api.indexer.runner import Indexer
from api.main import create_app
from api.settings import Settings
from cohort import manifest as mf
from cohort.dev.anvil import DevChain
from cohort.dev.stack import Anvil
from tests.api.scenario import Scenario, build_scenario
from tests.conftest import Roles

with warnings.catch_warnings():  # starlette's note about httpx2, raised once at import
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PG_SERVER = "127.0.0.1:5432"


def _pg_admin() -> tuple[psycopg.Connection[Any], str]:
    last: Exception | None = None
    for user in ("postgres", "root"):
        try:
            return psycopg.connect(f"postgresql://{user}@{PG_SERVER}/test", autocommit=True), user
        except psycopg.OperationalError as exc:
            last = exc
    raise RuntimeError(f"PostgreSQL at {PG_SERVER} refuses users postgres and root: {last}")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of this session's own (created here, dropped at the end)."""
    admin, user = _pg_admin()
    name = f"cohort_api_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://{user}@{PG_SERVER}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def postgres_url(postgres_database: str) -> Iterator[str]:
    """The session's PostgreSQL database, empty at the start of the test."""
    engine = make_engine(postgres_database)
    downgrade(engine, "base")
    engine.dispose()
    yield postgres_database


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'api.sqlite3'}"


@dataclass
class Harness:
    """An indexer and the app over one database."""

    settings: Settings
    engine: Engine
    indexer: Indexer
    client: TestClient

    def sync(self, to_block: int | None = None) -> Any:
        report = self.indexer.sync(to_block)
        self.client.app.state.cohort.contexts.clear()  # type: ignore[attr-defined]
        return report

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(path, params=params)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()


def settings_for(rpc_url: str, manifest: Path, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"indexer": False, "progress_interval": 0.5, **overrides}
    return Settings(rpc_url=rpc_url, manifest=manifest, database_url=database_url, **values)


@contextlib.contextmanager
def harness(rpc_url: str, manifest: Path, database_url: str, **overrides: Any) -> Iterator[Harness]:
    settings = settings_for(rpc_url, manifest, database_url, **overrides)
    engine = make_engine(database_url)
    migrate(engine)
    with TestClient(create_app(settings, run_indexer=False)) as client:
        yield Harness(settings, engine, Indexer(settings, engine), client)
    engine.dispose()


MakeHarness = Callable[..., contextlib.AbstractContextManager[Harness]]


@pytest.fixture
def make_harness(anvil: Anvil, deployment: mf.Manifest, manifest_path: Path) -> MakeHarness:
    """`with make_harness(url) as h:` an indexer + app on the session chain."""

    def make(database_url: str, **overrides: Any) -> contextlib.AbstractContextManager[Harness]:
        return harness(anvil.rpc_url, manifest_path, database_url, **overrides)

    return make


@pytest.fixture(scope="package")
def scenario(w3: Web3, chain: DevChain, deployment: mf.Manifest, roles: Roles, v3: Any) -> Iterator[Scenario]:
    """Several investors, trades, fees, partial and full settlements, claims, a transfer, a
    request for another controller and a cancellation, on a vault of its own. Undone after
    the package (the per-test snapshots nest inside this one)."""
    snapshot = chain.snapshot()
    try:
        yield build_scenario(w3, deployment, roles, v3)
    finally:
        chain.revert(snapshot)


def _strip_ids(value: Any) -> Any:
    """Event ids are storage order (never reused, so they differ after a rollback): drop them."""
    if isinstance(value, dict):
        return {k: _strip_ids(v) for k, v in value.items() if k != "id" or "block_hash" not in value}
    if isinstance(value, list):
        return [_strip_ids(v) for v in value]
    return value


def api_dump(h: Harness, vaults: list[str], investors: list[str]) -> dict[str, Any]:
    """Every answer the API gives about these vaults and investors (status and body)."""
    paths = ["/vaults?limit=1000"]
    for v in vaults:
        paths += [f"/vaults/{v}", f"/vaults/{v}/history?limit=1000", f"/vaults/{v}/trades?limit=1000",
                  f"/vaults/{v}/redemptions?limit=1000", f"/vaults/{v}/accounts?limit=1000&include_empty=true",
                  f"/vaults/{v}/events?limit=1000", f"/vaults/{v}/reconciliation"]
        paths += [f"/vaults/{v}/investors/{i}?tickets_limit=1000" for i in investors]
    paths += [f"/investors/{i}" for i in investors]
    out: dict[str, Any] = {}
    for path in paths:
        response = h.client.get(path)
        out[path] = (response.status_code, _strip_ids(response.json()))
    health = h.get("/health")
    out["/health"] = {k: health[k] for k in ("indexed_block", "indexed_hash", "vaults", "events", "factory")}
    return out
