// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice A strategy manager's master signal, signed with EIP-712 (domain: "CohortStrategies",
/// version "1", the chain id, the CohortStrategies contract). One master signal is one trade of a
/// strategy; every vault that follows the strategy trades its own allocation of it, all in one
/// block swap at one price.
/// @dev The Python module derives the EIP-712 type from this struct's ABI; a test checks that
/// its type hash equals SignalLib.MASTER_SIGNAL_TYPEHASH (masterSignalTypehash()).
struct MasterSignal {
    /// @dev The strategy (CohortStrategies.createStrategy's id).
    uint64 strategyId;
    /// @dev Token sold and token bought.
    address tokenIn;
    address tokenOut;
    /// @dev For EQUITY and MULTIPLIER followers: 0 = sizeBps of the follower's holdings of tokenIn;
    /// 1 = sizeBps of its NAV (valued in tokenIn). The master's trade as a fraction of its own book.
    uint8 sizeMode;
    uint16 sizeBps;
    /// @dev For FIXED_LOT followers: the master's trade in lots, 18 decimals (1e18 = one lot).
    uint256 lots;
    /// @dev Minimum price, whole tokenOut per whole tokenIn, 18 decimals: no follower fills below it.
    uint256 limitPrice;
    /// @dev The master's reference price (same unit): followers' price tolerance is measured from it.
    uint256 refPrice;
    /// @dev Largest shortfall accepted against each follower's oracle price, in bps.
    uint16 maxSlippageBps;
    /// @dev The swap adapter and route, used once for the whole block trade.
    address adapter;
    bytes path;
    /// @dev Nonce of the strategy: each follower's share of (strategyId, nonce) fills at most once.
    uint256 nonce;
    uint256 deadline;
}

/// @notice How a follower vault sizes its share of a master trade (rules: Allocation.sol).
struct FollowRule {
    /// @dev Allocation.EQUITY (0), MULTIPLIER (1) or FIXED_LOT (2).
    uint8 kind;
    /// @dev MULTIPLIER: the factor, bps (5_000 = 0.5x, 15_000 = 1.5x); otherwise 0.
    uint32 multiplierBps;
    /// @dev FIXED_LOT: input-token base units per master lot; otherwise 0.
    uint128 fixedLot;
    /// @dev Fills are whole multiples of this many input-token base units (1: any amount).
    uint128 minLot;
    /// @dev Largest adverse deviation of the fill from the master's refPrice, bps; 0: no filter.
    uint16 toleranceBps;
}

/// @title ICohortStrategies
/// @notice The MAM side of Cohort, deployed once per protocol: strategies (one manager, many
/// follower vaults) and the bulk execution of master signals. A keeper executes one master signal
/// for a list of followers (all of them, or a chunk): each follower sizes and checks its own share
/// (CohortVaultFollower.strategyPrepare) and sends its input here; the inputs are swapped in one
/// trade and the output is split pro-rata to the inputs (rounded down, the dust to the last
/// follower), so every follower gets the same price. A follower whose own check fails is skipped
/// with its reason; the others fill.
interface ICohortStrategies {
    error StrategyUnknown(uint64 strategyId);
    error StrategyNotOwner(address caller);
    error StrategySignalExpired(uint256 deadline);
    error StrategyInvalidSignal(bytes32 field);
    /// @notice `follower`'s share of master nonce `nonce` was filled before (or twice in the list).
    error StrategyShareFilled(address follower, uint256 nonce);
    error StrategyNoFollowers();
    error StrategyNotManager(address caller);
    /// @notice The strategy's manager cancelled master nonce `nonce` (cancelMasters).
    error StrategyMasterCancelled(uint64 strategyId, uint256 nonce);
    /// @notice The block trade of `amountIn` returned `amountOut`, less than the keeper's floor price
    /// asks for. A keeper simulates with a very high floor (eth_call) and reads the trade from it.
    error StrategyBelowFloor(uint256 amountIn, uint256 amountOut, uint256 minAmountOut);
    error StrategyTransferMismatch(address token, uint256 expected, uint256 actual);

    event StrategyCreated(uint64 indexed strategyId, address indexed owner, address indexed manager, string name);
    event StrategyManagerChanged(uint64 indexed strategyId, address manager);
    /// @notice The manager cancelled the master nonces `wordPos * 256 + i` for every bit i of `mask`.
    event MastersCancelled(uint64 indexed strategyId, uint256 wordPos, uint256 mask);
    /// @notice The master signal as signed, once per executed chunk (before its MasterExecuted), so
    /// its prices and sizes are on the record from events alone, whoever made the call.
    event MasterTerms(uint64 indexed strategyId, uint256 indexed nonce, MasterSignal master);
    /// @notice One per executed chunk of a master signal.
    event MasterExecuted(
        uint64 indexed strategyId,
        uint256 indexed nonce,
        bytes32 digest,
        address keeper,
        address tokenIn,
        address tokenOut,
        uint256 totalIn,
        uint256 totalOut,
        uint256 floorPrice,
        uint256 filled,
        uint256 skipped
    );
    /// @notice `follower` was left out of this trade; `reason` is its revert data (a named
    /// ICohortVault error such as CohortPaused, CohortRiskOff or CohortFillBelowTolerance). It may
    /// be tried again before the deadline.
    event FollowerSkipped(uint64 indexed strategyId, uint256 indexed nonce, address indexed follower, bytes reason);

