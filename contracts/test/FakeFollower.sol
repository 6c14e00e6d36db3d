// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MasterSignal} from "../interfaces/ICohortStrategies.sol";

/// @notice Test only: a "follower" that claims an input it never sends, to prove that
/// CohortStrategies measures what arrived instead of trusting a follower's word.
contract FakeFollower {
    uint256 public immutable claimed;

    constructor(uint256 claimed_) {
        claimed = claimed_;
    }

    function strategyPrepare(address, MasterSignal calldata, address[] calldata, uint256)
        external
        view
        returns (uint256)
    {
        return claimed;
    }

    function strategySettle(bytes32, address, uint256) external pure returns (uint256) {
        return 0;
    }
}
