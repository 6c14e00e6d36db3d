// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {ICohortVault} from "../interfaces/ICohortVault.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {BPS, WAD} from "./Constants.sol";
import {FeeMath} from "./FeeMath.sol";
import {VaultStorage} from "./VaultStorage.sol";

/// @title Accounting
/// @notice NAV, price per share, share/asset conversions and fee computation of a vault: the
/// rules CohortVault and its admin module share.
library Accounting {
    using Math for uint256;
    using SafeCast for uint256;

    /// @dev Shares have DECIMALS_OFFSET more decimals than the asset (OpenZeppelin's virtual offset).
    uint8 internal constant DECIMALS_OFFSET = 6;
    /// @dev Price per share is scaled so that 1e18 means one asset unit per share unit.
    uint256 internal constant PPS_SCALE = 10 ** (18 + uint256(DECIMALS_OFFSET));
    // valuation modes
    uint8 internal constant VIEW = 0; // never reverts; reports health instead
    uint8 internal constant TRADE = 1; // reverts if an oracle cannot answer
    uint8 internal constant STRICT = 2; // also reverts if spot deviates from TWAP beyond the bound

    /// @dev NAV, plus (for trades) what the vault holds of `tokenIn`, its value in the base
    /// asset and in `tokenOut`, all from one oracle call that reads each pool once.
    struct Valuation {
        uint256 nav;
        bool healthy;
        uint256 heldIn;
        uint256 heldInValue;
        uint256 heldInQuote;
        int256 quoteDeviation; // spot less TWAP of the heldInQuote price, in ticks
    }

    /// @notice NAV = base holdings + every listed asset's holdings at its TWAP price.
    function nav(VaultStorage.Layout storage $, IPriceOracle oracle, address base, uint8 mode)
        internal
        view
        returns (uint256, bool)
    {
        Valuation memory v = valuation($, oracle, base, mode, address(0), address(0));
        return (v.nav, v.healthy);
    }

    function valuation(
        VaultStorage.Layout storage $,
        IPriceOracle oracle,
        address base,
        uint8 mode,
        address tokenIn,
        address tokenOut
    ) internal view returns (Valuation memory v) {
        v.nav = $.assets[base].holdings;
        v.healthy = true;
        uint256 n = $.assetList.length;
        IPriceOracle.QuoteRequest[] memory requests = new IPriceOracle.QuoteRequest[](n + 1);
        uint256 k;
        for (uint256 i; i < n; ++i) {
            address a = $.assetList[i];
            uint256 held = $.assets[a].holdings;
            if (held != 0) requests[k++] = IPriceOracle.QuoteRequest(a, held, base);
        }
        uint256 heldCount = k;
        if (tokenIn != address(0)) {
            v.heldIn = $.assets[tokenIn].holdings;
            if (tokenIn == base) v.heldInValue = v.heldIn;
            if (tokenOut != base && v.heldIn != 0) requests[k++] = IPriceOracle.QuoteRequest(tokenIn, v.heldIn, tokenOut);
        }
        if (k == 0) return v;
        assembly ("memory-safe") {
            mstore(requests, k)
        }
        VaultStorage.RiskSlot memory risk = $.risk;
        try oracle.quoteMany(requests, risk.twapWindow) returns (uint256[] memory out, int256[] memory deviation) {
            for (uint256 j; j < heldCount; ++j) {
                v.nav += out[j];
                if (requests[j].tokenIn == tokenIn) (v.heldInValue, v.quoteDeviation) = (out[j], deviation[j]);
                if (!withinBound(requests[j].tokenIn, deviation[j], risk.maxDeviationTicks, mode)) v.healthy = false;
            }
            if (k > heldCount) {
                (v.heldInQuote, v.quoteDeviation) = (out[heldCount], deviation[heldCount]);
                // a trade's own price must be sound too, even for a token the vault does not hold yet
                withinBound(tokenOut, v.quoteDeviation, risk.maxDeviationTicks, mode);
            } else {
                v.heldInQuote = v.heldInValue;
            }
        } catch (bytes memory reason) {
            if (mode != VIEW) {
                assembly ("memory-safe") {
                    revert(add(reason, 32), mload(reason)) // the oracle's own named error
                }
            }
            // a view still values what it can, one asset at a time
            v.healthy = false;
            for (uint256 j; j < heldCount; ++j) {
                try oracle.quote(requests[j].tokenIn, requests[j].amountIn, base, risk.twapWindow) returns (
                    uint256 value, int256
                ) {
                    v.nav += value;
                } catch {}
            }
        }
    }

    /// @dev Whether spot is within `maxTicks` of the TWAP; in STRICT mode a breach reverts.
    function withinBound(address asset, int256 deviation, uint256 maxTicks, uint8 mode) internal pure returns (bool) {
        uint256 d = uint256(deviation < 0 ? -deviation : deviation);
        if (d <= maxTicks) return true;
        if (mode == STRICT) revert ICohortVault.CohortPriceDeviation(asset, d, maxTicks);
        return false;
    }

    /// @notice The reference output of a sale: the better for the vault of the TWAP quote and the
    /// spot price (`deviation` ticks from it), so a lagging TWAP can never make a bad fill look fair.
    /// Spot is approximated by 1 + d/10^4 for 1.0001^d, slightly below it (0.02% at 200 ticks).
    function betterOut(uint256 twapOut, int256 deviation) internal pure returns (uint256) {
        return deviation > 0 ? twapOut.mulDiv(BPS + uint256(deviation), BPS) : twapOut;
    }

    /// @notice Price per share, rounded down (1e18 = one asset per share; 1e18 when supply is 0).
    function pps(uint256 navAmount, uint256 supply) internal pure returns (uint256) {
        return supply == 0 ? WAD : FeeMath.pricePerShare(navAmount, supply, PPS_SCALE);
    }

    /// @notice Shares for `assets` at (nav, supply), with the virtual offset. An empty vault
    /// (supply 0) prices as if it held nothing: the rounding dust a previous generation left goes
    /// to the next depositor instead of redenominating the share.
    function toShares(uint256 assets, uint256 navAmount, uint256 supply, Math.Rounding rounding)
        internal
        pure
        returns (uint256)
    {
        if (supply == 0) navAmount = 0;
        return assets.mulDiv(supply + 10 ** DECIMALS_OFFSET, navAmount + 1, rounding);
    }

    /// @notice Assets for `shares` at (nav, supply), with the virtual offset (and the same
    /// empty-vault rule as toShares).
    function toAssets(uint256 shares, uint256 navAmount, uint256 supply, Math.Rounding rounding)
        internal
        pure
        returns (uint256)
    {
        if (supply == 0) navAmount = 0;
        return shares.mulDiv(navAmount + 1, supply + 10 ** DECIMALS_OFFSET, rounding);
    }

    /// @notice Fees due now at `nav` with `supply` shares: management shares first (they dilute
    /// the price per share), then performance shares over the high-water mark, which is then set
    /// to the price after that mint. A management fee too small to mint leaves the clock where it
    /// is (`advance` false), so the fee is never lost to rounding; likewise a performance fee that
    /// rounds to zero leaves the mark where it is.
    function computeFees(VaultStorage.Layout storage $, uint256 navAmount, uint256 supply)
        internal
        view
        returns (uint256 management, uint256 performance, uint256 hwm, bool advance)
    {
        VaultStorage.FeeState memory fee = $.fee;
        hwm = $.marks.highWaterMark;
        if (supply == 0) return (0, 0, hwm, true);
        uint256 elapsed = block.timestamp - fee.lastAccrual;
        management = FeeMath.managementFeeShares(supply, fee.managementFeeBps, elapsed);
        advance = management != 0 || fee.managementFeeBps == 0;
        uint256 diluted = supply + management;
        uint256 price = FeeMath.pricePerShare(navAmount, diluted, PPS_SCALE);
        if (price > hwm) {
            performance =
                FeeMath.performanceFeeShares(navAmount, diluted, price, hwm, fee.performanceFeeBps, PPS_SCALE);
            if (performance != 0 || fee.performanceFeeBps == 0) {
                uint256 afterFee = FeeMath.pricePerShare(navAmount, diluted + performance, PPS_SCALE);
                if (afterFee > hwm) hwm = afterFee;
            }
        }
    }

    /// @notice Books an accrual whose fee shares the caller mints: restarts the fee clock unless
    /// `advance` is false (a management fee too small to mint), and moves the high-water mark to
    /// `hwm`; the breaker's reference follows every new high-water mark.
    function bookAccrual(VaultStorage.Layout storage $, uint256 hwm, bool advance) internal {
        if (advance) $.fee.lastAccrual = uint64(block.timestamp);
        VaultStorage.Marks memory m = $.marks;
        if (hwm != m.highWaterMark) {
            uint128 h = hwm.toUint128();
            $.marks = VaultStorage.Marks(h, h > m.drawdownReference ? h : m.drawdownReference);
        }
    }

    /// @notice `supply` plus the fee shares an accrual at `navAmount` would mint now: the supply
    /// that every preview, conversion and status read-out prices with.
    function supplyWithFees(VaultStorage.Layout storage $, uint256 navAmount, uint256 supply)
        internal
        view
        returns (uint256)
    {
        (uint256 management, uint256 performance,,) = computeFees($, navAmount, supply);
        return supply + management + performance;
    }

    /// @notice The breaker trips when the price per share is below this.
    function breakerThreshold(VaultStorage.Layout storage $) internal view returns (uint256) {
        return uint256($.marks.drawdownReference).mulDiv(BPS - $.risk.drawdownBps, BPS);
    }

    function breached(VaultStorage.Layout storage $, uint256 navAmount, uint256 supply) internal view returns (bool) {
        return supply != 0 && pps(navAmount, supply) < breakerThreshold($);
    }

    /// @notice The breaker's gate on a trade: in risk-off (or on a breach now, which enters it)
    /// only trades into the base asset pass.
    function checkRiskGate(
        VaultStorage.Layout storage $,
        bool riskOff,
        uint256 navAmount,
        uint256 supply,
        address tokenOut,
        address base
    ) internal {
        if (riskOff || breached($, navAmount, supply)) {
            if (tokenOut != base) revert ICohortVault.CohortRiskOff(tokenOut);
            if (!riskOff) enterRiskOff($, navAmount, supply);
        }
    }

    function enterRiskOff(VaultStorage.Layout storage $, uint256 navAmount, uint256 supply) internal {
        $.risk.riskOff = true;
        emit ICohortVault.RiskOffEntered(pps(navAmount, supply), $.marks.drawdownReference);
    }

    /// @notice Loss budget used now and its capacity, in the base asset. Losses are booked in
    /// aligned windows of lossWindow seconds and what is used counts this window and the one
    /// before, so no span of lossWindow seconds (which meets at most two windows) can lose more than
    /// the capacity; what a loss uses is free again when the window after its own has ended.
    function lossBudget(VaultStorage.Layout storage $, uint256 navAmount)
        internal
        view
        returns (uint256 used, uint256 capacity)
    {
        (uint256 previous, uint256 current,) = _lossWindows($);
        return (previous + current, navAmount.mulDiv($.risk.lossBudgetBps, BPS));
    }

    /// @notice Books `loss` (base asset, against the oracle) or reverts when it exceeds what is left.
    function chargeLoss(VaultStorage.Layout storage $, uint256 loss, uint256 navAmount) internal {
        if (loss == 0) return;
        (uint256 previous, uint256 current, uint256 window) = _lossWindows($);
        _checkFits(loss, previous + current, navAmount.mulDiv($.risk.lossBudgetBps, BPS));
        $.loss = VaultStorage.LossState(uint64(window), uint96(previous), (current + loss).toUint96());
    }

    /// @notice Reverts like chargeLoss would, without booking: whether `loss` fits what is left.
    function checkLossFits(VaultStorage.Layout storage $, uint256 loss, uint256 navAmount) internal view {
        if (loss == 0) return;
        (uint256 used, uint256 capacity) = lossBudget($, navAmount);
        _checkFits(loss, used, capacity);
    }

    function _checkFits(uint256 loss, uint256 used, uint256 capacity) private pure {
        if (used + loss > capacity) {
            revert ICohortVault.CohortLossBudgetExceeded(loss, capacity > used ? capacity - used : 0);
        }
    }

    /// @dev The previous and current window's losses as of now. A longer lossWindow (a tightening,
    /// applied at once) makes the index go back: everything booked then counts as previous.
    function _lossWindows(VaultStorage.Layout storage $)
        private
        view
        returns (uint256 previous, uint256 current, uint256 window)
    {
        window = block.timestamp / $.risk.lossWindow;
        VaultStorage.LossState memory l = $.loss;
        if (window > uint256(l.window) + 1) return (0, 0, window); // both windows are over
        if (window > l.window) return (l.current, 0, window); // the next window: current became previous
        if (window < l.window) return (uint256(l.previous) + l.current, 0, window);
        return (l.previous, l.current, window);
    }
}
