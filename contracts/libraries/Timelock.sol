// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ICohortVault} from "../interfaces/ICohortVault.sol";
import {VaultStorage} from "./VaultStorage.sol";

/// @title Timelock
/// @notice Risk-raising changes run twice: the first call records keccak256(msg.data) with the
/// time it becomes valid, and the very same call after the timelock applies it. Changes that do
/// not raise risk apply at once. Shared by CohortVault and CohortVaultAdmin (msg.data is the
/// original call in both, since the vault forwards its calldata unchanged). A change not applied
/// within GRACE of becoming valid expires: the late call queues it afresh instead of applying it,
/// so nobody can leave a change waiting for a moment when investors are not watching.
library Timelock {
    uint256 internal constant GRACE = 14 days;

    function ready(VaultStorage.Layout storage $, bool riskRaising) internal returns (bool) {
        uint256 delay = $.queue.timelock;
        if (!riskRaising || delay == 0) return true;
        bytes32 id = keccak256(msg.data);
        uint256 validAt = $.pendingChanges[id];
        if (validAt != 0) {
            if (block.timestamp < validAt) revert ICohortVault.CohortTimelockPending(id, validAt);
            if (block.timestamp <= validAt + GRACE) {
                delete $.pendingChanges[id];
                return true;
            }
            emit ICohortVault.ChangeExpired(id, validAt);
        }
        validAt = block.timestamp + delay;
        $.pendingChanges[id] = validAt;
        emit ICohortVault.ChangeSubmitted(id, msg.data, validAt);
        return false;
    }
}
