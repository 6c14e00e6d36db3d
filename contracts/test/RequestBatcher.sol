// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC7540Redeem} from "../interfaces/IERC7540.sol";

/// @title RequestBatcher
/// @notice Devnet-only: files many redemption requests in one transaction, each for its own
/// controller, from one owner's shares (the owner approves this contract). Used to show that
/// settlement gas does not grow with the number of requests. Never deploy it on a public network.
contract RequestBatcher {
    /// @notice The `index`-th controller of `seed`.
    function controller(bytes32 seed, uint256 index) public pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encode("cohort.request", seed, index)))));
    }

    /// @notice Requests `sharesEach` for controllers [from, to) of `seed`, from `owner`'s shares.
    function requestMany(IERC7540Redeem vault, address owner, bytes32 seed, uint256 from, uint256 to, uint256 sharesEach)
        external
    {
        for (uint256 i = from; i < to; ++i) {
            vault.requestRedeem(sharesEach, controller(seed, i), owner);
        }
    }
}
