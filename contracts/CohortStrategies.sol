// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {ICohortStrategies, ICohortFollower, MasterSignal} from "./interfaces/ICohortStrategies.sol";
import {ISwapAdapter} from "./interfaces/ISwapAdapter.sol";
import {BPS, WAD} from "./libraries/Constants.sol";
import {SignalLib} from "./libraries/SignalLib.sol";
import {SignalRules} from "./libraries/SignalRules.sol";

/// @title CohortStrategies
/// @notice Strategies (one manager, many follower vaults) and the bulk execution of their master
/// signals: every follower sizes and checks its own share, the shares are swapped together in one
/// trade and the output is split pro-rata to the inputs, so all followers fill at one price.
/// Holds no funds between transactions and trusts no follower's word for an amount: what the
/// followers sent and what the swap returned are measured.
/// @dev Deployed once per protocol; each vault's CohortVaultFollower module accepts calls from this
/// contract only (its immutable). See docs/DESIGN.md "MAM: strategies and bulk execution".
contract CohortStrategies is ICohortStrategies, EIP712, ReentrancyGuardTransient {
    using Math for uint256;
    using SafeERC20 for IERC20;

    struct Strategy {
        address owner;
        address manager;
    }

    mapping(uint64 strategyId => Strategy) private _strategies;
    uint64 private _count;
    /// @dev Filled shares: bit `nonce & 255` of the word keyed by (strategy, follower, nonce >> 8).
    mapping(bytes32 key => uint256) private _filled;
    /// @dev Cancelled master nonces: bit `nonce & 255` of the word keyed by (strategy, nonce >> 8).
    mapping(bytes32 key => uint256) private _cancelled;

    constructor() EIP712("CohortStrategies", "1") {}

    // ================================================================ strategies

    /// @inheritdoc ICohortStrategies
    function createStrategy(address manager, string calldata name) external returns (uint64 strategyId) {
        if (manager == address(0)) revert StrategyInvalidSignal("manager");
        strategyId = ++_count;
        _strategies[strategyId] = Strategy(msg.sender, manager);
        emit StrategyCreated(strategyId, msg.sender, manager, name);
    }

    /// @inheritdoc ICohortStrategies
    function setManager(uint64 strategyId, address manager) external {
        Strategy storage st = _strategies[strategyId];
        if (st.manager == address(0)) revert StrategyUnknown(strategyId);
        if (msg.sender != st.owner) revert StrategyNotOwner(msg.sender);
        if (manager == address(0)) revert StrategyInvalidSignal("manager");
        st.manager = manager;
        emit StrategyManagerChanged(strategyId, manager);
    }

    /// @inheritdoc ICohortStrategies
    function cancelMasters(uint64 strategyId, uint256 wordPos, uint256 mask) external {
        address manager = _strategies[strategyId].manager;
        if (manager == address(0)) revert StrategyUnknown(strategyId);
        if (msg.sender != manager) revert StrategyNotManager(msg.sender);
        _cancelled[keccak256(abi.encode(strategyId, wordPos))] |= mask;
        emit MastersCancelled(strategyId, wordPos, mask);
    }

    /// @inheritdoc ICohortStrategies
    function masterCancelled(uint64 strategyId, uint256 nonce) public view returns (bool) {
        return _cancelled[keccak256(abi.encode(strategyId, nonce >> 8))] & (1 << (nonce & 0xff)) != 0;
    }

    /// @inheritdoc ICohortStrategies
    function strategyOf(uint64 strategyId) external view returns (address owner, address manager) {
        Strategy memory st = _strategies[strategyId];
        return (st.owner, st.manager);
    }

    /// @inheritdoc ICohortStrategies
    function strategyCount() external view returns (uint64) {
        return _count;
    }

    // ================================================================ execution

    /// @inheritdoc ICohortStrategies
    /// @dev Followers are called in turn; each either sends its input (measured in total below) or
    /// reverts with its reason, which is recorded. Every external call here goes to a follower
    /// (which checks the caller is this contract and the keeper is its own) or to an adapter that
    /// each filled follower allows.
    // slither-disable-next-line reentrancy-no-eth,reentrancy-events,calls-loop
    function executeMaster(
        MasterSignal calldata m,
        bytes calldata signature,
        address[] calldata followers,
        uint256 floorPrice
    ) external nonReentrant returns (uint256 totalIn, uint256 totalOut) {
        address manager = _strategies[m.strategyId].manager;
        if (manager == address(0)) revert StrategyUnknown(m.strategyId);
        if (block.timestamp > m.deadline) revert StrategySignalExpired(m.deadline);
        if (masterCancelled(m.strategyId, m.nonce)) revert StrategyMasterCancelled(m.strategyId, m.nonce);
        _checkFields(m, followers.length, floorPrice);
        bytes32 digest = _hashTypedDataV4(SignalLib.hash(m));
        SignalRules.checkSigner(manager, digest, signature);
        address[] memory hops = ISwapAdapter(m.adapter).validatePath(m.tokenIn, m.tokenOut, m.path);
        emit MasterTerms(m.strategyId, m.nonce, m);

        uint256[] memory amounts = new uint256[](followers.length);
        uint256 inBefore = IERC20(m.tokenIn).balanceOf(address(this));
        uint256 skipped = 0;
        for (uint256 i; i < followers.length; ++i) {
            address follower = followers[i];
            (bytes32 key, uint256 bit) = _shareSlot(m.strategyId, follower, m.nonce);
            uint256 word = _filled[key];
            if (word & bit != 0) revert StrategyShareFilled(follower, m.nonce);
            try ICohortFollower(follower).strategyPrepare(msg.sender, m, hops, floorPrice) returns (uint256 amount) {
                _filled[key] = word | bit;
                amounts[i] = amount;
                totalIn += amount;
            } catch (bytes memory reason) {
                ++skipped;
                emit FollowerSkipped(m.strategyId, m.nonce, follower, reason);
            }
        }
        if (totalIn != 0) {
            uint256 received = IERC20(m.tokenIn).balanceOf(address(this)) - inBefore;
            if (received != totalIn) revert StrategyTransferMismatch(m.tokenIn, totalIn, received);
            totalOut = _swap(m, totalIn, totalIn.mulDiv(floorPrice, WAD, Math.Rounding.Ceil), inBefore);
            _pay(m, digest, followers, amounts, totalIn, totalOut);
        }
        emit MasterExecuted(
            m.strategyId,
            m.nonce,
            digest,
            msg.sender,
            m.tokenIn,
            m.tokenOut,
            totalIn,
            totalOut,
            floorPrice,
            followers.length - skipped,
            skipped
        );
    }

    /// @dev The one block trade: exactly `amountIn` goes through the adapter, the output is measured.
    function _swap(MasterSignal calldata m, uint256 amountIn, uint256 minOut, uint256 inBefore)
        private
        returns (uint256 amountOut)
    {
        uint256 outBefore = IERC20(m.tokenOut).balanceOf(address(this));
        IERC20(m.tokenIn).safeTransfer(m.adapter, amountIn);
        // the floor is checked here, on the measured output (so a simulation learns the trade from
        // StrategyBelowFloor), not inside the router
        ISwapAdapter(m.adapter).swap(m.tokenIn, m.tokenOut, amountIn, 0, m.path, m.deadline);
        uint256 left = IERC20(m.tokenIn).balanceOf(address(this));
        if (left != inBefore) revert StrategyTransferMismatch(m.tokenIn, inBefore, left);
        amountOut = IERC20(m.tokenOut).balanceOf(address(this)) - outBefore;
        if (amountOut < minOut) revert StrategyBelowFloor(amountIn, amountOut, minOut);
    }

    /// @dev Pays each filled follower `totalOut * amountIn / totalIn`, rounded down, and the last
    /// one the rest (a few wei of rounding), so nothing stays here; then each books its fill.
    function _pay(
        MasterSignal calldata m,
        bytes32 digest,
        address[] calldata followers,
        uint256[] memory amounts,
        uint256 totalIn,
        uint256 totalOut
    ) private {
        uint256 last = followers.length;
        while (amounts[--last] == 0) {}
        uint256 paid = 0;
        for (uint256 i; i <= last; ++i) {
            if (amounts[i] == 0) continue;
            uint256 out = i == last ? totalOut - paid : totalOut.mulDiv(amounts[i], totalIn);
            paid += out;
            IERC20(m.tokenOut).safeTransfer(followers[i], out);
            ICohortFollower(followers[i]).strategySettle(digest, msg.sender, m.limitPrice);
        }
    }

    function _checkFields(MasterSignal calldata m, uint256 followerCount, uint256 floorPrice) private pure {
        if (followerCount == 0) revert StrategyNoFollowers();
        if (m.tokenIn == m.tokenOut) revert StrategyInvalidSignal("tokenOut");
        if (m.sizeMode > SignalLib.SIZE_OF_NAV) revert StrategyInvalidSignal("sizeMode");
        if (m.sizeBps > BPS || (m.sizeBps == 0 && m.lots == 0)) revert StrategyInvalidSignal("sizeBps");
        if (m.limitPrice == 0) revert StrategyInvalidSignal("limitPrice");
        if (m.refPrice == 0) revert StrategyInvalidSignal("refPrice");
        if (m.maxSlippageBps == 0 || m.maxSlippageBps >= BPS) revert StrategyInvalidSignal("maxSlippageBps");
        if (floorPrice == 0) revert StrategyInvalidSignal("floorPrice");
    }

    // ================================================================ read-outs

    /// @inheritdoc ICohortStrategies
    function shareFilled(uint64 strategyId, address follower, uint256 nonce) external view returns (bool) {
        (bytes32 key, uint256 bit) = _shareSlot(strategyId, follower, nonce);
        return _filled[key] & bit != 0;
    }

    /// @inheritdoc ICohortStrategies
    function masterDigest(MasterSignal calldata m) external view returns (bytes32) {
        return _hashTypedDataV4(SignalLib.hash(m));
    }

    /// @inheritdoc ICohortStrategies
    function masterSignalTypehash() external pure returns (bytes32) {
        return SignalLib.MASTER_SIGNAL_TYPEHASH;
    }

    function _shareSlot(uint64 strategyId, address follower, uint256 nonce)
        private
        pure
        returns (bytes32 key, uint256 bit)
    {
        key = keccak256(abi.encode(strategyId, follower, nonce >> 8));
        bit = 1 << (nonce & 0xff);
    }
}
