"""Deployment manifests: `deployments/<network>.json`.

The manifest is the one place where addresses live. The keeper, the API, the demo, the tests
and external tools read it. Its format is versioned (`format`) and documented in
`deployments/README.md`; fields are camelCase in JSON. Addresses are EIP-55 checksummed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from cohort.artifacts import REPO_ROOT
from cohort.errors import ManifestError

FORMAT = "cohort-deployment/1"
DEPLOYMENTS_DIR = REPO_ROOT / "deployments"


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class TokenInfo(_Model):
    address: str
    symbol: str
    decimals: int


class V3PoolInfo(_Model):
    address: str
    token0: str
    token1: str
    fee: int


class V2PairInfo(_Model):
    address: str
    token0: str
    token1: str


class UniswapV3Info(_Model):
    factory: str
    swap_router: str
    quoter_v2: str
    position_manager: str
    position_descriptor: str
    pools: dict[str, V3PoolInfo] = Field(default_factory=dict)  # "WETH/USDC/3000" -> pool


class UniswapV2Info(_Model):
    factory: str
    router02: str
    pairs: dict[str, V2PairInfo] = Field(default_factory=dict)  # "WETH/USDC" -> pair


class VaultInfo(_Model):
    address: str
    name: str
    symbol: str
    asset: str
    manager: str
    deployed_block: int


class CohortInfo(_Model):
    oracle: str | None = None
    factory: str | None = None
    factory_block: int | None = None
    admin: str | None = None  # the CohortVaultAdmin module
    follower: str | None = None  # the CohortVaultFollower module (served through the admin module)
    strategies: str | None = None  # CohortStrategies: MAM strategies and bulk execution
    adapters: dict[str, str] = Field(default_factory=dict)  # "uniswap-v3" -> adapter
    vaults: dict[str, VaultInfo] = Field(default_factory=dict)  # label -> vault


class Manifest(_Model):
    format: str = FORMAT
    network: str
    chain_id: int
    rpc_url: str
    genesis_hash: str
    deployer: str
    updated_at: str = ""
    weth9: str
    tokens: dict[str, TokenInfo] = Field(default_factory=dict)  # symbol -> token
    uniswap_v3: UniswapV3Info
    uniswap_v2: UniswapV2Info
    cohort: CohortInfo = Field(default_factory=CohortInfo)

    def token(self, symbol: str) -> TokenInfo:
        try:
            return self.tokens[symbol]
        except KeyError:
            raise ManifestError(f"token {symbol!r} is not in the manifest (have {sorted(self.tokens)})") from None

    def v3_pool(self, a: str, b: str, fee: int) -> V3PoolInfo:
        for key in (f"{a}/{b}/{fee}", f"{b}/{a}/{fee}"):
            if key in self.uniswap_v3.pools:
                return self.uniswap_v3.pools[key]
        raise ManifestError(f"no V3 pool {a}/{b}/{fee} in the manifest")

    def symbols(self) -> dict[str, str]:
        """Lower-case token address -> symbol."""
        return {t.address.lower(): symbol for symbol, t in self.tokens.items()}

    def adapter_names(self) -> dict[str, str]:
        """Lower-case adapter address -> its name (`uniswap-v3`, `uniswap-v2`)."""
        return {address.lower(): name for name, address in self.cohort.adapters.items()}

    def vault(self, label_or_address: str) -> VaultInfo:
        if label_or_address in self.cohort.vaults:
            return self.cohort.vaults[label_or_address]
        for info in self.cohort.vaults.values():
            if info.address.lower() == label_or_address.lower():
                return info
        raise ManifestError(f"vault {label_or_address!r} is not in the manifest (its vaults: "
                            f"{', '.join(sorted(self.cohort.vaults)) or 'none'}); "
                            "give one of those labels or an address")


def default_path(network: str = "local") -> Path:
    return DEPLOYMENTS_DIR / f"{network}.json"


def load(path: Path | str) -> Manifest:
    path = Path(path)
    if not path.exists():
        raise ManifestError(f"{path} does not exist: run `make devnet` (or scripts/devnet.py up)")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path} is not valid JSON: {exc}") from exc
    if data.get("format") != FORMAT:
        raise ManifestError(f"{path} has format {data.get('format')!r}, expected {FORMAT!r}")
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(f"{path} does not match {FORMAT}: {exc}") from exc


def save(manifest: Manifest, path: Path | str) -> Path:
    """Write atomically (temp file + rename), so a reader never sees half a manifest."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest.updated_at = datetime.now(UTC).isoformat(timespec="seconds")
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(manifest.model_dump(by_alias=True), indent=2) + "\n")
    tmp.replace(path)
    return path
