"""The API's settings: one pydantic-settings class, every field overridable by an `API_*`
environment variable (`API_DATABASE_URL`, `API_CONFIRMATIONS`, ...), except the node's URL,
which is `COHORT_RPC_URL` for every Cohort program (`API_RPC_URL` still works when that is not
set). Nothing else reads the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from cohort import manifest as mf
from cohort.chain import DEFAULT_RPC
from cohort.settings import rpc_url_field


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="API_", extra="ignore", populate_by_name=True)

    # chain
    rpc_url: str = rpc_url_field(DEFAULT_RPC, "API_RPC_URL")
    rpc_timeout: float = Field(default=30.0, gt=0)
    manifest: Path | None = None  # default: deployments/local.json
    factory: str | None = None  # overrides the manifest's cohort.factory
    start_block: int | None = Field(default=None, ge=0)  # overrides the manifest's cohort.factoryBlock
    strategies: str | None = None  # CohortStrategies (MAM); overrides the manifest's cohort.strategies

    # storage: SQLite file by default, PostgreSQL when given a URL
    database_url: str = "sqlite:///cohort-api.sqlite3"

    # indexer
    indexer: bool = True  # run the indexer inside `cohort-api serve`
    confirmations: int = Field(default=0, ge=0)  # blocks behind the head (0 on the devnet)
    batch_blocks: int = Field(default=2_000, ge=1)  # first eth_getLogs range; adapts afterwards
    min_batch_blocks: int = Field(default=1, ge=1)
    max_batch_blocks: int = Field(default=100_000, ge=1)
    target_logs_per_request: int = Field(default=10_000, ge=1)  # grow the range while below this
    address_chunk: int = Field(default=200, ge=1)  # vault addresses per eth_getLogs call
    poll_interval: float = Field(default=1.0, gt=0)
    progress_interval: float = Field(default=2.0, gt=0)  # seconds between progress lines when catching up
    max_reorg_depth: int = Field(default=10_000, ge=1)  # blocks walked back to find a common ancestor

    # API
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    threads: int = Field(default=4, ge=1)  # worker threads for request handlers (CPU-bound: few is faster)
    default_page_size: int = Field(default=100, ge=1)
    max_page_size: int = Field(default=1_000, ge=1)
    stream_poll_interval: float = Field(default=0.25, gt=0)
    chain_cache_size: int = Field(default=256, ge=1)  # (vault, block) snapshots of contract reads

    # web app (served at /)
    keeper_url: str | None = None  # where the manager console relays signed signals (None: no relay)
    keeper_timeout: float = Field(default=30.0, gt=0)

    def manifest_path(self) -> Path:
        return self.manifest or mf.default_path()
