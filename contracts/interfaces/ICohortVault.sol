// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPriceOracle} from "./IPriceOracle.sol";
import {TradeSignal} from "../libraries/SignalLib.sol";

/// @notice A non-base asset a vault may hold, with the route that sells it for the base asset
/// (used by redemption unwinds and de-risking).
struct AssetListing {
    address asset;
    address exitAdapter;
    bytes exitPath;
}

/// @notice Risk limits. Loosening any of them waits behind the timelock; tightening is immediate.
struct RiskLimits {
    uint32 twapWindow; // seconds of the oracle's time-weighted average
    uint16 maxDeviationTicks; // spot vs TWAP bound for deposits and settlements (1 tick ~ 1 bp)
    uint16 maxTradeBps; // largest trade, as a share of NAV
    uint16 maxSlippageBps; // largest slippage against the oracle a signal may allow
    uint16 lossBudgetBps; // value trades may lose against the oracle per lossWindow, share of NAV
    uint32 lossWindow; // no span of this many seconds may lose more than the budget
    uint16 drawdownBps; // price-per-share fall below the high-water mark that trips risk-off
}

/// @notice Everything a vault is created with (VaultFactory emits it in VaultCreated).
struct VaultParams {
    address asset;
    string name;
    string symbol;
    address owner;
    address manager;
    address guardian;
    address feeRecipient;
    address oracle;
    uint16 managementFeeBps;
    uint16 performanceFeeBps;
    uint128 depositCap;
    uint128 minDeposit;
    RiskLimits risk;
    uint32 noticePeriod; // seconds between an epoch's close and its settlement
    uint32 epochLength; // seconds per redemption epoch (fixed for the vault's life)
    uint16 gateBps; // most one gate window (epochLength) may pay out, as a share of NAV
    uint32 timelock; // seconds risk-raising changes wait
    address[] keepers;
    address[] adapters;
    AssetListing[] assets;
}

/// @notice A redemption epoch: every request in it is treated identically (pro-rata).
struct EpochState {
    uint128 units; // shares requested by the live requests of the epoch
    uint128 escrow; // shares still held in escrow for it
    uint128 remainingRay; // fraction of each request not yet settled (1e27 = all)
    uint64 next; // next epoch with requests (0: none yet)
    uint256 assetsPerUnitRay; // assets reserved per requested share, cumulative, times 1e27
}

// ---------------------------------------------------------------------- errors and events
// Every Cohort error and event is declared in this file, once. Those in ICohortVault below are on
// CohortVault's ABI; the ones here are raised only by the admin module's ownership and
// initialisation, so they sit on the ABI of the contracts that use them (file level).

/// @notice The caller is not the vault's owner.
error CohortNotOwner(address caller);
/// @notice The caller is not the owner-to-be of a two-step ownership transfer.
error CohortNotPendingOwner(address caller);
/// @notice initialize() ran before.
error CohortAlreadyInitialized();
/// @notice A write was sent to the admin module itself instead of through a vault.
error CohortNotDelegated();

event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

