// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ISwapAdapter
/// @notice One interface in front of each DEX router. The caller (a vault) first transfers
/// `amountIn` of `tokenIn` to the adapter, then calls `swap`; the output goes to the caller and
/// nowhere else. Adapters hold no funds between calls.
interface ISwapAdapter {
    /// @notice Thrown when `path` does not lead from `tokenIn` to `tokenOut` or is malformed.
    error AdapterInvalidPath(address tokenIn, address tokenOut);
    /// @notice Thrown when the router refuses the swap; `reason` is the router's own revert data
    /// (for example "Too little received" when the minimum output cannot be met).
    error AdapterSwapFailed(bytes reason);

    /// @notice Swaps exactly `amountIn` of `tokenIn` for at least `minAmountOut` of `tokenOut`
    /// along `path`, paying the output to `msg.sender`; the router call carries `deadline`.
    /// @return amountOut What the router reported as paid out.
    function swap(
        address tokenIn,
        address tokenOut,
        uint256 amountIn,
        uint256 minAmountOut,
        bytes calldata path,
        uint256 deadline
    ) external returns (uint256 amountOut);

    /// @notice Reverts with AdapterInvalidPath unless `path` leads from `tokenIn` to `tokenOut`.
    /// @return hops The tokens the path passes through between them, in order (a vault checks
    /// that it lists each one).
    function validatePath(address tokenIn, address tokenOut, bytes calldata path)
        external
        view
        returns (address[] memory hops);
}
