// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {BPS, WAD} from "./Constants.sol";

/// @title Allocation
/// @notice How much of one master trade a follower vault trades (MAM allocation rules, see
/// docs/DESIGN.md). Two steps:
/// 1. `entitlement`: the follower's exact share of the master trade under its rule, with no
///    rounding at all, in scaled units (SCALE per token base unit of the input token);
/// 2. `fill`: the exact entitlement plus the residual carried from earlier trades, capped at
///    what the follower may trade now, rounded down to whole minimum lots; what the rounding
///    drops becomes the next residual.
/// Over any sequence, `sum(exact) = sum(amount) * SCALE + sum(capped) + residual`, with
/// `0 <= residual < minLot * SCALE`: the fills never run ahead of the (uncapped part of the)
/// entitlement, and never lag it by a whole minimum lot.
library Allocation {
    using Math for uint256;

    // ------------------------------------------------------------------ rules

    /// @dev Rule kinds.
    uint8 internal constant EQUITY = 0; // the master's fraction of the follower's holdings or NAV
    uint8 internal constant MULTIPLIER = 1; // that fraction times multiplierBps / BPS
    uint8 internal constant FIXED_LOT = 2; // fixedLot of the input token per master lot (LAMM)

    /// @dev Largest multiplier: 10x.
    uint32 internal constant MAX_MULTIPLIER_BPS = 100_000;

    /// @dev Entitlements and residuals are in scaled units: SCALE of them make one base unit of
    /// the input token. WAD * BPS makes every rule's entitlement an exact integer (a WAD fraction
    /// times a bps multiplier, or a WAD lot count times BPS), so only `fill` ever rounds.
    uint256 internal constant SCALE = WAD * BPS;

    /// @notice One follower's allocation rule. Fields a kind does not use must be zero.
    struct Rule {
        /// @dev EQUITY, MULTIPLIER or FIXED_LOT.
        uint8 kind;
        /// @dev MULTIPLIER only: the factor applied to the master's fraction, in bps (5_000 is 0.5x).
        uint32 multiplierBps;
        /// @dev FIXED_LOT only: input-token base units traded per master lot.
        uint128 fixedLot;
        /// @dev Every kind: fills are whole multiples of minLot input-token base units (1: any amount).
        uint128 minLot;
    }

    error AllocationUnknownKind(uint8 kind);
    error AllocationInvalidMultiplier(uint32 multiplierBps, uint32 maxBps);
    error AllocationZeroFixedLot();
    error AllocationZeroMinLot();
    error AllocationFieldNotUsed(uint8 kind);
    error AllocationFractionAboveOne(uint256 fractionWad);

    /// @notice Reverts, naming the fault, unless `rule` is well formed.
    function validate(Rule memory rule) internal pure {
        if (rule.kind > FIXED_LOT) revert AllocationUnknownKind(rule.kind);
        if (rule.minLot == 0) revert AllocationZeroMinLot();
        if (rule.kind == MULTIPLIER) {
            if (rule.multiplierBps == 0 || rule.multiplierBps > MAX_MULTIPLIER_BPS) {
                revert AllocationInvalidMultiplier(rule.multiplierBps, MAX_MULTIPLIER_BPS);
            }
        } else if (rule.multiplierBps != 0) {
            revert AllocationFieldNotUsed(rule.kind);
        }
        if (rule.kind == FIXED_LOT) {
            if (rule.fixedLot == 0) revert AllocationZeroFixedLot();
        } else if (rule.fixedLot != 0) {
            revert AllocationFieldNotUsed(rule.kind);
        }
    }

    // ------------------------------------------------------------------ allocation

    /// @notice The follower's exact entitlement to one master trade, in scaled units (SCALE per
    /// input-token base unit). Exact: nothing is rounded.
    /// - EQUITY: `base * fractionWad / WAD` base units;
    /// - MULTIPLIER: `base * fractionWad / WAD * multiplierBps / BPS` base units (may exceed
    ///   `base`; `fill`'s cap bounds the trade);
    /// - FIXED_LOT: `fixedLot * masterLotsWad / WAD` base units.
    /// @param base The follower's holdings of the input token, or its NAV valued in the input
    /// token, whichever the master trade is a fraction of (unused by FIXED_LOT).
    /// @param fractionWad The master's trade as a fraction of its own base, WAD (at most one).
    /// @param masterLotsWad The master's trade in lots, WAD (1e18 is one lot; FIXED_LOT only).
    function entitlement(Rule memory rule, uint256 base, uint256 fractionWad, uint256 masterLotsWad)
        internal
        pure
        returns (uint256 exact)
    {
        validate(rule);
        if (rule.kind == FIXED_LOT) return uint256(rule.fixedLot) * masterLotsWad * BPS;
        if (fractionWad > WAD) revert AllocationFractionAboveOne(fractionWad);
        uint256 factorBps = rule.kind == MULTIPLIER ? rule.multiplierBps : BPS;
        return base * fractionWad * factorBps;
    }

    /// @notice What the follower trades now: `exact + residual`, capped at `maxAmount`, rounded
    /// down to whole minimum lots. Rounding down favours the vault: a follower never trades more
    /// than it is entitled to, and what the rounding drops is carried, not lost.
    /// @param exact The entitlement from `entitlement`, in scaled units.
    /// @param residual What earlier fills of this follower (same input token) left over, in
    /// scaled units; zero at the first trade.
    /// @param maxAmount The most the follower may trade now, in base units (its max-trade limit,
    /// and at most what it holds); type(uint256).max for no cap.
    /// @return amount Base units to trade: a whole number of minimum lots, at most `maxAmount`.
    /// @return residualAfter The residual for the next trade, in scaled units, below `minLot * SCALE`.
    /// @return capped What the cap removed, in scaled units: dropped, not carried (a cap is a
    /// risk limit, so the excess is not traded later either).
    function fill(Rule memory rule, uint256 exact, uint256 residual, uint256 maxAmount)
        internal
        pure
        returns (uint256 amount, uint256 residualAfter, uint256 capped)
    {
        validate(rule);
        uint256 owed = exact + residual;
        uint256 cap = maxAmount.saturatingMul(SCALE); // saturates only for "no cap"
        if (owed > cap) {
            capped = owed - cap;
            owed = cap;
        }
        uint256 lot = uint256(rule.minLot) * SCALE;
        uint256 lots = owed / lot; // rounds down (Floor): never more than owed
        // whole lots on purpose: the remainder is the carried residual, not lost precision
        // slither-disable-next-line divide-before-multiply
        amount = lots * rule.minLot;
        // slither-disable-next-line divide-before-multiply
        residualAfter = owed - lots * lot; // owed % lot: less than one minimum lot
    }
}
