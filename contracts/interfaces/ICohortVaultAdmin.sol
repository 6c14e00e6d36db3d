// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AssetListing, EpochState, RiskLimits, VaultParams} from "./ICohortVault.sol";
import {VaultStorage} from "../libraries/VaultStorage.sol";

/// @title ICohortVaultAdmin
/// @notice Governance and read-outs of a Cohort vault. These functions are served by the
/// CohortVaultAdmin module through the vault's fallback (DELEGATECALL, like Yearn's
/// TokenizedStrategy): call them on the vault's address. Risk-raising changes wait behind the
/// vault's timelock: the first call records the change (ChangeSubmitted), the same call once
/// the timelock has passed applies it.
interface ICohortVaultAdmin {
    // Errors and events: ICohortVault.sol.

    /// @notice Sets every parameter; called once, by the vault's constructor.
    function initialize(VaultParams calldata params) external;

    /// @notice The CohortVaultFollower module that serves ICohortFollower for the vault.
    function follower() external view returns (address);

    // ---------------------------------------------------------------- ownership (two steps)
    /// @notice The vault's owner (governance).
    function owner() external view returns (address);
    /// @notice The owner-to-be, until it calls acceptOwnership (zero: none).
    function pendingOwner() external view returns (address);
    /// @notice Starts a transfer of ownership to `newOwner` (owner).
    function transferOwnership(address newOwner) external;
    /// @notice Completes the transfer (the pending owner).
    function acceptOwnership() external;

    // ---------------------------------------------------------------- governance
    /// @notice Replaces the manager (owner; always behind the timelock).
    function setManager(address manager) external;
    /// @notice Sets the guardian, who may pause and revoke queued changes (owner; at once).
    function setGuardian(address guardian) external;
    /// @notice Allows or disallows a keeper (owner; at once).
    function setKeeper(address keeper, bool allowed) external;
    /// @notice Allows (behind the timelock) or disallows (at once) a swap adapter.
    function setAdapter(address adapter, bool allowed) external;
    /// @notice Lists an asset or changes its exit route (behind the timelock).
    function listAsset(AssetListing calldata listing) external;
    /// @notice Removes an asset the vault no longer holds (at once).
    function delistAsset(address asset) external;
    /// @notice Sets the risk limits; loosening any of them waits behind the timelock.
    function setRiskLimits(RiskLimits calldata limits) external;
    /// @notice Sets the deposit cap (on NAV) and the minimum deposit (owner; at once).
    function setDepositLimits(uint128 depositCap, uint128 minDeposit) external;
    /// @notice Sets the notice period and gate; a longer notice or a tighter gate waits.
    function setRedemptionParams(uint32 noticePeriod, uint16 gateBps) external;
    /// @notice Sets the timelock; shortening it waits behind the current one.
    function setTimelock(uint32 timelock) external;
    /// @notice Pauses or resumes deposits and trading: the guardian may pause, the owner both.
    /// Requests, cancellations, settlements and claims are never paused.
    function setPaused(bool paused) external;
    /// @notice Cancels a submitted change (owner or guardian).
    function revokePendingChange(bytes32 id) external;
    /// @notice Marks the bits of `mask` in nonce word `wordPos` as used (manager only): cancels
    /// signed signals that have not been executed.
    function invalidateNonces(uint256 wordPos, uint256 mask) external;

    // ---------------------------------------------------------------- risk operations
    /// @notice Sells every held asset in proportion (keepers only) to raise the base asset the
    /// next settlement needs, at oracle-bounded prices, so those who stay keep the same mix.
    function unwindForRedemptions() external;

    /// @notice What a keeper needs to know: whether a settlement is due, for which epoch, the
    /// assets it would pay (within the gate), and the free base asset held.
    function redemptionStatus()
        external
        view
        returns (bool due, uint256 epoch, uint256 assetsNeeded, uint256 baseAvailable, uint256 maturesAt);

    /// @notice Enters risk-off if the drawdown breaker condition holds (anyone may call).
    function tripBreaker() external;

    /// @notice While risk-off, sells `bps` of the vault's holdings of `asset` for the base asset
    /// through its exit route at an oracle-bounded price (anyone may call).
    function derisk(address asset, uint16 bps) external returns (uint256 amountOut);

    /// @notice Leaves risk-off; the breaker's reference becomes today's price per share (owner).
    function resetRiskOff() external;

    /// @notice Loss budget used now (losses of this loss window and the previous one) and its
    /// capacity, in the base asset (docs/DESIGN.md, Signals).
    function lossBudget() external view returns (uint256 used, uint256 capacity);

    // ---------------------------------------------------------------- reads
    // The structs are the stored ones (VaultStorage documents every field); their ABI shape is
    // what the SDK decodes.

    /// @notice Signs trade signals.
    function manager() external view returns (address);
    /// @notice May pause and revoke queued changes.
    function guardian() external view returns (address);
    /// @notice Whether `account` may relay signals and run keeper duties.
    function isKeeper(address account) external view returns (bool);
    /// @notice Whether signals and exit routes may use the swap adapter `adapter`.
    function isAdapter(address adapter) external view returns (bool);
    /// @notice Fee recipient, rates (bps) and the time of the last accrual that advanced the clock.
    function feeState() external view returns (VaultStorage.FeeState memory);
    /// @notice High-water mark and the breaker's reference, as prices per share (1e18 = one asset).
    function marks() external view returns (VaultStorage.Marks memory);
    /// @notice The risk limits, and whether the vault is paused and risk-off.
    function riskState() external view returns (VaultStorage.RiskState memory);
    /// @notice Deposit cap (on NAV) and minimum deposit.
    function depositLimits() external view returns (VaultStorage.Limits memory);
    /// @notice Oldest and latest epochs with requests, notice period, gate (bps) and timelock.
    function queueState() external view returns (VaultStorage.Queue memory);
    /// @notice Start of the current gate window and what it may still pay.
    function gateState() external view returns (VaultStorage.Gate memory);
    /// @notice The vault's tracked holdings of `token` (changed only by measured transfers).
    function holdings(address token) external view returns (uint256);
    /// @notice The listed non-base assets.
    function listedAssets() external view returns (address[] memory);
    /// @notice The route that sells `asset` for the base asset.
    function exitRoute(address asset) external view returns (address adapter, bytes memory path);
    /// @notice Base asset set aside for settled, unclaimed redemptions (not part of NAV).
    function reservedAssets() external view returns (uint256);
    /// @notice A redemption epoch's figures (see EpochState).
    function epochState(uint256 epoch) external view returns (EpochState memory);
    /// @notice `controller`'s request: its epoch, shares requested, still pending, and claimable.
    function redeemRequestOf(address controller)
        external
        view
        returns (uint256 epoch, uint256 requested, uint256 pending, uint256 claimableShares, uint256 claimableAssets);
    /// @notice True when `nonce` has been used or invalidated.
    function nonceUsed(uint256 nonce) external view returns (bool);
    /// @notice When the queued change `id` (keccak256 of its call) becomes valid (zero: none).
    function pendingChange(bytes32 id) external view returns (uint256 validAt);
    /// @notice keccak256 of the EIP-712 type string of TradeSignal (see SignalLib).
    function tradeSignalTypehash() external pure returns (bytes32);
}
