// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @dev Basis points in one whole (fees, fractions, limits).
uint256 constant BPS = 10_000;
/// @dev 18-decimal fixed point (prices per share, limit prices).
uint256 constant WAD = 1e18;
/// @dev 27-decimal fixed point (redemption fractions and per-share amounts).
uint256 constant RAY = 1e27;
