// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {TransientSlot} from "@openzeppelin/contracts/utils/TransientSlot.sol";

import {ICohortVault} from "./interfaces/ICohortVault.sol";
import {ICohortStrategies, ICohortFollower, FollowRule, MasterSignal} from "./interfaces/ICohortStrategies.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {Accounting} from "./libraries/Accounting.sol";
import {Allocation} from "./libraries/Allocation.sol";
import {BPS, WAD} from "./libraries/Constants.sol";
import {DelegatedModule} from "./libraries/Modules.sol";
import {Roles} from "./libraries/Roles.sol";
import {SignalLib} from "./libraries/SignalLib.sol";
import {SignalRules} from "./libraries/SignalRules.sol";
import {Timelock} from "./libraries/Timelock.sol";
import {VaultStorage} from "./libraries/VaultStorage.sol";

/// @title CohortVaultFollower
/// @notice The follower side of every Cohort vault, deployed once: following a strategy of the
/// protocol's CohortStrategies, and the two halves of the vault's share of a bulk fill. A vault
/// reaches it through its admin module's fallback (DELEGATECALL twice), so it reads and writes the
/// vault's storage (VaultStorage) and keeps none of its own.
/// @dev A fill is prepared and settled in two calls from CohortStrategies, with the block trade in
/// between. Between them the vault's reentrancy guard stays entered, so nothing else can move the
/// vault's balances while its output is being measured (the guard is transient: it cannot outlive
/// the transaction).
contract CohortVaultFollower is ICohortFollower, ReentrancyGuardTransient, DelegatedModule {
    using Math for uint256;
    using SafeCast for uint256;
    using SafeERC20 for IERC20;
    using TransientSlot for *;
    using Accounting for VaultStorage.Layout;
    using Roles for VaultStorage.Layout;
    using SignalRules for VaultStorage.Layout;

    /// @notice The protocol's CohortStrategies: the only caller of the two fill halves.
    address public immutable strategies;

    /// @dev The pending fill between prepare and settle, in transient storage (slot + i).
    bytes32 private constant PENDING = keccak256("cohort.follower.pending");
    uint256 private constant P_TOKEN_IN = 0;
    uint256 private constant P_TOKEN_OUT = 1;
    uint256 private constant P_AMOUNT_IN = 2;
    uint256 private constant P_OUT_BEFORE = 3;
    uint256 private constant P_MIN_OUT = 4;
    uint256 private constant P_ORACLE_OUT = 5;
    uint256 private constant P_VALUE_IN = 6;
    uint256 private constant P_NAV = 7;
    uint256 private constant P_NONCE = 8;

    constructor(address strategies_) {
        if (strategies_ == address(0)) revert ICohortVault.CohortZeroAddress();
        strategies = strategies_;
    }


    modifier onlyStrategies() {
        if (msg.sender != strategies) revert CohortNotStrategies(msg.sender);
        _;
    }

    // ================================================================ following

    /// @inheritdoc ICohortFollower
    function followStrategy(uint64 strategyId, FollowRule calldata rule) external onlyDelegated {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        $.checkOwner();
        (, address manager) = ICohortStrategies(strategies).strategyOf(strategyId);
        if (manager == address(0)) revert ICohortStrategies.StrategyUnknown(strategyId);
        Allocation.validate(_rule(rule.kind, rule.multiplierBps, rule.fixedLot, rule.minLot));
        if (rule.toleranceBps >= BPS) revert ICohortVault.CohortInvalidParameter("toleranceBps", rule.toleranceBps);
        // following lets another manager trade the vault: a risk-raising change
        if (!Timelock.ready($, true)) return;
        $.follow = VaultStorage.Follow(
            strategyId, rule.kind, rule.multiplierBps, rule.toleranceBps, rule.fixedLot, rule.minLot
        );
        emit StrategyFollowed(strategies, strategyId, rule);
    }

    /// @inheritdoc ICohortFollower
    function unfollowStrategy() external onlyDelegated {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        $.checkOwnerOrGuardian();
        uint64 strategyId = $.follow.strategyId;
        if (strategyId == 0) revert CohortNotFollowing(0);
        delete $.follow;
        emit StrategyUnfollowed(strategyId);
    }

    /// @inheritdoc ICohortFollower
    function followState() external view returns (uint64 strategyId, FollowRule memory rule) {
        VaultStorage.Follow memory f = VaultStorage.layout().follow;
        return (f.strategyId, FollowRule(f.kind, f.multiplierBps, f.fixedLot, f.minLot, f.toleranceBps));
    }

    /// @inheritdoc ICohortFollower
    function residualOf(address token) external view returns (uint256) {
        return VaultStorage.layout().residuals[token];
    }

    // ================================================================ bulk fills

    /// @inheritdoc ICohortFollower
    /// @dev Leaves the reentrancy guard entered when it sends input; strategySettle releases it.
    function strategyPrepare(address keeper, MasterSignal calldata m, address[] calldata hops, uint256 floorPrice)
        external
        onlyDelegated
        onlyStrategies
        returns (uint256 amountIn)
    {
        if (_reentrancyGuardEntered()) revert ReentrancyGuardReentrantCall();
        VaultStorage.Layout storage $ = VaultStorage.layout();
        VaultStorage.Follow memory f = $.follow;
        if (f.strategyId == 0 || f.strategyId != m.strategyId) revert CohortNotFollowing(m.strategyId);
        if (!$.keepers[keeper]) revert ICohortVault.CohortNotKeeper(keeper);
        VaultStorage.RiskSlot memory risk = $.risk;
        if (risk.paused) revert ICohortVault.CohortPaused();
        $.checkTrade(m.tokenIn, m.tokenOut, m.adapter);
        $.checkHops(hops);
        SignalRules.checkSlippage(m.maxSlippageBps, risk.maxSlippageBps);
        address base = $.base;
        // STRICT, like a signal: a spot price away from its TWAP refuses this follower's share
        Accounting.Valuation memory v =
            $.valuation(IPriceOracle($.oracle), base, Accounting.STRICT, m.tokenIn, m.tokenOut);
        $.checkRiskGate(risk.riskOff, v.nav, IERC20(address(this)).totalSupply(), m.tokenOut, base);

        amountIn = _allocate($, f, m, v, risk.maxTradeBps);
        if (amountIn == 0) return 0;
        (uint256 oracleOut, uint256 valueIn) = SignalRules.oracleReference(v, amountIn, risk.maxTradeBps);
        uint256 floorOut = _checkFloor($, f.toleranceBps, m, amountIn, oracleOut, floorPrice);
        // the fill pays at least floorOut, so its loss against the oracle is at most this
        $.checkLossFits(SignalRules.lossOf(floorOut, oracleOut, valueIn), v.nav);

        uint256 before = IERC20(m.tokenIn).balanceOf(address(this));
        IERC20(m.tokenIn).safeTransfer(msg.sender, amountIn);
        uint256 spent = before - IERC20(m.tokenIn).balanceOf(address(this));
        if (spent != amountIn) revert ICohortVault.CohortTransferMismatch(m.tokenIn, amountIn, spent);
        $.assets[m.tokenIn].holdings -= amountIn.toUint128();

        _pending(P_TOKEN_IN).tstore(uint256(uint160(m.tokenIn)));
        _pending(P_TOKEN_OUT).tstore(uint256(uint160(m.tokenOut)));
        _pending(P_AMOUNT_IN).tstore(amountIn);
        _pending(P_OUT_BEFORE).tstore(IERC20(m.tokenOut).balanceOf(address(this)));
        _pending(P_MIN_OUT).tstore(floorOut);
        _pending(P_ORACLE_OUT).tstore(oracleOut);
        _pending(P_VALUE_IN).tstore(valueIn);
        _pending(P_NAV).tstore(v.nav);
        _pending(P_NONCE).tstore(m.nonce);
        _guard().tstore(true);
    }

    /// @inheritdoc ICohortFollower
    function strategySettle(bytes32 digest, address keeper, uint256 limitPrice)
        external
        onlyDelegated
        onlyStrategies
        returns (uint256 amountOut)
    {
        address tokenOut = address(uint160(_pending(P_TOKEN_OUT).tload()));
        if (tokenOut == address(0)) revert CohortNoPendingFill();
        VaultStorage.Layout storage $ = VaultStorage.layout();
        amountOut = IERC20(tokenOut).balanceOf(address(this)) - _pending(P_OUT_BEFORE).tload();
        uint256 minOut = _pending(P_MIN_OUT).tload();
        if (amountOut < minOut) revert ICohortVault.CohortInsufficientOutput(amountOut, minOut);
        $.assets[tokenOut].holdings += amountOut.toUint128();
        uint256 oracleOut = _pending(P_ORACLE_OUT).tload();
        uint256 loss = SignalRules.lossOf(amountOut, oracleOut, _pending(P_VALUE_IN).tload());
        $.chargeLoss(loss, _pending(P_NAV).tload());
        emit ICohortVault.TradeExecuted(
            digest,
            _pending(P_NONCE).tload(),
            keeper,
            address(uint160(_pending(P_TOKEN_IN).tload())),
            tokenOut,
            _pending(P_AMOUNT_IN).tload(),
            amountOut,
            oracleOut,
            limitPrice,
            loss
        );
        _pending(P_TOKEN_OUT).tstore(uint256(0));
        _guard().tstore(false);
    }

    // ================================================================ internals

    /// @dev The follower's share under its rule, with its residual carried (Allocation), capped at
    /// what it holds and at its max-trade limit; books the new residual.
    function _allocate(
        VaultStorage.Layout storage $,
        VaultStorage.Follow memory f,
        MasterSignal calldata m,
        Accounting.Valuation memory v,
        uint16 maxTradeBps
    ) private returns (uint256 amount) {
        Allocation.Rule memory rule = _rule(f.kind, f.multiplierBps, f.fixedLot, f.minLot);
        // NAV in tokenIn at the oracle price of the holding (0 when nothing is held to price it)
        uint256 navIn = v.heldInValue == 0 ? 0 : v.nav.mulDiv(v.heldIn, v.heldInValue);
        uint256 base = m.sizeMode == SignalLib.SIZE_OF_HOLDINGS ? v.heldIn : navIn;
        uint256 exact = Allocation.entitlement(rule, base, uint256(m.sizeBps) * WAD / BPS, m.lots);
        uint256 maxAmount = Math.min(v.heldIn, navIn.mulDiv(maxTradeBps, BPS));
        uint256 residual = $.residuals[m.tokenIn];
        (uint256 amountIn, uint256 residualAfter, uint256 capped) = Allocation.fill(rule, exact, residual, maxAmount);
        if (residualAfter != residual) $.residuals[m.tokenIn] = residualAfter;
        emit StrategyAllocated(m.strategyId, m.nonce, m.tokenIn, amountIn, residualAfter, capped);
        return amountIn;
    }

    /// @dev What the keeper's floor price pays for `amountIn` (rounded down, as the split pays at
    /// least that); reverts unless it meets the follower's own minimum and its tolerance.
    function _checkFloor(
        VaultStorage.Layout storage $,
        uint16 toleranceBps,
        MasterSignal calldata m,
        uint256 amountIn,
        uint256 oracleOut,
        uint256 floorPrice
    ) private view returns (uint256 floorOut) {
        floorOut = amountIn.mulDiv(floorPrice, WAD);
        uint256 minOut = $.minOut(m.tokenIn, m.tokenOut, m.limitPrice, m.maxSlippageBps, amountIn, oracleOut);
        if (floorOut < minOut) revert CohortFillBelowMinimum(floorOut, minOut);
        if (toleranceBps != 0) {
            uint256 toleranceOut = $.atPrice(m.tokenIn, m.tokenOut, m.refPrice, amountIn).mulDiv(
                BPS - toleranceBps, BPS, Math.Rounding.Ceil
            );
            if (floorOut < toleranceOut) revert CohortFillBelowTolerance(floorOut, toleranceOut);
        }
    }

    function _rule(uint8 kind, uint32 multiplierBps, uint128 fixedLot, uint128 minLot)
        private
        pure
        returns (Allocation.Rule memory)
    {
        return Allocation.Rule(kind, multiplierBps, fixedLot, minLot);
    }

    function _pending(uint256 i) private pure returns (TransientSlot.Uint256Slot) {
        return TransientSlot.asUint256(bytes32(uint256(PENDING) + i));
    }

    function _guard() private pure returns (TransientSlot.BooleanSlot) {
        return TransientSlot.asBoolean(_reentrancyGuardStorageSlot());
    }
}
