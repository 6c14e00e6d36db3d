// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IERC7540Redeem} from "../interfaces/IERC7540.sol";

/// @dev A controller of its own: created holding shares, it requests their redemption for itself
/// (a vault only lets a request name a controller that consents).
contract SelfRequester {
    constructor() {
        (IERC7540Redeem vault, uint256 shares) = RequestBatcher(msg.sender).job();
        vault.requestRedeem(shares, address(this), address(this));
    }
}

/// @title RequestBatcher
/// @notice Devnet-only: files many redemption requests in one transaction, each by its own
/// controller (a SelfRequester created with CREATE2), from one owner's shares (the owner approves
/// this contract). Used to show that settlement gas does not grow with the number of requests.
/// Never deploy it on a public network.
contract RequestBatcher {
    IERC7540Redeem private _vault;
    uint256 private _shares;

    /// @notice The `index`-th controller of `seed` (created by requestMany).
    function controller(bytes32 seed, uint256 index) public view returns (address) {
        bytes32 h = keccak256(
            abi.encodePacked(bytes1(0xff), address(this), _salt(seed, index), keccak256(type(SelfRequester).creationCode))
        );
        return address(uint160(uint256(h)));
    }

    /// @notice The request the SelfRequester being created files.
    function job() external view returns (IERC7540Redeem, uint256) {
        return (_vault, _shares);
    }

    /// @notice Requests `sharesEach` by controllers [from, to) of `seed`, from `owner`'s shares.
    function requestMany(IERC7540Redeem vault, address owner, bytes32 seed, uint256 from, uint256 to, uint256 sharesEach)
        external
    {
        (_vault, _shares) = (vault, sharesEach);
        for (uint256 i = from; i < to; ++i) {
            // slither-disable-next-line unchecked-transfer
            IERC20(address(vault)).transferFrom(owner, controller(seed, i), sharesEach);
            new SelfRequester{salt: _salt(seed, i)}();
        }
    }

    function _salt(bytes32 seed, uint256 index) private pure returns (bytes32) {
        return keccak256(abi.encode("cohort.request", seed, index));
    }
}
