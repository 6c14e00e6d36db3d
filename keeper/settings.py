"""The keeper's settings: one class, read from a TOML file and `KEEPER_`-prefixed env vars.

Precedence, highest first: explicit overrides (tests, the CLI), environment variables, the TOML
file, the defaults below. Secrets (`private_key`, `keyfile_passphrase`, `admin_token`) are
`SecretStr`: their repr, `str()` and JSON dump show `**********`, and the log formatter also
redacts their values wherever they might appear.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from eth_account.signers.local import LocalAccount
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, SettingsConfigDict

from cohort import accounts
from cohort import manifest as mf
from cohort.chain import DEFAULT_RPC
from cohort.settings import RPC_URL_ENV, rpc_url_field
from keeper.errors import ConfigError

ENV_PREFIX = "KEEPER_"


class KeeperSettings(BaseSettings):
    """Everything a node operator can set. Durations are seconds; fees are gwei."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True, populate_by_name=True)

    # ---------------------------------------------------------------- chain and vaults
    rpc_url: str = rpc_url_field(DEFAULT_RPC, "KEEPER_RPC_URL")  # COHORT_RPC_URL (KEEPER_RPC_URL: deprecated)
    chain_id: int | None = None  # refuse to run on another chain (None: take the node's)
    manifest: Path | None = None  # deployments/<network>.json, to name vaults by label
    # vault addresses or manifest labels; empty: every vault of the manifest
    vaults: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # ---------------------------------------------------------------- the keeper's account
    private_key: SecretStr | None = None
    keyfile: Path | None = None  # a JSON keystore (Ape, geth, MetaMask export)
    keyfile_passphrase: SecretStr | None = None

    # ---------------------------------------------------------------- storage and HTTP
    db_path: Path = Path("keeper.db")
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    host: str = "127.0.0.1"
    port: int = 8547
    admin_token: SecretStr | None = None  # POST /breaker/reset is refused (403) unless one is set
    max_body_bytes: int = Field(65_536, ge=1024)
    # refused submissions recorded per client: a burst, then a steady rate; past it 429, not recorded
    refusal_burst: int = Field(30, ge=1)
    refusals_per_s: float = Field(1.0, gt=0)

    # ---------------------------------------------------------------- signal pipeline
    poll_interval_s: float = Field(0.2, gt=0)
    rpc_timeout_s: float = Field(10.0, gt=0)
    rpc_backoff_initial_s: float = Field(0.1, gt=0)
    rpc_backoff_max_s: float = Field(5.0, gt=0)
    deadline_margin_s: int = Field(2, ge=0)  # never send a signal closer than this to its deadline
    replace_after_blocks: int = Field(3, ge=1)
    replace_after_s: float = Field(30.0, gt=0)
    fee_bump_bps: int = Field(1250, ge=1250)  # replacements raise both fee caps by at least this
    priority_fee_gwei: float = Field(1.0, ge=0)
    max_fee_gwei: float = Field(500.0, gt=0)  # hard cap on maxFeePerGas, replacements included
    gas_headroom_pct: int = Field(30, ge=0)
    # several keepers of one vault take turns per signal: the n-th in line (policy.relay_rank) waits
    # n slots before it sends, and sends only if nobody has (0: never wait, race instead)
    claim_slot_s: float = Field(2.0, ge=0)
    retry_limit: int = Field(5, ge=0)  # simulation retries for transient reverts
    retry_delay_s: float = Field(2.0, ge=0)
    breaker_threshold: int = Field(5, ge=1)  # consecutive failures that open the circuit breaker
    breaker_cooldown_s: float = Field(60.0, ge=0)  # 0: stays open until POST /breaker/reset
    log_chunk_blocks: int = Field(10_000, ge=1)

    # ---------------------------------------------------------------- master signals (MAM)
    strategies: str | None = None  # the CohortStrategies contract (default: the manifest's cohort.strategies)
    max_followers_per_chunk: int = Field(50, ge=1)  # followers per executeMaster transaction, at most
    block_gas_fraction_pct: int = Field(50, ge=1, le=95)  # share of the block gas limit one chunk may use
    master_base_gas: int = Field(300_000, ge=0)  # a chunk's fixed cost, for planning (then measured)
    master_follower_gas: int = Field(120_000, ge=1)  # each follower's cost, for planning (then measured)
    floor_slippage_bps: int = Field(30, ge=0, lt=10_000)  # floor = simulated price less this

    # ---------------------------------------------------------------- duties (0 disables one)
    fees_interval_s: float = Field(3600.0, ge=0)
    redemptions_interval_s: float = Field(60.0, ge=0)
    risk_interval_s: float = Field(30.0, ge=0)
    derisk_bps: int = Field(10_000, ge=1, le=10_000)

    # ---------------------------------------------------------------- logs
    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("vaults", mode="before")
    @classmethod
    def _split_vaults(cls, value: Any) -> Any:
        """`KEEPER_VAULTS` may be a JSON list or a comma-separated list."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [v.strip() for v in text.split(",") if v.strip()]
        return value

    # ---------------------------------------------------------------- derived
    def load_account(self) -> LocalAccount:
        """The keeper's signing account, from exactly one of `private_key` and `keyfile`."""
        if (self.private_key is None) == (self.keyfile is None):
            raise ConfigError("set exactly one of private_key (KEEPER_PRIVATE_KEY) and keyfile")
        try:
            if self.private_key is not None:
                return accounts.from_private_key(self.private_key.get_secret_value())
            assert self.keyfile is not None
            if self.keyfile_passphrase is None:
                raise ConfigError("keyfile needs keyfile_passphrase (KEEPER_KEYFILE_PASSPHRASE)")
            return accounts.from_keyfile(self.keyfile, self.keyfile_passphrase.get_secret_value())
        except accounts.AccountError as exc:
            raise ConfigError(str(exc)) from None

    def _manifest(self) -> mf.Manifest | None:
        """The manifest the settings name, if any (a bad one is a ConfigError)."""
        try:
            return mf.load(self.manifest) if self.manifest else None
        except mf.ManifestError as exc:
            raise ConfigError(str(exc)) from None

    def vault_addresses(self) -> list[str]:
        """Configured vaults as checksummed addresses (labels resolved through the manifest)."""
        from web3 import Web3

        manifest = self._manifest()
        names = self.vaults or ([] if manifest is None else list(manifest.cohort.vaults))
        out: list[str] = []
        for name in names:
            if Web3.is_address(name):
                out.append(Web3.to_checksum_address(name))
            elif manifest is not None:
                try:
                    out.append(Web3.to_checksum_address(manifest.vault(name).address))
                except mf.ManifestError as exc:
                    raise ConfigError(str(exc)) from None
            else:
                raise ConfigError(f"vault {name!r} is not an address and no manifest is set")
        if not out:
            raise ConfigError("no vaults: set vaults (KEEPER_VAULTS) or a manifest that has some")
        return list(dict.fromkeys(out))

    def strategies_address(self) -> str | None:
        """The CohortStrategies contract whose master signals this keeper executes (None: none)."""
        from web3 import Web3

        if self.strategies:
            if not Web3.is_address(self.strategies):
                raise ConfigError(f"strategies {self.strategies!r} is not an address")
            return Web3.to_checksum_address(self.strategies)
        manifest = self._manifest()
        found = None if manifest is None else manifest.cohort.strategies
        return None if not found else Web3.to_checksum_address(found)

    def secrets(self) -> list[str]:
        """Secret values, for the log redactor."""
        values: list[str] = []
        for secret in (self.private_key, self.keyfile_passphrase, self.admin_token):
            if secret is not None and secret.get_secret_value():
                raw = secret.get_secret_value()
                values += [raw, raw.removeprefix("0x")]
        return [v for v in values if len(v) >= 6]


def read_toml(path: Path) -> dict[str, Any]:
    """The settings in a TOML file: top-level keys, or the keys of a `[keeper]` table."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    table = data.get("keeper", data)
    if not isinstance(table, dict):
        raise ConfigError(f"config file {path}: [keeper] must be a table")
    return dict(table)


def load_settings(config: Path | None = None, **overrides: Any) -> KeeperSettings:
    """Settings from `config` (TOML), then `KEEPER_*` env vars, then `overrides`."""
    values: dict[str, Any] = read_toml(config) if config else {}
    env = EnvSettingsSource(KeeperSettings)()
    if RPC_URL_ENV in env:  # the env source names the field by its alias: back to `rpc_url`
        env["rpc_url"] = env.pop(RPC_URL_ENV)
    values.update(env)
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return KeeperSettings(**values)
    except ValueError as exc:
        raise ConfigError(f"invalid keeper settings: {exc}") from None