/// @title ICohortVault
/// @notice A pooled trading vault: ERC-4626 deposits at NAV, ERC-7540 notice-period redemptions,
/// manager-signed EIP-712 trade signals executed on Uniswap by keepers, on-chain management and
/// high-water-mark performance fees, and a drawdown breaker. See docs/DESIGN.md.
interface ICohortVault {
    // ------------------------------------------------------------------ errors
    error CohortNotManager(address caller);
    error CohortNotKeeper(address caller);
    error CohortNotGuardian(address caller);
    error CohortNotControllerOrOperator(address caller, address controller);
    error CohortZeroAddress();
    error CohortInvalidParameter(bytes32 param, uint256 value);
    error CohortPaused();
    error CohortZeroAmount();
    error CohortZeroShares();
    error CohortDepositTooSmall(uint256 assets, uint256 minimum);
    error CohortTransferMismatch(address token, uint256 expected, uint256 received);
    error CohortPriceDeviation(address asset, uint256 deviationTicks, uint256 maxTicks);
    error CohortOracleFailed(address asset);
    error CohortTimelockPending(bytes32 id, uint256 validAt);
    error CohortNoPendingChange(bytes32 id);
    /// @notice A signal's route passes through `token`, which the vault does not list.
    error CohortRouteTokenNotListed(address token);
    error CohortTooManyAssets(uint256 max);
    error CohortAssetNotListed(address asset);
    error CohortAssetAlreadyListed(address asset);
    error CohortAssetHasHoldings(address asset, uint256 holdings);
    error CohortNoPriceFeed(address asset);
    error CohortAdapterNotAllowed(address adapter);
    // redemptions
    error CohortAsyncRedemption();
    error CohortRequestPending(address controller, uint256 epoch);
    error CohortNothingToCancel(address controller);
    error CohortNothingToSettle();
    error CohortEpochNotMatured(uint256 epoch, uint256 maturesAt);
    error CohortExceedsClaimable(address controller, uint256 requested, uint256 claimable);
    error CohortNoSettlementCapacity(uint256 gateRemaining, uint256 baseAvailable);
    error CohortNoUnwindNeeded();
    // signals and trading
    error CohortInvalidSignature();
    error CohortSignalExpired(uint256 deadline);
    error CohortNonceUsed(uint256 nonce);
    error CohortSameToken(address token);
    error CohortInvalidSize(uint8 mode, uint16 sizeBps);
    error CohortZeroLimitPrice();
    error CohortSlippageOutOfRange(uint16 slippageBps, uint16 maxBps);
    error CohortTradeTooLarge(uint256 value, uint256 maxValue);
    error CohortZeroMinimum();
    error CohortInsufficientOutput(uint256 amountOut, uint256 minAmountOut);
    error CohortLossBudgetExceeded(uint256 loss, uint256 available);
    error CohortRiskOff(address tokenOut);
    error CohortBreakerNotTripped(uint256 pricePerShare, uint256 threshold);

    // ------------------------------------------------------------------ events
    /// @notice One per accrual: fee shares minted, the NAV used, supply, price per share (1e18 =
    /// one asset per share) and high-water mark after the mint.
    event FeesAccrued(
        uint256 managementShares,
        uint256 performanceShares,
        uint256 nav,
        uint256 supply,
        uint256 pricePerShare,
        uint256 highWaterMark
    );
    event RedeemRequestQueued(address indexed controller, uint256 indexed epoch, uint256 shares);
    event RedeemRequestCanceled(address indexed controller, uint256 indexed epoch, uint256 shares);
    /// @notice A settlement round of `epoch`: shares burnt, assets reserved for claims, at the
    /// given NAV and supply (before the burn); the epoch's remaining escrow and cumulative
    /// per-share figures let anyone recompute every request's payout.
    event RedemptionsSettled(
        uint256 indexed epoch,
        uint256 sharesBurned,
        uint256 assetsReserved,
        uint256 nav,
        uint256 supply,
        uint256 escrowRemaining,
        uint256 remainingRay,
        uint256 assetsPerUnitRay
    );
    event TradeExecuted(
        bytes32 indexed digest,
        uint256 indexed nonce,
        address indexed keeper,
        address tokenIn,
        address tokenOut,
        uint256 amountIn,
        uint256 amountOut,
        uint256 oracleAmountOut,
        uint256 limitPrice,
        uint256 loss
    );
    /// @notice A sale of `asset` for the base asset by an unwind (reason 0) or de-risking (1).
    event LiquiditySold(
        uint8 indexed reason, address indexed asset, uint256 amountIn, uint256 amountOut, uint256 oracleAmountOut
    );
    event RiskOffEntered(uint256 pricePerShare, uint256 drawdownReference);
    event RiskOffExited(uint256 newReference);
    event NoncesInvalidated(uint256 indexed wordPos, uint256 mask);
    event FeesSet(uint16 managementFeeBps, uint16 performanceFeeBps);
    event FeeRecipientSet(address indexed recipient);
    event ManagerSet(address indexed manager);
    event GuardianSet(address indexed guardian);
    event KeeperSet(address indexed keeper, bool allowed);
    event AdapterSet(address indexed adapter, bool allowed);
    event AssetListed(address indexed asset, address exitAdapter, bytes exitPath);
    event AssetDelisted(address indexed asset);
    event RiskLimitsSet(RiskLimits limits);
    event DepositLimitsSet(uint128 depositCap, uint128 minDeposit);
    event RedemptionParamsSet(uint32 noticePeriod, uint16 gateBps);
    event TimelockSet(uint32 timelock);
    event PausedSet(bool paused);
    event ChangeSubmitted(bytes32 indexed id, bytes data, uint256 validAt);
    event ChangeRevoked(bytes32 indexed id);
    /// @notice A queued change was not applied within Timelock.GRACE of `validAt`; it is queued afresh.
    event ChangeExpired(bytes32 indexed id, uint256 validAt);

