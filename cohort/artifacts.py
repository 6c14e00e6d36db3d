"""Compiled contracts: the project's own (from Ape's build manifest) and Uniswap's (from npm).

`make setup` runs `ape compile`, which writes `.build/__local__.json`; the Uniswap builds come
from the pinned npm packages in `node_modules/@uniswap`. Nothing here compiles: if an artifact
is missing, the error says which command produces it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cohort.errors import ArtifactNotFound

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_MANIFEST = REPO_ROOT / ".build" / "__local__.json"
NODE_MODULES = REPO_ROOT / "node_modules"

# Uniswap (and WETH9) builds shipped in the npm packages pinned by package.json.
_UNISWAP = {
    "WETH9": "@uniswap/v2-periphery/build/WETH9.json",
    "UniswapV2Factory": "@uniswap/v2-core/build/UniswapV2Factory.json",
    "UniswapV2Pair": "@uniswap/v2-core/build/UniswapV2Pair.json",
    "UniswapV2Router02": "@uniswap/v2-periphery/build/UniswapV2Router02.json",
    "UniswapV3Factory": "@uniswap/v3-core/artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json",
    "UniswapV3Pool": "@uniswap/v3-core/artifacts/contracts/UniswapV3Pool.sol/UniswapV3Pool.json",
    "SwapRouter": "@uniswap/v3-periphery/artifacts/contracts/SwapRouter.sol/SwapRouter.json",
    "QuoterV2": "@uniswap/v3-periphery/artifacts/contracts/lens/QuoterV2.sol/QuoterV2.json",
    "NonfungiblePositionManager":
        "@uniswap/v3-periphery/artifacts/contracts/NonfungiblePositionManager.sol/NonfungiblePositionManager.json",
    "NonfungibleTokenPositionDescriptor": "@uniswap/v3-periphery/artifacts/contracts/"
        "NonfungibleTokenPositionDescriptor.sol/NonfungibleTokenPositionDescriptor.json",
    "NFTDescriptor": "@uniswap/v3-periphery/artifacts/contracts/libraries/NFTDescriptor.sol/NFTDescriptor.json",
}


@dataclass(frozen=True)
class Artifact:
    """ABI and creation bytecode of one contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str  # 0x-prefixed creation code (library placeholders, if any, left in)
    link_references: dict[str, Any]

    def linked(self, libraries: dict[str, str]) -> str:
        """Creation code with each library placeholder replaced by its address."""
        code = self.bytecode[2:]
        for _source, libs in self.link_references.items():
            for lib_name, refs in libs.items():
                address = libraries[lib_name].lower().removeprefix("0x")
                for ref in refs:
                    start = ref["start"] * 2
                    code = code[:start] + address + code[start + ref["length"] * 2 :]
        return "0x" + code


@cache
def _build_manifest() -> dict[str, Any]:
    if not BUILD_MANIFEST.exists():
        raise ArtifactNotFound(f"{BUILD_MANIFEST} is missing: run `make setup` (ape compile)")
    data: dict[str, Any] = json.loads(BUILD_MANIFEST.read_text())
    return data


def project_artifact(name: str) -> Artifact:
    """A contract compiled from `contracts/` by `ape compile`."""
    types = _build_manifest().get("contractTypes", {})
    if name not in types:
        raise ArtifactNotFound(f"contract {name!r} is not in {BUILD_MANIFEST}: run `make setup`")
    ct = types[name]
    code = ct.get("deploymentBytecode", {}).get("bytecode") or "0x"
    return Artifact(name=name, abi=ct["abi"], bytecode=code, link_references={})


@cache
def uniswap_artifact(name: str) -> Artifact:
    """A Uniswap (or WETH9) contract built by its authors, from the npm packages."""
    if name not in _UNISWAP:
        raise ArtifactNotFound(f"no npm artifact is known for {name!r}")
    path = NODE_MODULES / _UNISWAP[name]
    if not path.exists():
        raise ArtifactNotFound(f"{path} is missing: run `make setup` (npm install)")
    data = json.loads(path.read_text())
    code = data.get("bytecode") or data.get("evm", {}).get("bytecode", {}).get("object", "")
    if not code.startswith("0x"):
        code = "0x" + code
    abi = data["abi"] if isinstance(data["abi"], list) else json.loads(data["abi"])
    return Artifact(name=name, abi=abi, bytecode=code, link_references=data.get("linkReferences") or {})


def abi_of(name: str) -> list[dict[str, Any]]:
    """The ABI of a project or Uniswap contract, by name."""
    if name in _UNISWAP:
        return uniswap_artifact(name).abi
    return project_artifact(name).abi
