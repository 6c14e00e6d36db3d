"""The indexer resumes where it stopped, never stores or applies a log twice, waits for its
confirmation depth and prints a progress line while it catches up."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api import models
from api.errors import IndexerError
from api.indexer.runner import Indexer
from cohort.dev.anvil import DevChain
from tests.api.conftest import MakeHarness, api_dump
from tests.api.scenario import Scenario


def _stored(h: object) -> tuple[int, int]:
    engine = h.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        rows = session.scalar(select(func.count()).select_from(models.Event)) or 0
        keys = session.scalar(select(func.count()).select_from(
            select(models.Event.tx_hash, models.Event.log_index).distinct().subquery())) or 0
        return int(rows), int(keys)


def test_a_restart_resumes_without_duplicates(scenario: Scenario, make_harness: MakeHarness, tmp_path: Path) -> None:
    vaults, people = [scenario.vault.address, scenario.second.address], scenario.accounts
    fresh_url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    with make_harness(fresh_url) as fresh:
        fresh.sync()
        expected = api_dump(fresh, vaults, people)
        expected_rows = _stored(fresh)
    with make_harness(f"sqlite:///{tmp_path / 'stop.sqlite3'}", batch_blocks=5, max_batch_blocks=5) as h:
        first = h.indexer.sync(max_batches=4)  # stops part-way, as a crash would
        assert first.batches == 4 and first.to_block < scenario.w3.eth.block_number
        restarted = Indexer(h.settings, h.engine)  # a new process: nothing in memory
        second = restarted.sync()
        assert second.from_block == first.to_block + 1
        h.client.app.state.cohort.contexts.clear()  # type: ignore[attr-defined]
        assert _stored(h) == expected_rows and expected_rows[0] == expected_rows[1]
        assert api_dump(h, vaults, people) == expected


def test_an_already_indexed_range_is_skipped(scenario: Scenario, make_harness: MakeHarness, sqlite_url: str) -> None:
    vaults, people = [scenario.vault.address], scenario.accounts
    with make_harness(sqlite_url) as h:
        h.sync()
        before, rows = api_dump(h, vaults, people), _stored(h)
        with Session(h.engine) as session:  # put the cursor back, as if the last batches' commit had been lost
            block, digest = session.execute(select(models.Block.number, models.Block.hash)
                                            .where(models.Block.number < scenario.w3.eth.block_number - 20)
                                            .order_by(models.Block.number.desc()).limit(1)).one()
            session.execute(update(models.IndexerState).values(cursor_block=block, cursor_hash=digest))
            session.commit()
        report = Indexer(h.settings, h.engine).sync()
        assert report.events == 0 and report.to_block == scenario.w3.eth.block_number
        h.client.app.state.cohort.contexts.clear()  # type: ignore[attr-defined]
        assert _stored(h) == rows
        assert api_dump(h, vaults, people) == before


def test_the_indexer_waits_for_its_confirmation_depth(scenario: Scenario, make_harness: MakeHarness,
                                                     sqlite_url: str, chain: DevChain) -> None:
    with make_harness(sqlite_url, confirmations=3) as h:
        report = h.sync()
        head = chain.w3.eth.block_number
        assert report.to_block == head - 3
        health = h.get("/health")
        assert (health["indexed_block"], health["lag_blocks"], health["confirmations"]) == (head - 3, 0, 3)
        chain.mine(2)
        assert h.sync().to_block == head - 1


def test_catching_up_prints_a_progress_line(scenario: Scenario, make_harness: MakeHarness, sqlite_url: str) -> None:
    lines: list[str] = []
    with make_harness(sqlite_url, batch_blocks=8, max_batch_blocks=8, progress_interval=0.01) as h:
        indexer = Indexer(h.settings, h.engine, progress=lines.append)
        report = indexer.sync()
    assert report.batches > 3 and len(lines) >= 2
    assert all(line.startswith("indexing: block ") and "events/s" in line for line in lines)
    assert lines[-1].startswith(f"indexing: block {report.to_block:,}/{report.to_block:,} (100%)")


def test_a_database_of_another_factory_is_refused(scenario: Scenario, make_harness: MakeHarness,
                                                  sqlite_url: str) -> None:
    with make_harness(sqlite_url) as h:
        h.sync()
        other = h.settings.model_copy(update={"factory": scenario.vault.address})
        with pytest.raises(IndexerError, match="use another database"):
            Indexer(other, h.engine).sync()
