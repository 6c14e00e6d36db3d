"""The vaults a keeper serves, and what it caches about each: EIP-712 domain, manager, and
whether the manager is a contract (ERC-1271: its signatures can only be checked on-chain)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from web3 import Web3

from cohort.onchain import Eip712Domain
from cohort.signals import Domain
from cohort.units import format_amount
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


@dataclass
class _KeeperSet:
    allowed: set[str]
    to_block: int  # KeeperSet events read up to here
    read_at: float


class VaultDirectory:
    def __init__(self, addresses: list[str], rpc: Rpc, abi: VaultAbi) -> None:
        self.addresses = [Web3.to_checksum_address(a) for a in addresses]
        self._by_lower = {a.lower(): a for a in self.addresses}
        self.rpc = rpc
        self.abi = abi
        self._cache: dict[str, VaultInfo] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._keepers: dict[str, _KeeperSet] = {}
        self._symbols: dict[str, str] = {}
        self._decimals: dict[str, int] = {}

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
            domain = Domain.from_eip712(Eip712Domain.decode(fn_domain.decode(domain_raw)))
            manager = Web3.to_checksum_address(fn_manager.decode(manager_raw)[0])
            code = await self.rpc.get_code(manager)
            info = VaultInfo(address=vault, domain=domain, manager=manager, manager_is_contract=len(code) > 2,
                             read_at=time.time())
            if cached is not None and cached.manager != manager:
                log.warning("vault manager changed", extra={"vault": vault, "old": cached.manager, "new": manager})
            self._cache[vault] = info
            return info

    async def keepers(self, vault: str) -> list[str]:
        """The vault's allowed keepers, from its KeeperSet events (read once, then followed from the
        last block read, at most every MANAGER_TTL_S)."""
        known = self._keepers.get(vault)
        if known is not None and time.time() - known.read_at < MANAGER_TTL_S:
            return sorted(known.allowed)
        lock = self._locks.setdefault(f"keepers:{vault}", asyncio.Lock())
        async with lock:
            known = self._keepers.get(vault) or _KeeperSet(set(), -1, 0.0)
            if time.time() - known.read_at >= MANAGER_TTL_S:
                head = int(await self.rpc.request("eth_blockNumber"), 16)
                topic = self.abi.topics["KeeperSet"]
                logs = (await self.rpc.get_logs(vault, [topic], known.to_block + 1, head)
                        if head > known.to_block else [])
                for entry in logs:
                    keeper = Web3.to_checksum_address("0x" + str(entry["topics"][1])[-40:])
                    if int(str(entry["data"]), 16):
                        known.allowed.add(keeper)
                    else:
                        known.allowed.discard(keeper)
                self._keepers[vault] = _KeeperSet(known.allowed, head, time.time())
            return sorted(self._keepers[vault].allowed)

    async def symbol(self, token: str) -> str:
        """A token's ERC-20 symbol (its address if it has none), for messages."""
        cached = self._symbols.get(token.lower())
        if cached is None:
            fn = self.abi["symbol"]
            try:
                cached = str(fn.decode(await self.rpc.eth_call(token, fn.encode()))[0])
            except Exception:  # no symbol(), or not a string: the address says it
                cached = Web3.to_checksum_address(token)
            self._symbols[token.lower()] = cached
        return cached

    async def amount(self, token: str, units: int) -> str:
        """`units` of `token` in whole tokens with its symbol, for messages: `1,234.50 USDC`
        (a vault's own address gives its shares)."""
        decimals = self._decimals.get(token.lower())
        if decimals is None:
            fn = self.abi["decimals"]
            decimals = int(fn.decode(await self.rpc.eth_call(token, fn.encode()))[0])
            self._decimals[token.lower()] = decimals
        return f"{format_amount(units, decimals)} {await self.symbol(token)}"

    async def nonce_used(self, vault: str, nonce: int, *, block: str = "latest") -> bool:
        fn = self.abi["nonceUsed"]
        return bool(fn.decode(await self.rpc.eth_call(vault, fn.encode(nonce), block=block))[0])

    async def is_keeper(self, vault: str, account: str) -> bool:
        fn = self.abi["isKeeper"]
        return bool(fn.decode(await self.rpc.eth_call(vault, fn.encode(account)))[0])