    /// @notice Creates a strategy traded by `manager`; the caller owns it (may change the manager).
    function createStrategy(address manager, string calldata name) external returns (uint64 strategyId);

    /// @notice The strategy's owner sets a new manager (signals of the old one stop verifying).
    function setManager(uint64 strategyId, address manager) external;

    /// @notice The strategy's manager cancels signed master signals that have not run yet: the
    /// nonces `wordPos * 256 + i` for every bit i of `mask` (shares already filled stay filled).
    function cancelMasters(uint64 strategyId, uint256 wordPos, uint256 mask) external;

    /// @notice Whether the manager cancelled master nonce `nonce` of the strategy.
    function masterCancelled(uint64 strategyId, uint256 nonce) external view returns (bool);

    /// @notice Owner and manager of a strategy (zero addresses: no such strategy).
    function strategyOf(uint64 strategyId) external view returns (address owner, address manager);

    function strategyCount() external view returns (uint64);

    /// @notice Executes `m` for `followers`. Each follower checks the caller is one of its keepers.
    /// @param floorPrice The least output per input the block trade must return, in base units of
    /// tokenOut per base unit of tokenIn, 18 decimals (raw, not decimal-adjusted). A follower whose
    /// own minimum (limit, oracle bound, tolerance, loss budget) is above it is skipped; the trade
    /// reverts with StrategyBelowFloor if the pool pays less, so no follower ever fills below its
    /// own minimum. A keeper sets it from a simulation: an eth_call with a floor no pool can meet
    /// (say 2**128) includes every follower whose other checks pass and reverts with
    /// StrategyBelowFloor(totalIn, totalOut, ...), the block trade as it would be now.
    /// @return totalIn What the followers sold together.
    /// @return totalOut What the block trade returned, all of it paid to the followers.
    function executeMaster(
        MasterSignal calldata m,
        bytes calldata signature,
        address[] calldata followers,
        uint256 floorPrice
    ) external returns (uint256 totalIn, uint256 totalOut);

    /// @notice Whether `follower`'s share of master nonce `nonce` of the strategy has filled.
    function shareFilled(uint64 strategyId, address follower, uint256 nonce) external view returns (bool);

    /// @notice The EIP-712 digest the strategy's manager signs for `m`.
    function masterDigest(MasterSignal calldata m) external view returns (bytes32);

    function masterSignalTypehash() external pure returns (bytes32);
}

/// @title ICohortFollower
/// @notice The follower side of a vault (the CohortVaultFollower module, reached through the
/// vault's admin module): following a strategy, and the two steps of a bulk fill that only
/// CohortStrategies may call.
interface ICohortFollower {
    error CohortNotStrategies(address caller);
    error CohortNotFollowing(uint64 strategyId);
    /// @notice The keeper's floor gives less than this follower's own minimum (limit or oracle bound).
    error CohortFillBelowMinimum(uint256 floorOut, uint256 minOut);
    /// @notice The keeper's floor is further from the master's reference price than the tolerance.
    error CohortFillBelowTolerance(uint256 floorOut, uint256 toleranceOut);
    error CohortNoPendingFill();

    event StrategyFollowed(address indexed strategies, uint64 indexed strategyId, FollowRule rule);
    event StrategyUnfollowed(uint64 indexed strategyId);
    /// @notice This follower's allocation of master nonce `nonce`: what it trades now, the residual
    /// carried to its next trade of `tokenIn` and what its caps removed (scaled, Allocation.SCALE
    /// per base unit). Emitted for zero fills too (their residual still carries).
    event StrategyAllocated(
        uint64 indexed strategyId,
        uint256 indexed nonce,
        address tokenIn,
        uint256 amountIn,
        uint256 residual,
        uint256 capped
    );

    /// @notice Follows `strategyId` of the protocol's CohortStrategies with `rule` (owner only;
    /// waits behind the vault's timelock: the first call queues it, the same call once the delay
    /// has passed applies it). Replaces any strategy followed before.
    function followStrategy(uint64 strategyId, FollowRule calldata rule) external;

    /// @notice Stops following (owner or guardian; immediate, it only lowers risk).
    function unfollowStrategy() external;

    /// @notice The strategy followed (0: none), with its rule.
    function followState() external view returns (uint64 strategyId, FollowRule memory rule);

    /// @notice The residual carried for the next trade of `token` (scaled units).
    function residualOf(address token) external view returns (uint256);

    /// @notice CohortStrategies only: size this vault's share of `m`, run every check a signal
    /// runs (keeper, pause, risk-off, lists, oracle bound, size cap, loss budget at the floor, price
    /// tolerance) and send the input to CohortStrategies. Reverts with the named reason when a
    /// check fails (the caller skips this follower). Returns 0 for a share that rounds to no lot.
    function strategyPrepare(
        address keeper,
        MasterSignal calldata m,
        address[] calldata hops,
        uint256 floorPrice
    ) external returns (uint256 amountIn);

    /// @notice CohortStrategies only, after the block trade and after paying this vault its output:
    /// books the measured output, charges the loss against the oracle to the budget and emits
    /// TradeExecuted (with the master's digest and nonce).
    function strategySettle(bytes32 digest, address keeper, uint256 limitPrice) external returns (uint256 amountOut);
}
