// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Allocation} from "../libraries/Allocation.sol";

/// @title AllocationHarness
/// @notice Test-only: exposes the Allocation library, and runs a whole sequence of master trades
/// for one follower in one call (so a property test needs one eth_call per sequence).
contract AllocationHarness {
    /// @notice One master trade as the follower sees it (see Allocation.entitlement and fill).
    struct Trade {
        uint256 base;
        uint256 fractionWad;
        uint256 masterLotsWad;
        uint256 maxAmount;
    }

    /// @notice The rule kinds, the multiplier cap and the scaled unit, so tests keep no copy.
    function constants()
        external
        pure
        returns (uint8 equity, uint8 multiplier, uint8 fixedLot, uint32 maxMultiplierBps, uint256 scale)
    {
        return (
            Allocation.EQUITY,
            Allocation.MULTIPLIER,
            Allocation.FIXED_LOT,
            Allocation.MAX_MULTIPLIER_BPS,
            Allocation.SCALE
        );
    }

    function validate(Allocation.Rule memory rule) external pure {
        Allocation.validate(rule);
    }

    function entitlement(Allocation.Rule memory rule, uint256 base, uint256 fractionWad, uint256 masterLotsWad)
        external
        pure
        returns (uint256)
    {
        return Allocation.entitlement(rule, base, fractionWad, masterLotsWad);
    }

    function fill(Allocation.Rule memory rule, uint256 exact, uint256 residual, uint256 maxAmount)
        external
        pure
        returns (uint256 amount, uint256 residualAfter, uint256 capped)
    {
        return Allocation.fill(rule, exact, residual, maxAmount);
    }

    /// @notice `entitlement` then `fill` for each trade in order, carrying the residual.
    function allocateSequence(Allocation.Rule memory rule, Trade[] memory trades, uint256 residual)
        external
        pure
        returns (uint256[] memory exact, uint256[] memory amount, uint256[] memory capped, uint256 residualAfter)
    {
        uint256 n = trades.length;
        exact = new uint256[](n);
        amount = new uint256[](n);
        capped = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            Trade memory t = trades[i];
            exact[i] = Allocation.entitlement(rule, t.base, t.fractionWad, t.masterLotsWad);
            (amount[i], residual, capped[i]) = Allocation.fill(rule, exact[i], residual, t.maxAmount);
        }
        residualAfter = residual;
    }
}
