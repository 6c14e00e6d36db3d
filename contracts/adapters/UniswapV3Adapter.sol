// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {ISwapAdapter} from "../interfaces/ISwapAdapter.sol";

/// @dev Uniswap V3 SwapRouter (v3-periphery 1.x), exactInput only.
interface ISwapRouterV3 {
    struct ExactInputParams {
        bytes path;
        address recipient;
        uint256 deadline;
        uint256 amountIn;
        uint256 amountOutMinimum;
    }

    function exactInput(ExactInputParams calldata params) external payable returns (uint256 amountOut);
}

/// @title UniswapV3Adapter
/// @notice Swaps through Uniswap V3's SwapRouter `exactInput` along a packed path
/// (token | fee | token | ...), single- or multi-hop. The output always goes to the caller.
contract UniswapV3Adapter is ISwapAdapter {
    using SafeERC20 for IERC20;

    uint256 private constant ADDR = 20;
    uint256 private constant HOP = 23; // fee (3) + token (20)

    ISwapRouterV3 public immutable router;

    constructor(ISwapRouterV3 router_) {
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
        // The router pulls from this adapter; an unlimited approval is safe because nothing is
        // left here between calls.
        if (IERC20(tokenIn).allowance(address(this), address(router)) < amountIn) {
            IERC20(tokenIn).forceApprove(address(router), type(uint256).max);
        }
        try router.exactInput(
            ISwapRouterV3.ExactInputParams({
                path: path,
                recipient: msg.sender,
                deadline: deadline,
                amountIn: amountIn,
                amountOutMinimum: minAmountOut
            })
        ) returns (uint256 out) {
            amountOut = out;
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
        if (path.length < ADDR + HOP || (path.length - ADDR) % HOP != 0) revert AdapterInvalidPath(tokenIn, tokenOut);
        if (address(bytes20(path[:ADDR])) != tokenIn || address(bytes20(path[path.length - ADDR:])) != tokenOut) {
            revert AdapterInvalidPath(tokenIn, tokenOut);
        }
        uint256 n = (path.length - ADDR) / HOP - 1; // tokens strictly between tokenIn and tokenOut
        hops = new address[](n);
        for (uint256 i; i < n; ++i) {
            uint256 at = (i + 1) * HOP; // each token follows its hop's 3-byte fee
            hops[i] = address(bytes20(path[at:at + ADDR]));
        }
    }
}
