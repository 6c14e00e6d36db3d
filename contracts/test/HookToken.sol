// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

interface ITransferHook {
    function onTransfer(address from, address to, uint256 amount) external;
}

/// @title HookToken
/// @notice Devnet-only ERC-20 that calls a hook on every transfer, like an ERC-777 token would:
/// the reentrancy tests use it as a vault's base asset. Open faucet; never deploy publicly.
contract HookToken is ERC20 {
    address public hook;

    constructor() ERC20("Hook USD (Cohort test)", "HUSD") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setHook(address hook_) external {
        hook = hook_;
    }

    function _update(address from, address to, uint256 amount) internal override {
        super._update(from, to, amount);
        if (hook != address(0) && from != address(0)) ITransferHook(hook).onTransfer(from, to, amount);
    }
}
