// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {ISwapAdapter} from "../interfaces/ISwapAdapter.sol";

/// @dev Uniswap V2 Router02, exact-input token swaps only.
interface IUniswapV2Router02 {
    function swapExactTokensForTokens(
        uint256 amountIn,
        uint256 amountOutMin,
        address[] calldata path,
        address to,
        uint256 deadline
    ) external returns (uint256[] memory amounts);
}

/// @title UniswapV2Adapter
/// @notice Swaps through Uniswap V2's Router02 along a route of packed addresses
/// (token | token | ...). The output always goes to the caller.
contract UniswapV2Adapter is ISwapAdapter {
    using SafeERC20 for IERC20;

    uint256 private constant ADDR = 20;

    IUniswapV2Router02 public immutable router;

    constructor(IUniswapV2Router02 router_) {
        router = router_;
    }

    /// @inheritdoc ISwapAdapter
    function swap(
        address tokenIn,
        address tokenOut,
        uint256 amountIn,
        uint256 minAmountOut,
        bytes calldata path,
        uint256 deadline
    ) external returns (uint256 amountOut) {
        validatePath(tokenIn, tokenOut, path);
        uint256 hops = path.length / ADDR;
        address[] memory route = new address[](hops);
        for (uint256 i; i < hops; ++i) {
            route[i] = address(bytes20(path[i * ADDR:(i + 1) * ADDR]));
        }
        if (IERC20(tokenIn).allowance(address(this), address(router)) < amountIn) {
            IERC20(tokenIn).forceApprove(address(router), type(uint256).max);
        }
        try router.swapExactTokensForTokens(amountIn, minAmountOut, route, msg.sender, deadline) returns (
            uint256[] memory amounts
        ) {
            amountOut = amounts[amounts.length - 1];
        } catch (bytes memory reason) {
            revert AdapterSwapFailed(reason);
        }
    }

    /// @inheritdoc ISwapAdapter
    function validatePath(address tokenIn, address tokenOut, bytes calldata path)
        public
        pure
        returns (address[] memory hops)
    {
        if (path.length < 2 * ADDR || path.length % ADDR != 0) revert AdapterInvalidPath(tokenIn, tokenOut);
        if (address(bytes20(path[:ADDR])) != tokenIn || address(bytes20(path[path.length - ADDR:])) != tokenOut) {
            revert AdapterInvalidPath(tokenIn, tokenOut);
        }
        uint256 n = path.length / ADDR - 2; // tokens strictly between tokenIn and tokenOut
        hops = new address[](n);
        for (uint256 i; i < n; ++i) {
            hops[i] = address(bytes20(path[(i + 1) * ADDR:(i + 2) * ADDR]));
        }
    }
}