    // ------------------------------------------------------------------ set at construction
    /// @notice The price oracle (Uniswap V3 TWAPs behind IPriceOracle).
    function oracle() external view returns (IPriceOracle);

    /// @notice The CohortVaultAdmin module the fallback delegates to (ICohortVaultAdmin).
    function admin() external view returns (address);

    /// @notice When epoch 1 opened (the vault's deployment).
    function epochStart() external view returns (uint256);

    /// @notice After an epoch has been matured this long, anyone may unwind for it and settle it.
    function SETTLE_GRACE() external view returns (uint256);

    // ------------------------------------------------------------------ valuation
    /// @notice Price per share now, net of the fees an accrual would mint (1e18 = one asset per
    /// share). Reverts, like totalAssets(), when a held asset cannot be priced.
    function pricePerShare() external view returns (uint256);

    /// @notice NAV and whether every oracle answered within the deviation bound; never reverts
    /// (an asset that cannot be priced is left out and `healthy` is false).
    function valuation() external view returns (uint256 nav, bool healthy);

    // ------------------------------------------------------------------ fees
    /// @notice Crystallises management and performance fees now (anyone may call).
    function accrueFees() external;

    /// @notice Fee shares that an accrual now would mint.
    function pendingFeeShares() external view returns (uint256 managementShares, uint256 performanceShares);

    /// @notice Sets the fee rates (owner). Fees accrue first; a rise waits behind the timelock.
    function setFees(uint16 managementFeeBps, uint16 performanceFeeBps) external;

    /// @notice Sets the fee recipient (owner); fees due so far go to the previous one.
    function setFeeRecipient(address recipient) external;

    // ------------------------------------------------------------------ redemptions (beyond ERC-7540)
    /// @notice Returns the unsettled part of `controller`'s request to `controller` (controller or operator).
    function cancelRedeemRequest(address controller) external returns (uint256 shares);

    /// @notice Settles (part of) the oldest matured epoch: accrues fees, fixes the price, burns
    /// escrowed shares and reserves assets for claims, within the gate and the free base asset.
    /// Keepers only, or anyone once the epoch has been matured for SETTLE_GRACE.
    function settleRedemptions() external returns (uint256 sharesBurned, uint256 assetsReserved);

    // ------------------------------------------------------------------ signals
    /// @notice Executes a manager-signed trade signal (keepers only). Nothing in it can be altered.
    function executeSignal(TradeSignal calldata signal, bytes calldata signature) external returns (uint256 amountOut);

    /// @notice The epoch open for redemption requests now (epochs start at 1).
    function currentEpoch() external view returns (uint256);

    /// @notice When `epoch` can be settled: its close plus the notice period.
    function epochMaturesAt(uint256 epoch) external view returns (uint256);

    /// @notice Seconds per redemption epoch (also the gate window).
    function epochLength() external view returns (uint256);

    /// @notice The EIP-712 digest the manager signs for `signal`.
    function signalDigest(TradeSignal calldata signal) external view returns (bytes32);
}
