"""Settings of the `cohort` command line (investors and managers): `COHORT_`-prefixed
environment variables, overridden by command-line flags.

| variable | meaning |
|---|---|
| COHORT_RPC_URL | JSON-RPC endpoint (default http://127.0.0.1:8545) |
| COHORT_MANIFEST | deployment manifest (default deployments/local.json) |
| COHORT_PRIVATE_KEY | a private key to act with (`--key-env`); never printed |
| COHORT_PASSPHRASE | the passphrase of a keyfile or Ape account (else it is asked for) |
| APE_DATA_FOLDER | where Ape keeps its accounts (default ~/.ape) |
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from cohort.chain import DEFAULT_RPC
from cohort.manifest import default_path


class CohortSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COHORT_", extra="ignore")

    rpc_url: str = DEFAULT_RPC
    manifest: Path = Field(default_factory=default_path)
    private_key: SecretStr | None = None
    passphrase: SecretStr | None = None
    ape_data_folder: Path = Field(default_factory=lambda: Path.home() / ".ape",
                                  validation_alias=AliasChoices("APE_DATA_FOLDER", "COHORT_APE_DATA_FOLDER"))
