"""Typed access to a Cohort vault: reads, deposits, redemptions, claims, signals and fees.

A vault's ABI is CohortVault's plus the CohortVaultAdmin module's (served through the vault's
fallback), merged once in `cohort.onchain`, which also types what its views return. Amounts are
integers in token wei; share prices are 1e18-scaled (1e18 = one asset per share).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from web3 import Web3
from web3.contract import Contract
from web3.types import TxReceipt

from cohort.deploy import at
from cohort.onchain import (
    DepositLimits,
    Eip712Domain,
    FeeState,
    Marks,
    PendingFeeShares,
    QueueState,
    RedeemRequest,
    RedemptionStatus,
    vault_abi,
)
from cohort.signals import Domain, SignedSignal, nonce_words
from cohort.tx import call, receipt_events, transact

MAX_UINT256 = 2**256 - 1
WAD = 10**18


class Vault:
    """One Cohort vault on one chain."""

    def __init__(self, w3: Web3, address: str) -> None:
        self.w3 = w3
        self.address = Web3.to_checksum_address(address)
        self.contract: Contract = w3.eth.contract(address=self.address, abi=vault_abi())
        self.fn = self.contract.functions

    def __repr__(self) -> str:
        return f"Vault({self.address})"

    # ------------------------------------------------------------------ static facts
    @property
    def asset(self) -> Contract:
        return at(self.w3, "TestToken", call(self.fn.asset()))

    def domain(self) -> Domain:
        """The EIP-712 domain, read through ERC-5267 `eip712Domain()`."""
        return Domain.from_eip712(Eip712Domain.from_call(call(self.fn.eip712Domain())))

    # ------------------------------------------------------------------ reads
    def nav(self, block: Any = "latest") -> int:
        return int(call(self.fn.totalAssets(), block=block))

    def valuation(self) -> tuple[int, bool]:
        nav, healthy = call(self.fn.valuation())
        return int(nav), bool(healthy)

    def total_supply(self, block: Any = "latest") -> int:
        return int(call(self.fn.totalSupply(), block=block))

    def balance_of(self, account: str, block: Any = "latest") -> int:
        return int(call(self.fn.balanceOf(account), block=block))

    def price_per_share(self) -> int:
        return int(call(self.fn.pricePerShare()))

    def holdings(self, token: str) -> int:
        return int(call(self.fn.holdings(token)))

    def listed_assets(self) -> list[str]:
        return list(call(self.fn.listedAssets()))

    def fee_state(self) -> FeeState:
        return FeeState.from_call(call(self.fn.feeState()))

    def deposit_limits(self) -> DepositLimits:
        return DepositLimits.from_call(call(self.fn.depositLimits()))

    def queue_state(self) -> QueueState:
        return QueueState.from_call(call(self.fn.queueState()))

    def high_water_mark(self) -> int:
        return Marks.from_call(call(self.fn.marks())).high_water_mark

    def manager(self) -> str:
        return str(call(self.fn.manager()))

    def preview_deposit(self, assets: int) -> int:
        return int(call(self.fn.previewDeposit(assets)))

    def preview_mint(self, shares: int) -> int:
        return int(call(self.fn.previewMint(shares)))

    def max_deposit(self, receiver: str) -> int:
        return int(call(self.fn.maxDeposit(receiver)))

    def pending_fee_shares(self) -> tuple[int, int]:
        pending = PendingFeeShares.from_call(call(self.fn.pendingFeeShares()))
        return pending.management_shares, pending.performance_shares

    def redeem_request_of(self, controller: str, block: Any = "latest") -> RedeemRequest:
        return RedeemRequest.from_call(call(self.fn.redeemRequestOf(controller), block=block))

    def redemption_status(self) -> RedemptionStatus:
        return RedemptionStatus.from_call(call(self.fn.redemptionStatus()))

    def nonce_used(self, nonce: int) -> bool:
        return bool(call(self.fn.nonceUsed(nonce)))

    def reserved_assets(self) -> int:
        return int(call(self.fn.reservedAssets()))

    def convert_to_assets(self, shares: int) -> int:
        return int(call(self.fn.convertToAssets(shares)))

    def max_redeem(self, controller: str) -> int:
        """Shares `controller` can claim now (settled redemptions)."""
        return int(call(self.fn.maxRedeem(controller)))

    def epoch_matures_at(self, epoch: int) -> int:
        """When redemption requests of `epoch` may be settled (chain time)."""
        return int(call(self.fn.epochMaturesAt(epoch)))

    def events(self, receipt: TxReceipt, name: str) -> list[dict[str, Any]]:
        """The vault's own `name` events in `receipt` (logs of other contracts, like the asset's
        Transfer, are skipped rather than warned about)."""
        return receipt_events(self.contract, receipt, name)

    # ------------------------------------------------------------------ investors
    def deposit(self, assets: int, sender: str, receiver: str | None = None,
                approve: bool = True) -> TxReceipt:
        token = self.asset
        if approve and call(token.functions.allowance(sender, self.address)) < assets:
            transact(token.functions.approve(self.address, MAX_UINT256), sender)
        return transact(self.fn.deposit(assets, receiver or sender), sender)

    def request_redeem(self, shares: int, sender: str, controller: str | None = None,
                       owner: str | None = None) -> TxReceipt:
        return transact(self.fn.requestRedeem(shares, controller or sender, owner or sender), sender)

    def cancel_redeem(self, sender: str, controller: str | None = None) -> TxReceipt:
        return transact(self.fn.cancelRedeemRequest(controller or sender), sender)

    def claim(self, sender: str, controller: str | None = None, receiver: str | None = None,
              shares: int | None = None) -> TxReceipt:
        """Claims `shares` of settled redemptions (all that is claimable by default)."""
        controller = controller or sender
        amount = shares if shares is not None else int(call(self.fn.maxRedeem(controller)))
        return transact(self.fn.redeem(amount, receiver or controller, controller), sender)

    # ------------------------------------------------------------------ keepers
    def accrue_fees(self, sender: str) -> TxReceipt:
        return transact(self.fn.accrueFees(), sender)

    def settle_redemptions(self, sender: str) -> TxReceipt:
        return transact(self.fn.settleRedemptions(), sender)

    def unwind_for_redemptions(self, sender: str) -> TxReceipt:
        return transact(self.fn.unwindForRedemptions(), sender)

    def execute_signal(self, signed: SignedSignal, sender: str) -> TxReceipt:
        return transact(self.fn.executeSignal(signed.signal.as_tuple(), signed.signature), sender)

    # ------------------------------------------------------------------ managers
    def invalidate_nonces(self, nonces: Iterable[int], sender: str) -> list[tuple[list[int], TxReceipt]]:
        """Cancels signal nonces on-chain, one transaction per 256-nonce word of the bitmap;
        returns each transaction's nonces with its receipt."""
        return [(members, transact(self.fn.invalidateNonces(word, mask), sender))
                for word, (members, mask) in nonce_words(nonces).items()]

    def signal_digest(self, signed: SignedSignal) -> bytes:
        return bytes(call(self.fn.signalDigest(signed.signal.as_tuple())))
