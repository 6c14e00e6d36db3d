"""Migrations: they build exactly the models' schema, and go down and up again, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from api.db import downgrade, make_engine, migrate
from api.models import Base


def test_migrations_build_exactly_the_models_schema(sqlite_url: str, postgres_url: str) -> None:
    for url in (sqlite_url, postgres_url):
        engine = make_engine(url)
        migrate(engine)
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == [], url
        engine.dispose()


def test_migrations_go_down_and_up_again(sqlite_url: str, postgres_url: str) -> None:
    for url in (sqlite_url, postgres_url):
        engine = make_engine(url)
        migrate(engine)
        tables = set(inspect(engine).get_table_names())
        assert {"events", "blocks", "accounts", "trades", "positions", "nav_points", "indexer_state"} <= tables
        downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate(engine)
        engine.dispose()
