"""Devnet-only controls over anvil's RPC (time, mining, snapshots, balances), and whether a pid runs.

The anvil process itself is started and stopped by `cohort.dev.stack`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from web3 import Web3

from cohort.errors import ChainUnavailable


def pid_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False



class DevChain:
    """Devnet-only controls over anvil's RPC: time, mining, snapshots, balances."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3

    def _rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in response:
            raise ChainUnavailable(f"{method} failed: {response['error']}")
        return response.get("result")

    def snapshot(self) -> str:
        return str(self._rpc("evm_snapshot", []))

    def revert(self, snapshot_id: str) -> None:
        if not self._rpc("evm_revert", [snapshot_id]):
            raise ChainUnavailable(f"evm_revert({snapshot_id}) failed")

    @contextlib.contextmanager
    def isolated(self) -> Iterator[None]:
        """Everything done inside is undone at exit (evm_snapshot / evm_revert)."""
        snap = self.snapshot()
        try:
            yield
        finally:
            self.revert(snap)

    def mine(self, blocks: int = 1, interval: int | None = None) -> None:
        params: list[Any] = [hex(blocks)]
        if interval is not None:
            params.append(hex(interval))
        self._rpc("anvil_mine", params)

    def increase_time(self, seconds: int, *, mine: bool = True) -> None:
        self._rpc("evm_increaseTime", [hex(seconds)])
        if mine:
            self.mine()

    def timestamp(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def align_clock(self) -> None:
        """After anvil restarts from a --state dump, its clock is the wall clock again, which may
        be behind the last block (the devnet runs hours ahead to give pools a TWAP history);
        views at a pending block would then see time run backwards. Move the clock past it."""
        latest = self.timestamp()
        if latest >= int(time.time()):
            self._rpc("evm_setTime", [latest + 1])
            self.mine()

    def set_next_timestamp(self, ts: int) -> None:
        self._rpc("evm_setNextBlockTimestamp", [hex(ts)])

    def set_balance(self, address: str, wei: int) -> None:
        self._rpc("anvil_setBalance", [address, hex(wei)])

    def set_automine(self, enabled: bool) -> None:
        self._rpc("evm_setAutomine", [enabled])

    def set_chain_id(self, chain_id: int) -> None:
        self._rpc("anvil_setChainId", [chain_id])

    def impersonate(self, address: str) -> None:
        self._rpc("anvil_impersonateAccount", [address])

    def stop_impersonating(self, address: str) -> None:
        self._rpc("anvil_stopImpersonatingAccount", [address])

    def reorg(self, depth: int, txs: list[Any] | None = None) -> None:
        self._rpc("anvil_reorg", [depth, txs or []])

    def rollback(self, depth: int) -> None:
        self._rpc("anvil_rollback", [depth])

    def dev_accounts(self) -> list[str]:
        return [Web3.to_checksum_address(a) for a in self.w3.eth.accounts]
