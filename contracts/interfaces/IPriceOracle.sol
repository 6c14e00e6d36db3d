// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IPriceOracle
/// @notice Prices for Cohort vaults. The Uniswap V3 TWAP oracle implements it; another source
/// (a Chainlink-style feed on a public network, say) can be plugged in behind the same call.
interface IPriceOracle {
    /// @notice One valuation: `amountIn` of `tokenIn`, in `tokenOut`.
    struct QuoteRequest {
        address tokenIn;
        uint256 amountIn;
        address tokenOut;
    }

    /// @notice Thrown when `token` has no price feed.
    error OracleNoFeed(address token);
    /// @notice Thrown when a pool cannot answer a TWAP over `window` seconds (not enough history).
    error OracleObservationUnavailable(address pool, uint32 window);
    /// @notice Thrown when a composed price falls outside Uniswap's tick range.
    error OracleTickOutOfRange(int256 tick);

    /// @notice Values `amountIn` of `tokenIn` in `tokenOut` at the time-weighted average price over
    /// the last `window` seconds, rounding down.
    /// @return amountOut The value, in `tokenOut` wei.
    /// @return deviationTicks The spot price less that average, in ticks of `tokenIn` priced in
    /// `tokenOut` (one tick is a factor of 1.0001, so 100 ticks is about 1%; positive: at spot
    /// `amountIn` is worth more `tokenOut` than at the average).
    function quote(address tokenIn, uint256 amountIn, address tokenOut, uint32 window)
        external
        view
        returns (uint256 amountOut, int256 deviationTicks);

    /// @notice `quote` for every request in one call; each price source is read once however
    /// many requests use it (a vault values all its holdings and a trade in a single call).
    function quoteMany(QuoteRequest[] calldata requests, uint32 window)
        external
        view
        returns (uint256[] memory amountsOut, int256[] memory deviationTicks);

    /// @notice True when `token` can be priced (it is the numeraire or has a feed).
    function hasFeed(address token) external view returns (bool);
}
