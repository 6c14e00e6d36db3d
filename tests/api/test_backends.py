"""SQLite (the default) and PostgreSQL give identical answers for the same chain."""

from __future__ import annotations

from tests.api.conftest import MakeHarness, api_dump
from tests.api.scenario import Scenario


def test_sqlite_and_postgresql_answer_alike(scenario: Scenario, make_harness: MakeHarness, sqlite_url: str,
                                            postgres_url: str) -> None:
    vaults, people = [scenario.vault.address, scenario.second.address], scenario.accounts
    dumps = []
    for url in (sqlite_url, postgres_url):
        with make_harness(url) as h:
            h.sync()
            assert h.engine.dialect.name in ("sqlite", "postgresql")
            dumps.append(api_dump(h, vaults, people))
    sqlite, postgres = dumps
    assert sqlite.keys() == postgres.keys()
    for path in sqlite:
        assert sqlite[path] == postgres[path], path
    assert sqlite[f"/vaults/{scenario.vault.address}/reconciliation"][1]["ok"]
