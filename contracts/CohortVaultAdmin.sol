// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {
    ICohortVault,
    AssetListing,
    EpochState,
    RiskLimits,
    VaultParams,
    CohortAlreadyInitialized,
    CohortNotPendingOwner,
    OwnershipTransferStarted,
    OwnershipTransferred
} from "./interfaces/ICohortVault.sol";
import {ICohortVaultAdmin} from "./interfaces/ICohortVaultAdmin.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {Accounting} from "./libraries/Accounting.sol";
import {BPS, WAD} from "./libraries/Constants.sol";
import {DelegatedModule, Modules} from "./libraries/Modules.sol";
import {Redemptions} from "./libraries/Redemptions.sol";
import {Roles} from "./libraries/Roles.sol";
import {SignalLib} from "./libraries/SignalLib.sol";
import {SignalRules} from "./libraries/SignalRules.sol";
import {Swaps} from "./libraries/Swaps.sol";
import {Timelock} from "./libraries/Timelock.sol";
import {VaultConfig} from "./libraries/VaultConfig.sol";
import {VaultStorage} from "./libraries/VaultStorage.sol";

/// @title CohortVaultAdmin
/// @notice Governance, risk operations (redemption unwinds, the drawdown breaker, de-risking) and
/// read-outs for every Cohort vault, deployed once. A vault reaches it through its fallback with
/// DELEGATECALL, so everything here reads and writes the calling vault's storage (the ERC-7201
/// namespace in VaultStorage); this contract keeps no state. The vault's own ERC-20 figures are
/// read back through the vault (address(this) is the vault here).
contract CohortVaultAdmin is ICohortVaultAdmin, ReentrancyGuardTransient, DelegatedModule {
    using Math for uint256;
    using SafeCast for uint256;
    using Accounting for VaultStorage.Layout;
    using Redemptions for VaultStorage.Layout;
    using Roles for VaultStorage.Layout;
    using SignalRules for VaultStorage.Layout;
    using Swaps for VaultStorage.Layout;
    using VaultConfig for VaultStorage.Layout;

    /// @notice Unwinds sell this much more than the settlement needs, to cover pool fees.
    uint256 public constant UNWIND_BUFFER_BPS = 100;

    /// @notice The CohortVaultFollower module: what this module does not serve (ICohortFollower)
    /// goes on to it, still in the vault's context.
    address public immutable follower;

    constructor(address follower_) {
        if (follower_ == address(0)) revert ICohortVault.CohortZeroAddress();
        follower = follower_;
    }

    modifier onlyOwner() {
        VaultStorage.layout().checkOwner();
        _;
    }

    /// @notice Everything in ICohortFollower is served by the follower module in the vault's context.
    fallback() external onlyDelegated {
        Modules.forward(follower);
    }

    // ================================================================ initialisation

    /// @inheritdoc ICohortVaultAdmin
    function initialize(VaultParams calldata p) external onlyDelegated {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        if ($.initialized) revert CohortAlreadyInitialized();
        if (p.owner == address(0)) revert ICohortVault.CohortZeroAddress();
        $.initialized = true;
        $.owner = p.owner;
        emit OwnershipTransferred(address(0), p.owner);
        $.oracle = p.oracle;
        $.base = p.asset;
        $.assets[p.asset] = VaultStorage.AssetState(0, IERC20Metadata(p.asset).decimals(), true);
        $.setManager(p.manager);
        $.guardian = p.guardian;
        emit ICohortVault.GuardianSet(p.guardian);
        $.setFeeRecipient(p.feeRecipient);
        $.fee.lastAccrual = uint64(block.timestamp);
        $.setFees(p.managementFeeBps, p.performanceFeeBps);
        $.setRiskLimits(p.risk);
        $.setDepositLimits(p.depositCap, p.minDeposit);
        $.setRedemptionParams(p.noticePeriod, p.gateBps);
        $.setTimelock(p.timelock);
        for (uint256 i; i < p.keepers.length; ++i) {
            $.setKeeper(p.keepers[i], true);
        }
        for (uint256 i; i < p.adapters.length; ++i) {
            $.setAdapter(p.adapters[i], true);
        }
        for (uint256 i; i < p.assets.length; ++i) {
            $.listAsset(p.assets[i]);
        }
    }

    // ================================================================ ownership

    /// @inheritdoc ICohortVaultAdmin
    function owner() external view returns (address) {
        return VaultStorage.layout().owner;
    }

    /// @inheritdoc ICohortVaultAdmin
    function pendingOwner() external view returns (address) {
        return VaultStorage.layout().pendingOwner;
    }

    /// @inheritdoc ICohortVaultAdmin
    function transferOwnership(address newOwner) external onlyDelegated onlyOwner {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        $.pendingOwner = newOwner;
        emit OwnershipTransferStarted($.owner, newOwner);
    }

    /// @inheritdoc ICohortVaultAdmin
    function acceptOwnership() external onlyDelegated {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        if (msg.sender != $.pendingOwner) revert CohortNotPendingOwner(msg.sender);
        emit OwnershipTransferred($.owner, msg.sender);
        $.owner = msg.sender;
        $.pendingOwner = address(0);
    }

    // ================================================================ governance

    /// @inheritdoc ICohortVaultAdmin
    function setManager(address manager_) external onlyDelegated onlyOwner {
        if (manager_ == address(0)) revert ICohortVault.CohortZeroAddress();
        VaultStorage.Layout storage $ = VaultStorage.layout();
        if (Timelock.ready($, true)) $.setManager(manager_);
    }

    /// @inheritdoc ICohortVaultAdmin
    function setGuardian(address guardian_) external onlyDelegated onlyOwner {
        VaultStorage.layout().guardian = guardian_;
        emit ICohortVault.GuardianSet(guardian_);
    }

    /// @inheritdoc ICohortVaultAdmin
    function setKeeper(address keeper, bool allowed) external onlyDelegated onlyOwner {
        VaultStorage.layout().setKeeper(keeper, allowed);
    }

    /// @inheritdoc ICohortVaultAdmin
    function setAdapter(address adapter, bool allowed) external onlyDelegated onlyOwner {
        if (adapter == address(0)) revert ICohortVault.CohortZeroAddress();
        VaultStorage.Layout storage $ = VaultStorage.layout();
        if (Timelock.ready($, allowed)) $.setAdapter(adapter, allowed);
    }

    /// @inheritdoc ICohortVaultAdmin
    function listAsset(AssetListing calldata listing) external onlyDelegated onlyOwner {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        $.checkListing(listing);
        if (Timelock.ready($, true)) $.listAsset(listing);
    }

    /// @inheritdoc ICohortVaultAdmin
    function delistAsset(address asset_) external onlyDelegated onlyOwner {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        VaultStorage.AssetState memory state = $.assets[asset_];
        if (!state.listed || asset_ == $.base) revert ICohortVault.CohortAssetNotListed(asset_);
        if (state.holdings != 0) revert ICohortVault.CohortAssetHasHoldings(asset_, state.holdings);
        address[] storage list = $.assetList;
        uint256 n = list.length;
        for (uint256 i; i < n; ++i) {
            if (list[i] == asset_) {
                list[i] = list[n - 1];
                list.pop();
                break;
            }
        }
        delete $.assets[asset_];
        delete $.exitRoutes[asset_];
        emit ICohortVault.AssetDelisted(asset_);
    }

    /// @inheritdoc ICohortVaultAdmin
    function setRiskLimits(RiskLimits calldata limits) external onlyDelegated onlyOwner {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        VaultConfig.checkRiskLimits(limits);
        if (Timelock.ready($, $.loosens(limits))) $.setRiskLimits(limits);
    }

    /// @inheritdoc ICohortVaultAdmin
    function setDepositLimits(uint128 depositCap, uint128 minDeposit) external onlyDelegated onlyOwner {
        VaultStorage.layout().setDepositLimits(depositCap, minDeposit);
    }

    /// @inheritdoc ICohortVaultAdmin
    function setRedemptionParams(uint32 noticePeriod, uint16 gateBps) external onlyDelegated onlyOwner {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        VaultConfig.checkRedemptionParams(noticePeriod, gateBps);
        bool worse = noticePeriod > $.queue.noticePeriod || gateBps < $.queue.gateBps;
        if (Timelock.ready($, worse)) $.setRedemptionParams(noticePeriod, gateBps);
    }

    /// @inheritdoc ICohortVaultAdmin
    function setTimelock(uint32 timelock_) external onlyDelegated onlyOwner {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        VaultConfig.checkTimelock(timelock_);
        if (Timelock.ready($, timelock_ < $.queue.timelock)) $.setTimelock(timelock_);
    }

    /// @inheritdoc ICohortVaultAdmin
    function setPaused(bool paused_) external onlyDelegated {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        $.checkPauser(paused_);
        $.risk.paused = paused_;
        emit ICohortVault.PausedSet(paused_);
    }

    /// @inheritdoc ICohortVaultAdmin
    function revokePendingChange(bytes32 id) external onlyDelegated {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        $.checkOwnerOrGuardian();
        if ($.pendingChanges[id] == 0) revert ICohortVault.CohortNoPendingChange(id);
        delete $.pendingChanges[id];
        emit ICohortVault.ChangeRevoked(id);
    }

    /// @inheritdoc ICohortVaultAdmin
    function invalidateNonces(uint256 wordPos, uint256 mask) external onlyDelegated {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        $.checkManager();
        $.invalidateNonces(wordPos, mask);
    }

    // ================================================================ risk operations

    /// @dev Accounting.nav bound to the stored oracle and base asset (the vault binds its immutables).
    function _nav(VaultStorage.Layout storage $, uint8 mode) private view returns (uint256 nav, bool healthy) {
        return $.nav(IPriceOracle($.oracle), $.base, mode);
    }

    function _supply() private view returns (uint256) {
        return IERC20(address(this)).totalSupply();
    }

    /// @inheritdoc ICohortVaultAdmin
    function redemptionStatus()
        public
        view
        returns (bool due, uint256 epoch, uint256 assetsNeeded, uint256 baseAvailable, uint256 maturesAt)
    {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        baseAvailable = $.assets[$.base].holdings;
        epoch = $.queue.head;
        if (epoch == 0) return (false, 0, 0, baseAvailable, 0);
        ICohortVault vault = ICohortVault(address(this));
        maturesAt = vault.epochMaturesAt(epoch);
        due = block.timestamp >= maturesAt;
        (uint256 nav,) = _nav($, Accounting.VIEW);
        uint256 supply = $.supplyWithFees(nav, _supply());
        uint256 escrow = $.epochs[epoch].escrow;
        uint256 value = Accounting.toAssets(escrow, nav, supply, Math.Rounding.Floor);
        uint256 budget = value;
        if (Redemptions.isGated(escrow, supply)) (budget,) = $.gateRemaining(nav, vault.epochLength());
        assetsNeeded = Math.min(value, budget);
    }

    /// @inheritdoc ICohortVaultAdmin
    /// @dev Sells the fraction needed/NAV (plus UNWIND_BUFFER_BPS) of every held asset. Keepers
    /// only, until the epoch has been matured for SETTLE_GRACE: then anyone, so investors can leave
    /// without a keeper.
    function unwindForRedemptions() external onlyDelegated nonReentrant {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        (bool due,, uint256 needed, uint256 baseFree, uint256 maturesAt) = redemptionStatus();
        $.checkKeeperOrOverdue(due, maturesAt);
        if (!due || needed <= baseFree) revert ICohortVault.CohortNoUnwindNeeded();
        (uint256 nav,) = _nav($, Accounting.TRADE);
        uint256 fraction =
            Math.min(WAD, needed.mulDiv(WAD * (BPS + UNWIND_BUFFER_BPS), nav * BPS, Math.Rounding.Ceil));
        uint256 n = $.assetList.length;
        for (uint256 i; i < n; ++i) {
            address a = $.assetList[i];
            uint256 amountIn = uint256($.assets[a].holdings).mulDiv(fraction, WAD, Math.Rounding.Ceil);
            // dust (worth under a millionth of the need) is left alone rather than failing the unwind
            if (amountIn != 0) $.sellForBase(a, amountIn, Swaps.REASON_UNWIND, needed / 1e6 + 1, nav);
        }
    }

    /// @dev NAV; enters risk-off if not yet there and the breaker condition holds, else reverts
    /// with the numbers.
    function _requireRiskOff(VaultStorage.Layout storage $) private returns (uint256 nav) {
        (nav,) = _nav($, Accounting.TRADE);
        if ($.risk.riskOff) return nav;
        uint256 supply = _supply();
        if (!$.breached(nav, supply)) {
            revert ICohortVault.CohortBreakerNotTripped(Accounting.pps(nav, supply), $.breakerThreshold());
        }
        $.enterRiskOff(nav, supply);
    }

    /// @inheritdoc ICohortVaultAdmin
    function tripBreaker() external onlyDelegated nonReentrant {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        if (!$.risk.riskOff) _requireRiskOff($);
    }

    /// @inheritdoc ICohortVaultAdmin
    function derisk(address asset_, uint16 bps) external onlyDelegated nonReentrant returns (uint256 amountOut) {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        if ($.risk.paused) revert ICohortVault.CohortPaused();
        if (bps == 0 || bps > BPS) revert ICohortVault.CohortInvalidParameter("bps", bps);
        if (asset_ == $.base || !$.assets[asset_].listed) revert ICohortVault.CohortAssetNotListed(asset_);
        uint256 nav = _requireRiskOff($);
        uint256 amountIn = uint256($.assets[asset_].holdings).mulDiv(bps, BPS);
        if (amountIn != 0) amountOut = $.sellForBase(asset_, amountIn, Swaps.REASON_DERISK, 1, nav);
        if (amountOut == 0) revert ICohortVault.CohortZeroAmount();
    }

    /// @inheritdoc ICohortVaultAdmin
    function resetRiskOff() external onlyDelegated onlyOwner {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        (uint256 nav,) = _nav($, Accounting.TRADE);
        uint128 newReference = Accounting.pps(nav, _supply()).toUint128();
        $.risk.riskOff = false;
        $.marks.drawdownReference = newReference;
        emit ICohortVault.RiskOffExited(newReference);
    }

    /// @inheritdoc ICohortVaultAdmin
    function lossBudget() external view returns (uint256 used, uint256 capacity) {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        (uint256 nav,) = _nav($, Accounting.VIEW);
        return $.lossBudget(nav);
    }

    // ================================================================ reads

    function manager() external view returns (address) {
        return VaultStorage.layout().manager;
    }

    function guardian() external view returns (address) {
        return VaultStorage.layout().guardian;
    }

    function isKeeper(address account) external view returns (bool) {
        return VaultStorage.layout().keepers[account];
    }

    function isAdapter(address adapter) external view returns (bool) {
        return VaultStorage.layout().adapters[adapter];
    }

    function feeState() external view returns (VaultStorage.FeeState memory) {
        return VaultStorage.layout().fee;
    }

    function marks() external view returns (VaultStorage.Marks memory) {
        return VaultStorage.layout().marks;
    }

    function riskState() external view returns (VaultStorage.RiskState memory) {
        // RiskSlot lists RiskState's fields in RiskState's order, all static: the ABI encoding of
        // the stored slot is the answer
        bytes memory encoded = abi.encode(VaultStorage.layout().risk);
        assembly ("memory-safe") {
            return(add(encoded, 0x20), mload(encoded))
        }
    }

    function depositLimits() external view returns (VaultStorage.Limits memory) {
        return VaultStorage.layout().limits;
    }

    function queueState() external view returns (VaultStorage.Queue memory) {
        return VaultStorage.layout().queue;
    }

    function gateState() external view returns (VaultStorage.Gate memory) {
        return VaultStorage.layout().gate;
    }

    function holdings(address token) external view returns (uint256) {
        return VaultStorage.layout().assets[token].holdings;
    }

    function listedAssets() external view returns (address[] memory) {
        return VaultStorage.layout().assetList;
    }

    function exitRoute(address asset_) external view returns (address adapter, bytes memory path) {
        VaultStorage.Route storage r = VaultStorage.layout().exitRoutes[asset_];
        return (r.adapter, r.path);
    }

    /// @inheritdoc ICohortVaultAdmin
    function reservedAssets() external view returns (uint256) {
        return VaultStorage.layout().reserved;
    }

    function epochState(uint256 epoch) external view returns (EpochState memory) {
        return VaultStorage.layout().epochs[epoch];
    }

    /// @inheritdoc ICohortVaultAdmin
    function redeemRequestOf(address controller)
        external
        view
        returns (uint256 epoch, uint256 requested, uint256 pending, uint256 claimableShares, uint256 claimableAssets)
    {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        VaultStorage.Request memory req = $.requests[controller];
        (epoch, requested, pending) = (req.epoch, req.units, $.pendingOf(controller));
        (claimableShares, claimableAssets) = $.claimableOf(controller);
    }

    /// @inheritdoc ICohortVaultAdmin
    function nonceUsed(uint256 nonce) external view returns (bool) {
        return VaultStorage.layout().nonceUsed(nonce);
    }

    function pendingChange(bytes32 id) external view returns (uint256) {
        return VaultStorage.layout().pendingChanges[id];
    }

    /// @inheritdoc ICohortVaultAdmin
    function tradeSignalTypehash() external pure returns (bytes32) {
        return SignalLib.TRADE_SIGNAL_TYPEHASH;
    }
}
