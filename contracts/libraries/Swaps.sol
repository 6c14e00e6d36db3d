// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {ICohortVault} from "../interfaces/ICohortVault.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {ISwapAdapter} from "../interfaces/ISwapAdapter.sol";
import {Accounting} from "./Accounting.sol";
import {BPS} from "./Constants.sol";
import {VaultStorage} from "./VaultStorage.sol";

/// @title Swaps
/// @notice Every trade of a vault goes through `swap`: the input goes to an allowed adapter, the
/// output comes back to the vault, and holdings change by the measured balance differences only.
library Swaps {
    using Math for uint256;
    using SafeCast for uint256;
    using SafeERC20 for IERC20;

    uint8 internal constant REASON_UNWIND = 0;
    uint8 internal constant REASON_DERISK = 1;

    struct Trade {
        address tokenIn;
        address tokenOut;
        uint256 amountIn;
        uint256 minOut;
        address adapter;
        bytes path;
        uint256 deadline;
    }

    /// @dev Reading balances before the adapter call and comparing after it is the point: the
    /// vault books measured amounts. Every entry point that reaches here is nonReentrant.
    // slither-disable-next-line reentrancy-balance
    function swap(VaultStorage.Layout storage $, Trade memory t) internal returns (uint256 amountOut) {
        uint256 inBefore = IERC20(t.tokenIn).balanceOf(address(this));
        uint256 outBefore = IERC20(t.tokenOut).balanceOf(address(this));
        IERC20(t.tokenIn).safeTransfer(t.adapter, t.amountIn);
        ISwapAdapter(t.adapter).swap(t.tokenIn, t.tokenOut, t.amountIn, t.minOut, t.path, t.deadline);
        uint256 spent = inBefore - IERC20(t.tokenIn).balanceOf(address(this));
        amountOut = IERC20(t.tokenOut).balanceOf(address(this)) - outBefore;
        // exact input: events report amountIn, so what left the vault must be exactly that
        if (spent != t.amountIn) revert ICohortVault.CohortTransferMismatch(t.tokenIn, t.amountIn, spent);
        if (amountOut < t.minOut) revert ICohortVault.CohortInsufficientOutput(amountOut, t.minOut);
        $.assets[t.tokenIn].holdings -= spent.toUint128();
        $.assets[t.tokenOut].holdings += amountOut.toUint128();
    }

    /// @notice Sells `amountIn` of `asset` for the base asset on its exit route, like a signal: the
    /// spot price must be within the vault's deviation bound of the TWAP, the minimum is the better
    /// of the two less the vault's slippage bound, and what the sale loses against that reference is
    /// charged to the loss budget (at `nav`). A sale worth less than `minValue` (dust a pool cannot
    /// price) is skipped and returns 0.
    function sellForBase(
        VaultStorage.Layout storage $,
        address asset,
        uint256 amountIn,
        uint8 reason,
        uint256 minValue,
        uint256 nav
    ) internal returns (uint256 amountOut) {
        VaultStorage.Route memory route = $.exitRoutes[asset];
        if (!$.adapters[route.adapter]) revert ICohortVault.CohortAdapterNotAllowed(route.adapter);
        VaultStorage.RiskSlot memory limits = $.risk;
        address base = $.base;
        (uint256 twapOut, int256 deviation) = IPriceOracle($.oracle).quote(asset, amountIn, base, limits.twapWindow);
        Accounting.withinBound(asset, deviation, limits.maxDeviationTicks, Accounting.STRICT);
        uint256 oracleOut = Accounting.betterOut(twapOut, deviation);
        if (oracleOut < minValue) return 0;
        uint256 minOut = oracleOut.mulDiv(BPS - limits.maxSlippageBps, BPS, Math.Rounding.Ceil);
        amountOut = swap($, Trade(asset, base, amountIn, minOut, route.adapter, route.path, block.timestamp));
        if (amountOut < oracleOut) Accounting.chargeLoss($, oracleOut - amountOut, nav);
        emit ICohortVault.LiquiditySold(reason, asset, amountIn, amountOut, oracleOut);
    }
}
