// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {BPS} from "./Constants.sol";

/// @title FeeMath
/// @notice Pure fee arithmetic for Cohort vaults (see docs/DESIGN.md, Fees). Fees are paid by minting
/// shares, so every function returns shares to mint, rounding down (in favour of the investors
/// who pay them).
library FeeMath {
    using Math for uint256;

    /// @dev Seconds in the fee year.
    uint256 internal constant YEAR = 365 days;
    /// @dev Caps on the fee rates, in bps.
    uint256 internal constant MAX_MANAGEMENT_FEE_BPS = 500;
    uint256 internal constant MAX_PERFORMANCE_FEE_BPS = 5_000;

    /// @notice Shares that make the recipient own `f = feeBps * elapsed / (BPS * YEAR)` of the
    /// vault after the mint: `supply * f / (1 - f)`, rounded down. `elapsed` is capped so that
    /// `f <= 1/2` (ten years at the 5% cap), which keeps the formula finite.
    function managementFeeShares(uint256 supply, uint256 feeBps, uint256 elapsed) internal pure returns (uint256) {
        if (supply == 0 || feeBps == 0 || elapsed == 0) return 0;
        uint256 numerator = feeBps * elapsed; // f = numerator / (BPS * YEAR)
        uint256 half = (BPS * YEAR) / 2;
        if (numerator > half) numerator = half;
        return supply.mulDiv(numerator, BPS * YEAR - numerator, Math.Rounding.Floor);
    }

    /// @notice Price per share `nav * scale / supply`, rounded down.
    function pricePerShare(uint256 nav, uint256 supply, uint256 scale) internal pure returns (uint256) {
        return nav.mulDiv(scale, supply, Math.Rounding.Floor);
    }

    /// @notice Performance fee shares over the high-water mark `hwm`: the fee value is
    /// `v = feeBps/BPS * (pps - hwm) * supply` (assets) and the shares are `v * supply / (nav - v)`.
    /// With `a = feeBps * (pps - hwm)` and `K = BPS * scale` that is `a*S*S / (K*nav - a*S)`,
    /// computed in one full-precision division and rounded down once. Zero unless `pps > hwm`.
    function performanceFeeShares(uint256 nav, uint256 supply, uint256 pps, uint256 hwm, uint256 feeBps, uint256 scale)
        internal
        pure
        returns (uint256)
    {
        if (pps <= hwm || feeBps == 0 || supply == 0) return 0;
        uint256 valueScaled = feeBps * (pps - hwm) * supply; // v * K
        uint256 navScaled = BPS * scale * nav; // nav * K
        if (valueScaled >= navScaled) return 0; // v < nav / 2 when feeBps <= 50%
        return valueScaled.mulDiv(supply, navScaled - valueScaled, Math.Rounding.Floor);
    }
}
