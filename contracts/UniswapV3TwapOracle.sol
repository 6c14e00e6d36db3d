// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {TickMath} from "@uniswap/v3-core/contracts/libraries/TickMath.sol";

import {IPriceOracle} from "./interfaces/IPriceOracle.sol";

/// @dev The slice of a Uniswap V3 pool this oracle reads.
interface IUniswapV3PoolOracle {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function slot0() external view returns (uint160, int24, uint16, uint16, uint16, uint8, bool);
    function observe(uint32[] calldata secondsAgos) external view returns (int56[] memory, uint160[] memory);
}

/// @title UniswapV3TwapOracle
/// @notice Time-weighted prices from Uniswap V3 pools. Every token is priced in one numeraire
/// (USDC on the devnet) through a chain of at most MAX_HOPS pools (WBTC -> WETH -> USDC, say).
/// Prices are ticks (log base 1.0001), so a chain is a sum of ticks and a quote between any two
/// priced tokens is one TickMath conversion of the difference of their ticks.
contract UniswapV3TwapOracle is IPriceOracle, Ownable2Step {
    using Math for uint256;

    /// @notice Thrown when a feed's pool does not hold `token`, or would create a loop or too long a chain.
    error OracleInvalidFeed(address token, address pool);

    /// @notice Thrown when another change of `token`'s feed is queued, or this one is not due yet.
    error OracleFeedChangePending(address token, address pool, uint256 validAt);

    event FeedSet(address indexed token, address indexed pool, address indexed quoteToken);
    event FeedRemoved(address indexed token);
    /// @notice A change of an existing feed (`pool` zero: its removal) applies from `validAt`.
    event FeedChangeQueued(address indexed token, address indexed pool, uint256 validAt);
    event FeedChangeCancelled(address indexed token, address indexed pool);

    uint256 public constant MAX_HOPS = 3;
    /// @notice Repointing or removing an existing feed waits this long: at least the longest timelock a
    /// vault may have (VaultConfig.MAX_TIMELOCK), so every vault's investors see it coming and can leave.
    uint256 public constant FEED_TIMELOCK = 30 days;
    /// @notice A queued feed change not applied within this long after it became due expires.
    uint256 public constant FEED_GRACE = 14 days;

    /// @dev The one queued change per token: its new pool (zero: removal) and when it applies.
    struct PendingFeed {
        address pool;
        uint64 validAt;
    }

    /// @notice The token every price is expressed in first.
    address public immutable numeraire;

    /// @dev One slot: read once per hop. The next hop is only read for multi-hop feeds.
    struct Feed {
        address pool;
        bool tokenIsToken0; // the pool's tick prices token1 in token0; sign of this hop's tick
        bool quotedInNumeraire; // the pool's other token is the numeraire: the last hop
    }

    mapping(address token => Feed) private _feeds;
    mapping(address token => address) private _quoteTokens; // the pool's other token: the next step
    mapping(address token => PendingFeed) private _pending;

    constructor(address owner_, address numeraire_) Ownable(owner_) {
        numeraire = numeraire_;
    }

    // ------------------------------------------------------------------ configuration

    /// @notice Prices `token` through `pool`, whose other token must be the numeraire or priced. A
    /// first feed applies at once (no vault can hold an unpriced token); repointing an existing feed
    /// is queued by the first call and applied by the same call after FEED_TIMELOCK.
    function setFeed(address token, address pool) external onlyOwner {
        if (token == numeraire || pool == address(0)) revert OracleInvalidFeed(token, pool);
        (address quoteToken, bool tokenIsToken0) = _checkFeed(token, pool);
        if (_feeds[token].pool != address(0) && !_due(token, pool)) return;
        _feeds[token] = Feed(pool, tokenIsToken0, quoteToken == numeraire);
        _quoteTokens[token] = quoteToken;
        emit FeedSet(token, pool, quoteToken);
    }

    /// @notice Removes `token`'s feed: queued by the first call, applied by the same call after FEED_TIMELOCK.
    function removeFeed(address token) external onlyOwner {
        if (_feeds[token].pool == address(0)) revert OracleNoFeed(token);
        if (!_due(token, address(0))) return;
        delete _feeds[token];
        delete _quoteTokens[token];
        emit FeedRemoved(token);
    }

    /// @notice Drops the queued change of `token`'s feed.
    function cancelFeedChange(address token) external onlyOwner {
        PendingFeed memory p = _pending[token];
        if (p.validAt == 0) revert OracleFeedChangePending(token, address(0), 0);
        delete _pending[token];
        emit FeedChangeCancelled(token, p.pool);
    }

    /// @notice The queued change of `token`'s feed (validAt zero: none).
    function pendingFeed(address token) external view returns (address pool, uint256 validAt) {
        PendingFeed memory p = _pending[token];
        return (p.pool, p.validAt);
    }

    /// @dev True when the change of `token`'s feed to `pool` was queued and is due now (and clears
    /// it); otherwise queues it (afresh when it expired) and returns false.
    function _due(address token, address pool) private returns (bool) {
        PendingFeed memory p = _pending[token];
        if (p.validAt != 0) {
            if (p.pool != pool || block.timestamp < p.validAt) revert OracleFeedChangePending(token, p.pool, p.validAt);
            if (block.timestamp <= p.validAt + FEED_GRACE) {
                delete _pending[token];
                return true;
            }
        }
        uint256 validAt = block.timestamp + FEED_TIMELOCK;
        _pending[token] = PendingFeed(pool, uint64(validAt));
        emit FeedChangeQueued(token, pool, validAt);
        return false;
    }

    function _checkFeed(address token, address pool) private view returns (address quoteToken, bool tokenIsToken0) {
        address t0 = IUniswapV3PoolOracle(pool).token0();
        address t1 = IUniswapV3PoolOracle(pool).token1();
        if (token != t0 && token != t1) revert OracleInvalidFeed(token, pool);
        quoteToken = token == t0 ? t1 : t0;
        tokenIsToken0 = token == t0;
        // The chain from the quote token must reach the numeraire, without `token`, within MAX_HOPS.
        address step = quoteToken;
        for (uint256 hops = 1; step != numeraire; ++hops) {
            if (hops >= MAX_HOPS || step == token || _feeds[step].pool == address(0)) {
                revert OracleInvalidFeed(token, pool);
            }
            step = _quoteTokens[step];
        }
    }

    function feedOf(address token) external view returns (address pool, address quoteToken) {
        return (_feeds[token].pool, _quoteTokens[token]);
    }

    /// @inheritdoc IPriceOracle
    function hasFeed(address token) external view returns (bool) {
        return token == numeraire || _feeds[token].pool != address(0);
    }

    // ------------------------------------------------------------------ prices

    /// @inheritdoc IPriceOracle
    function quote(address tokenIn, uint256 amountIn, address tokenOut, uint32 window)
        external
        view
        returns (uint256 amountOut, int256 deviationTicks)
    {
        if (tokenIn == tokenOut) return (amountIn, 0);
        (int256 twapIn, int256 spotIn) = _ticks(tokenIn, window);
        (int256 twapOut, int256 spotOut) = _ticks(tokenOut, window);
        // the same arithmetic as quoteMany's loop, written twice on purpose: a shared helper
        // taking the ticks as memory arrays costs every deposit ~600 gas (measured)
        int256 twap = twapIn - twapOut; // tokenIn priced in tokenOut
        deviationTicks = (spotIn - spotOut) - twap;
        amountOut = quoteAtTick(twap, amountIn);
    }

    /// @inheritdoc IPriceOracle
    function quoteMany(QuoteRequest[] calldata requests, uint32 window)
        external
        view
        returns (uint256[] memory amountsOut, int256[] memory deviationTicks)
    {
        uint256 n = requests.length;
        amountsOut = new uint256[](n);
        deviationTicks = new int256[](n);
        // ticks of each distinct token, read once (the numeraire's are zero and never read)
        address[] memory seen = new address[](2 * n);
        int256[] memory twaps = new int256[](2 * n);
        int256[] memory spots = new int256[](2 * n);
        uint256 known = 0;
        for (uint256 i; i < n; ++i) {
            (address tokenIn, uint256 amountIn, address tokenOut) =
                (requests[i].tokenIn, requests[i].amountIn, requests[i].tokenOut);
            if (tokenIn == tokenOut) {
                amountsOut[i] = amountIn;
                continue;
            }
            int256 twapIn;
            int256 spotIn;
            int256 twapOut;
            int256 spotOut;
            (twapIn, spotIn, known) = _cachedTicks(tokenIn, window, seen, twaps, spots, known);
            (twapOut, spotOut, known) = _cachedTicks(tokenOut, window, seen, twaps, spots, known);
            int256 twap = twapIn - twapOut;
            deviationTicks[i] = (spotIn - spotOut) - twap;
            amountsOut[i] = quoteAtTick(twap, amountIn);
        }
    }

    function _cachedTicks(
        address token,
        uint32 window,
        address[] memory seen,
        int256[] memory twaps,
        int256[] memory spots,
        uint256 known
    ) private view returns (int256 twap, int256 spot, uint256) {
        if (token == numeraire) return (0, 0, known);
        for (uint256 j; j < known; ++j) {
            if (seen[j] == token) return (twaps[j], spots[j], known);
        }
        (twap, spot) = _ticks(token, window);
        (seen[known], twaps[known], spots[known]) = (token, twap, spot);
        return (twap, spot, known + 1);
    }

    /// @notice The time-weighted and spot ticks of `token` priced in the numeraire.
    function ticksOf(address token, uint32 window) external view returns (int256 twapTick, int256 spotTick) {
        return _ticks(token, window);
    }

    /// @notice `amountIn * 1.0001^tick`, rounded down (the tick prices the input in the output).
    function quoteAtTick(int256 tick, uint256 amountIn) public pure returns (uint256) {
        if (tick < TickMath.MIN_TICK || tick > TickMath.MAX_TICK) revert OracleTickOutOfRange(tick);
        uint256 sqrtRatioX96 = TickMath.getSqrtRatioAtTick(int24(tick));
        // sqrtRatio^2 / 2^192 is the ratio; square in 256 bits when it fits, else pre-shift by 2^64.
        if (sqrtRatioX96 <= type(uint128).max) {
            return (sqrtRatioX96 * sqrtRatioX96).mulDiv(amountIn, 1 << 192);
        }
        return sqrtRatioX96.mulDiv(sqrtRatioX96, 1 << 64).mulDiv(amountIn, 1 << 128);
    }

    function _ticks(address token, uint32 window) private view returns (int256 twap, int256 spot) {
        while (token != numeraire) {
            Feed memory f = _feeds[token];
            if (f.pool == address(0)) revert OracleNoFeed(token);
            (int256 t, int256 s) = _poolTicks(f.pool, window);
            // The pool's tick prices token1 in token0; a token0 asset is priced by +tick.
            if (f.tokenIsToken0) {
                twap += t;
                spot += s;
            } else {
                twap -= t;
                spot -= s;
            }
            if (f.quotedInNumeraire) break;
            token = _quoteTokens[token];
        }
    }

    /// @dev observe([window, 0]) and slot0's tick through raw calls that decode only the words used
    /// (the cumulatives and the tick): the ABI decoder's copies of both return arrays and of slot0's
    /// seven fields cost about 1,500 gas per pool (measured). A pool that cannot answer over `window`
    /// (or answers malformed data) reverts OracleObservationUnavailable, as before.
    function _poolTicks(address pool, uint32 window) private view returns (int256 twap, int256 spot) {
        int256 delta;
        bool ok;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, shl(224, 0x883bdbfd)) // observe(uint32[])
            mstore(add(ptr, 0x04), 0x20)
            mstore(add(ptr, 0x24), 2)
            mstore(add(ptr, 0x44), window)
            mstore(add(ptr, 0x64), 0)
            ok := staticcall(gas(), pool, ptr, 0x84, 0, 0)
            // (int56[] tickCumulatives, uint160[]): the first array's offset, length and two words
            if and(ok, iszero(lt(returndatasize(), 0x40))) {
                returndatacopy(ptr, 0, 0x20)
                let at := mload(ptr)
                ok := and(lt(at, 0x10000), iszero(gt(add(at, 0x60), returndatasize())))
                if ok {
                    returndatacopy(ptr, at, 0x60)
                    ok := eq(mload(ptr), 2)
                    // int56 words: sign-extend from byte 6 (a well-formed word is unchanged)
                    delta := sub(signextend(6, mload(add(ptr, 0x40))), signextend(6, mload(add(ptr, 0x20))))
                }
            }
        }
        if (!ok) revert OracleObservationUnavailable(pool, window);
        int256 span = int256(uint256(window));
        twap = delta / span;
        if (delta < 0 && delta % span != 0) --twap; // round towards negative infinity
        assembly ("memory-safe") {
            mstore(0, shl(224, 0x3850c7bd)) // slot0(): the tick is the second word
            if iszero(and(staticcall(gas(), pool, 0, 4, 0, 0x40), iszero(lt(returndatasize(), 0x40)))) {
                let ptr := mload(0x40)
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
            spot := signextend(2, mload(0x20))
        }
    }
}
