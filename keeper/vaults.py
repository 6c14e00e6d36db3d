"""The vaults a keeper serves, and what it caches about each: EIP-712 domain, manager, and
whether the manager is a contract (ERC-1271: its signatures can only be checked on-chain)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from web3 import Web3

from cohort.signals import Domain
from keeper.abi import VaultAbi
from keeper.rpc import Rpc

log = logging.getLogger("keeper.vaults")
MANAGER_TTL_S = 60.0  # a manager change waits behind the vault's timelock; re-read now and then


@dataclass(frozen=True)
class VaultInfo:
    address: str
    domain: Domain
    manager: str
    manager_is_contract: bool
    read_at: float


class VaultDirectory:
    def __init__(self, addresses: list[str], rpc: Rpc, abi: VaultAbi) -> None:
        self.addresses = [Web3.to_checksum_address(a) for a in addresses]
        self._by_lower = {a.lower(): a for a in self.addresses}
        self.rpc = rpc
        self.abi = abi
        self._cache: dict[str, VaultInfo] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def resolve(self, address: str) -> str | None:
        """The configured vault with this address (checksummed), or None if it is not served."""
        return self._by_lower.get(address.lower())

    def cached(self, vault: str) -> VaultInfo | None:
        return self._cache.get(vault)

    async def info(self, vault: str, *, refresh: bool = False) -> VaultInfo:
        cached = self._cache.get(vault)
        if cached is not None and not refresh and time.time() - cached.read_at < MANAGER_TTL_S:
            return cached
        lock = self._locks.setdefault(vault, asyncio.Lock())
        async with lock:
            cached = self._cache.get(vault)
            if cached is not None and not refresh and time.time() - cached.read_at < MANAGER_TTL_S:
                return cached
            fn_domain, fn_manager = self.abi["eip712Domain"], self.abi["manager"]
            domain_raw, manager_raw = await asyncio.gather(
                self.rpc.eth_call(vault, fn_domain.encode()), self.rpc.eth_call(vault, fn_manager.encode()))
            _fields, name, version, chain_id, verifying, _salt, _ext = fn_domain.decode(domain_raw)
            manager = Web3.to_checksum_address(fn_manager.decode(manager_raw)[0])
            code = await self.rpc.get_code(manager)
            info = VaultInfo(address=vault, domain=Domain(name=name, version=version, chain_id=int(chain_id),
                                                          verifying_contract=Web3.to_checksum_address(verifying)),
                             manager=manager, manager_is_contract=len(code) > 2, read_at=time.time())
            if cached is not None and cached.manager != manager:
                log.warning("vault manager changed", extra={"vault": vault, "old": cached.manager, "new": manager})
            self._cache[vault] = info
            return info

    async def nonce_used(self, vault: str, nonce: int) -> bool:
        fn = self.abi["nonceUsed"]
        return bool(fn.decode(await self.rpc.eth_call(vault, fn.encode(nonce)))[0])

    async def is_keeper(self, vault: str, account: str) -> bool:
        fn = self.abi["isKeeper"]
        return bool(fn.decode(await self.rpc.eth_call(vault, fn.encode(account)))[0])
