"""Settings of the `cohort` command line (investors and managers): `COHORT_`-prefixed
environment variables, overridden by command-line flags.

| variable | meaning |
|---|---|
| COHORT_RPC_URL | JSON-RPC endpoint; the one setting the CLI, the keeper and the API all read |
| COHORT_MANIFEST | deployment manifest (default deployments/local.json) |
| COHORT_PRIVATE_KEY | a private key to act with (`--key-env`); never printed |
| COHORT_PASSPHRASE | the passphrase of a keyfile or Ape account (else it is asked for) |
| APE_DATA_FOLDER | where Ape keeps its accounts (default ~/.ape) |

Where the node is: `--rpc-url`, else `COHORT_RPC_URL`, else the manifest's `rpcUrl` (the URL the
devnet was deployed through), else http://127.0.0.1:8545.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from cohort import manifest as mf
from cohort.chain import DEFAULT_RPC
from cohort.manifest import default_path

# The node's URL, for every Cohort program. The keeper and the API also read their old names
# (KEEPER_RPC_URL, API_RPC_URL) when this one is not set.
RPC_URL_ENV = "COHORT_RPC_URL"


def rpc_url_field(default: str | None, *deprecated_env: str) -> Any:
    """The `rpc_url` field of a settings class: read from COHORT_RPC_URL, then the deprecated
    names (the class needs `populate_by_name=True`, so `rpc_url=` in code and TOML still works)."""
    return Field(default, validation_alias=AliasChoices(RPC_URL_ENV, *deprecated_env))


def resolve_rpc_url(given: str | None, manifest_path: Path | None) -> str:
    """The URL given, else the manifest's `rpcUrl`, else the devnet's default."""
    if given:
        return given
    if manifest_path is not None and manifest_path.exists():
        try:
            return mf.load(manifest_path).rpc_url or DEFAULT_RPC
        except mf.ManifestError:
            return DEFAULT_RPC
    return DEFAULT_RPC


class CohortSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COHORT_", extra="ignore", populate_by_name=True)

    rpc_url: str | None = rpc_url_field(None)  # None: the manifest's rpcUrl (see resolve_rpc_url)
    manifest: Path = Field(default_factory=default_path)
    private_key: SecretStr | None = None
    passphrase: SecretStr | None = None
    ape_data_folder: Path = Field(default_factory=lambda: Path.home() / ".ape",
                                  validation_alias=AliasChoices("APE_DATA_FOLDER", "COHORT_APE_DATA_FOLDER"))

    def node_url(self) -> str:
        return resolve_rpc_url(self.rpc_url, self.manifest)
