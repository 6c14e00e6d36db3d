// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {EpochState, RiskLimits} from "../interfaces/ICohortVault.sol";

/// @title VaultStorage
/// @notice The vault's own state, in one ERC-7201 namespace shared by CohortVault and the
/// CohortVaultAdmin module it delegates to (OpenZeppelin's ERC-20 state keeps its usual slots).
/// @custom:storage-location erc7201:cohort.storage.CohortVault
library VaultStorage {
    struct AssetState {
        uint128 holdings; // tracked balance: changed only by measured transfers
        uint8 decimals;
        bool listed;
    }

    struct Route {
        address adapter;
        bytes path;
    }

    struct FeeState {
        address recipient;
        uint16 managementFeeBps;
        uint16 performanceFeeBps;
        uint64 lastAccrual;
    }

    struct Marks {
        uint128 highWaterMark; // price per share (1e18 = one asset per share); never decreases
        uint128 drawdownReference; // the breaker's reference: the HWM, or the price at the last reset
    }

    /// @notice The risk limits and the two flags as `riskState()` answers them.
    struct RiskState {
        RiskLimits limits;
        bool paused;
        bool riskOff;
    }

    /// @dev RiskState as stored: the limits flattened (same field names as RiskLimits) so the two
    /// flags share their slot. Deposits and signals read both, so that is one cold read, not two.
    struct RiskSlot {
        uint32 twapWindow;
        uint16 maxDeviationTicks;
        uint16 maxTradeBps;
        uint16 maxSlippageBps;
        uint16 lossBudgetBps;
        uint32 lossWindow;
        uint16 drawdownBps;
        bool paused;
        bool riskOff;
    }

    /// @dev Losses against the oracle in two aligned windows of lossWindow seconds: the window
    /// `window` (index timestamp / lossWindow) and the one before it.
    struct LossState {
        uint64 window;
        uint96 previous;
        uint96 current;
    }

    struct Limits {
        uint128 depositCap;
        uint128 minDeposit;
    }

    struct Queue {
        uint64 head; // oldest epoch with unsettled requests (0: none)
        uint64 tail; // latest epoch that received a request
        uint32 noticePeriod;
        uint16 gateBps;
        uint32 timelock;
    }

    struct Gate {
        uint64 windowStart;
        uint128 remaining; // assets the current gate window may still pay
    }

    struct Request {
        uint64 epoch;
        uint128 units; // shares requested
        uint128 creditedShares; // settled shares already moved to the claimable balance
        uint128 creditedAssets;
    }

    struct Claimable {
        uint128 shares;
        uint128 assets;
    }

    /// @dev The strategy this vault follows (strategyId 0: none) and its allocation rule
    /// (ICohortStrategies.FollowRule, in two slots).
    struct Follow {
        uint64 strategyId;
        uint8 kind;
        uint32 multiplierBps;
        uint16 toleranceBps;
        uint128 fixedLot;
        uint128 minLot;
    }

    struct Layout {
        address owner;
        address pendingOwner;
        address manager;
        address guardian;
        address oracle;
        address base;
        bool initialized;
        FeeState fee;
        Marks marks;
        RiskSlot risk;
        LossState loss;
        Limits limits;
        Queue queue;
        Gate gate;
        uint256 reserved; // base asset set aside for settled, unclaimed redemptions
        address[] assetList; // listed non-base assets
        mapping(address token => AssetState) assets;
        mapping(address token => Route) exitRoutes;
        mapping(address adapter => bool) adapters;
        mapping(address keeper => bool) keepers;
        mapping(uint256 epoch => EpochState) epochs;
        mapping(address controller => Request) requests;
        mapping(address controller => Claimable) claimable;
        mapping(address controller => mapping(address operator => bool)) operators;
        mapping(uint256 wordPos => uint256) nonceBitmap;
        mapping(bytes32 id => uint256 validAt) pendingChanges;
        // MAM (appended: the namespace's layout above is unchanged)
        Follow follow;
        mapping(address token => uint256) residuals; // Allocation residual per input token, scaled
    }

    // keccak256(abi.encode(uint256(keccak256("cohort.storage.CohortVault")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 internal constant SLOT = 0xda193c6130e8a5b4a322dbcf9471e6317965c108c8d71b69d4373bbd13a39900;

    /// @dev Writes the limits, keeping the flags.
    function storeRiskLimits(Layout storage $, RiskLimits memory l) internal {
        RiskSlot storage r = $.risk;
        (r.twapWindow, r.maxDeviationTicks, r.maxTradeBps, r.maxSlippageBps) =
            (l.twapWindow, l.maxDeviationTicks, l.maxTradeBps, l.maxSlippageBps);
        (r.lossBudgetBps, r.lossWindow, r.drawdownBps) = (l.lossBudgetBps, l.lossWindow, l.drawdownBps);
    }

    function layout() internal pure returns (Layout storage $) {
        assembly ("memory-safe") {
            $.slot := SLOT
        }
    }
}
