// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {CohortNotDelegated} from "../interfaces/ICohortVault.sol";

/// @title Modules
/// @notice How a vault reaches its modules (the vault's fallback to CohortVaultAdmin, the admin
/// module's fallback to CohortVaultFollower): the whole call is run in `module` with DELEGATECALL,
/// in the caller's storage, and answered or reverted with exactly what the module returned.
library Modules {
    /// @dev Never returns to the caller: it ends the call with the module's return or revert data.
    function forward(address module) internal {
        assembly ("memory-safe") {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), module, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }
}

/// @title DelegatedModule
/// @notice What every vault module (CohortVaultAdmin, CohortVaultFollower) shares: its writes only
/// make sense in a vault's context (reached by DELEGATECALL), never on the module's own address.
abstract contract DelegatedModule {
    address private immutable _self = address(this);

    modifier onlyDelegated() {
        if (address(this) == _self) revert CohortNotDelegated();
        _;
    }
}
