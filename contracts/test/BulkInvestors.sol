// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";

/// @title BulkInvestors
/// @notice Devnet-only load generator for the indexer benchmark (scripts/bench_api.py): many
/// deposits and share transfers in one transaction, for thousands of synthetic investors whose
/// addresses derive from a seed. It spends the base asset it holds (fund it with the test
/// token's open faucet). Never deploy it on a public network.
contract BulkInvestors {
    /// @notice The `index`-th synthetic investor of `seed`.
    function investor(bytes32 seed, uint256 index) public pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encode(seed, index)))));
    }

    /// @notice Deposits `assets` into `vault` for each investor in [from, to) of `seed`.
    function depositFor(IERC4626 vault, bytes32 seed, uint256 from, uint256 to, uint256 assets) external {
        IERC20 asset = IERC20(vault.asset());
        if (asset.allowance(address(this), address(vault)) < assets * (to - from)) {
            asset.approve(address(vault), type(uint256).max);
        }
        for (uint256 i = from; i < to; ++i) {
            vault.deposit(assets, investor(seed, i));
        }
    }

    /// @notice Deposits `assets` into `vault` for this contract (shares to spread afterwards).
    function depositSelf(IERC4626 vault, uint256 assets) external returns (uint256 shares) {
        IERC20(vault.asset()).approve(address(vault), type(uint256).max);
        shares = vault.deposit(assets, address(this));
    }

    /// @notice `count` share transfers of `shares` each from this contract, round-robin over the
    /// first `investors` investors of `seed`, starting at transfer number `start`.
    function spread(IERC20 vault, bytes32 seed, uint256 start, uint256 count, uint256 investors, uint256 shares)
        external
    {
        for (uint256 i = start; i < start + count; ++i) {
            vault.transfer(investor(seed, i % investors), shares);
        }
    }
}
