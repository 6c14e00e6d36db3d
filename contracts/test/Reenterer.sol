// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";

/// @title Reenterer
/// @notice Devnet-only transfer hook that tries to re-enter a vault in the middle of a token
/// transfer and records what it saw: the revert data of the attempt and the vault's views.
contract Reenterer {
    address public vault;
    bytes public attempt; // the call to try from inside the transfer
    bytes public lastError; // revert data of the last attempt ("" if it succeeded)
    bool public attempted;
    uint256 public seenTotalAssets;
    uint256 public seenTotalSupply;
    uint256 public seenConvert; // convertToAssets(1e18) mid-transfer

    function arm(address vault_, bytes calldata attempt_) external {
        vault = vault_;
        attempt = attempt_;
        attempted = false;
    }

    function onTransfer(address, address, uint256) external {
        if (vault == address(0) || attempted) return;
        attempted = true;
        seenTotalAssets = IERC4626(vault).totalAssets();
        seenTotalSupply = IERC4626(vault).totalSupply();
        seenConvert = IERC4626(vault).convertToAssets(1e18);
        (bool ok, bytes memory out) = vault.call(attempt);
        lastError = ok ? bytes("") : out;
    }
}
