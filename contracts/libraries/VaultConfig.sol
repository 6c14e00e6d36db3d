// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

import {ICohortVault, AssetListing, RiskLimits} from "../interfaces/ICohortVault.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {ISwapAdapter} from "../interfaces/ISwapAdapter.sol";
import {BPS} from "./Constants.sol";
import {FeeMath} from "./FeeMath.sol";
import {VaultStorage} from "./VaultStorage.sol";

/// @title VaultConfig
/// @notice Validation, write and event of every vault parameter: the one place their bounds live.
library VaultConfig {
    uint256 internal constant MAX_ASSETS = 8;
    uint256 internal constant MAX_TIMELOCK = 30 days;
    uint256 internal constant MAX_NOTICE = 90 days;
    uint256 internal constant MAX_SLIPPAGE_BPS = 1_000;
    uint256 internal constant MAX_DEVIATION_TICKS = 2_000;

    // Every setter checks before it writes; timelocked setters call the check first too, so an
    // invalid change is refused when submitted rather than when applied.

    function checkFees(uint16 managementFeeBps, uint16 performanceFeeBps) internal pure {
        if (managementFeeBps > FeeMath.MAX_MANAGEMENT_FEE_BPS) {
            revert ICohortVault.CohortInvalidParameter("managementFeeBps", managementFeeBps);
        }
        if (performanceFeeBps > FeeMath.MAX_PERFORMANCE_FEE_BPS) {
            revert ICohortVault.CohortInvalidParameter("performanceFeeBps", performanceFeeBps);
        }
    }

    function setFees(VaultStorage.Layout storage $, uint16 managementFeeBps, uint16 performanceFeeBps) internal {
        checkFees(managementFeeBps, performanceFeeBps);
        $.fee.managementFeeBps = managementFeeBps;
        $.fee.performanceFeeBps = performanceFeeBps;
        emit ICohortVault.FeesSet(managementFeeBps, performanceFeeBps);
    }

    function setFeeRecipient(VaultStorage.Layout storage $, address recipient) internal {
        if (recipient == address(0)) revert ICohortVault.CohortZeroAddress();
        $.fee.recipient = recipient;
        emit ICohortVault.FeeRecipientSet(recipient);
    }

    /// @notice True when `l` loosens any of the current limits (so it must wait behind the timelock).
    function loosens(VaultStorage.Layout storage $, RiskLimits memory l) internal view returns (bool) {
        VaultStorage.RiskSlot memory cur = $.risk;
        return l.twapWindow < cur.twapWindow || l.maxDeviationTicks > cur.maxDeviationTicks
            || l.maxTradeBps > cur.maxTradeBps || l.maxSlippageBps > cur.maxSlippageBps
            || l.lossBudgetBps > cur.lossBudgetBps || l.lossWindow < cur.lossWindow || l.drawdownBps > cur.drawdownBps;
    }

    function setRiskLimits(VaultStorage.Layout storage $, RiskLimits memory l) internal {
        checkRiskLimits(l);
        VaultStorage.storeRiskLimits($, l);
        emit ICohortVault.RiskLimitsSet(l);
    }

    function checkRiskLimits(RiskLimits memory l) internal pure {
        if (l.twapWindow < 5 minutes || l.twapWindow > 1 days) {
            revert ICohortVault.CohortInvalidParameter("twapWindow", l.twapWindow);
        }
        if (l.maxDeviationTicks == 0 || l.maxDeviationTicks > MAX_DEVIATION_TICKS) {
            revert ICohortVault.CohortInvalidParameter("maxDeviationTicks", l.maxDeviationTicks);
        }
        if (l.maxTradeBps == 0 || l.maxTradeBps > BPS) {
            revert ICohortVault.CohortInvalidParameter("maxTradeBps", l.maxTradeBps);
        }
        if (l.maxSlippageBps == 0 || l.maxSlippageBps > MAX_SLIPPAGE_BPS) {
            revert ICohortVault.CohortInvalidParameter("maxSlippageBps", l.maxSlippageBps);
        }
        if (l.lossBudgetBps > BPS) revert ICohortVault.CohortInvalidParameter("lossBudgetBps", l.lossBudgetBps);
        if (l.lossWindow < 1 hours || l.lossWindow > 30 days) {
            revert ICohortVault.CohortInvalidParameter("lossWindow", l.lossWindow);
        }
        if (l.drawdownBps == 0 || l.drawdownBps > BPS) {
            revert ICohortVault.CohortInvalidParameter("drawdownBps", l.drawdownBps);
        }
    }

    function setDepositLimits(VaultStorage.Layout storage $, uint128 depositCap, uint128 minDeposit) internal {
        $.limits = VaultStorage.Limits(depositCap, minDeposit);
        emit ICohortVault.DepositLimitsSet(depositCap, minDeposit);
    }

    function checkRedemptionParams(uint32 noticePeriod, uint16 gateBps) internal pure {
        if (noticePeriod > MAX_NOTICE) revert ICohortVault.CohortInvalidParameter("noticePeriod", noticePeriod);
        if (gateBps == 0 || gateBps > BPS) revert ICohortVault.CohortInvalidParameter("gateBps", gateBps);
    }

    function setRedemptionParams(VaultStorage.Layout storage $, uint32 noticePeriod, uint16 gateBps) internal {
        checkRedemptionParams(noticePeriod, gateBps);
        $.queue.noticePeriod = noticePeriod;
        $.queue.gateBps = gateBps;
        emit ICohortVault.RedemptionParamsSet(noticePeriod, gateBps);
    }

    function checkTimelock(uint32 timelock) internal pure {
        if (timelock > MAX_TIMELOCK) revert ICohortVault.CohortInvalidParameter("timelock", timelock);
    }

    function setTimelock(VaultStorage.Layout storage $, uint32 timelock) internal {
        checkTimelock(timelock);
        $.queue.timelock = timelock;
        emit ICohortVault.TimelockSet(timelock);
    }

    function setManager(VaultStorage.Layout storage $, address manager) internal {
        if (manager == address(0)) revert ICohortVault.CohortZeroAddress();
        $.manager = manager;
        emit ICohortVault.ManagerSet(manager);
    }

    function setKeeper(VaultStorage.Layout storage $, address keeper, bool allowed) internal {
        if (keeper == address(0)) revert ICohortVault.CohortZeroAddress();
        $.keepers[keeper] = allowed;
        emit ICohortVault.KeeperSet(keeper, allowed);
    }

    function setAdapter(VaultStorage.Layout storage $, address adapter, bool allowed) internal {
        if (adapter == address(0)) revert ICohortVault.CohortZeroAddress();
        $.adapters[adapter] = allowed;
        emit ICohortVault.AdapterSet(adapter, allowed);
    }

    /// @notice Lists `listing.asset` (or changes its exit route): it needs a price feed, an
    /// allowed adapter and a route that the adapter accepts from the asset to the base asset.
    function checkListing(VaultStorage.Layout storage $, AssetListing memory listing) internal view {
        address a = listing.asset;
        if (a == address(0)) revert ICohortVault.CohortZeroAddress();
        if (a == $.base) revert ICohortVault.CohortAssetAlreadyListed(a);
        if (!IPriceOracle($.oracle).hasFeed(a)) revert ICohortVault.CohortNoPriceFeed(a);
        if (!$.adapters[listing.exitAdapter]) revert ICohortVault.CohortAdapterNotAllowed(listing.exitAdapter);
        ISwapAdapter(listing.exitAdapter).validatePath(a, $.base, listing.exitPath);
        if (!$.assets[a].listed && $.assetList.length >= MAX_ASSETS) revert ICohortVault.CohortTooManyAssets(MAX_ASSETS);
    }

    function listAsset(VaultStorage.Layout storage $, AssetListing memory listing) internal {
        checkListing($, listing);
        address a = listing.asset;
        if (!$.assets[a].listed) {
            $.assetList.push(a);
            $.assets[a] = VaultStorage.AssetState(0, IERC20Metadata(a).decimals(), true);
        }
        $.exitRoutes[a] = VaultStorage.Route(listing.exitAdapter, listing.exitPath);
        emit ICohortVault.AssetListed(a, listing.exitAdapter, listing.exitPath);
    }
}
