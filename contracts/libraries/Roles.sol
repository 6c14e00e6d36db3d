// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ICohortVault, CohortNotOwner} from "../interfaces/ICohortVault.sol";
import {Redemptions} from "./Redemptions.sol";
import {VaultStorage} from "./VaultStorage.sol";

/// @title Roles
/// @notice Every check of who may call what, for CohortVault and CohortVaultAdmin alike. Owner:
/// governance; manager: signs signals; keepers: relay signals and run settlement duties;
/// guardian: pauses and revokes; a controller (or its operator) manages its redemption request.
library Roles {
    function checkOwner(VaultStorage.Layout storage $) internal view {
        if (msg.sender != $.owner) revert CohortNotOwner(msg.sender);
    }

    function checkManager(VaultStorage.Layout storage $) internal view {
        if (msg.sender != $.manager) revert ICohortVault.CohortNotManager(msg.sender);
    }

    function checkKeeper(VaultStorage.Layout storage $) internal view {
        if (!$.keepers[msg.sender]) revert ICohortVault.CohortNotKeeper(msg.sender);
    }

    /// @notice Settling or unwinding for an epoch: keepers only, until the epoch has been `due`
    /// (matured at `maturesAt`) for SETTLE_GRACE; then anyone, so investors can leave without a keeper.
    function checkKeeperOrOverdue(VaultStorage.Layout storage $, bool due, uint256 maturesAt) internal view {
        if (!$.keepers[msg.sender] && (!due || block.timestamp < maturesAt + Redemptions.SETTLE_GRACE)) {
            revert ICohortVault.CohortNotKeeper(msg.sender);
        }
    }

    /// @notice The guardian may pause; the owner may pause and resume.
    function checkPauser(VaultStorage.Layout storage $, bool paused) internal view {
        if (msg.sender != $.owner && (msg.sender != $.guardian || !paused)) {
            revert ICohortVault.CohortNotGuardian(msg.sender);
        }
    }

    function checkOwnerOrGuardian(VaultStorage.Layout storage $) internal view {
        if (msg.sender != $.owner && msg.sender != $.guardian) revert ICohortVault.CohortNotGuardian(msg.sender);
    }

    /// @notice Whether the sender is `controller` or an operator it has approved (ERC-7540).
    function isControllerOrOperator(VaultStorage.Layout storage $, address controller) internal view returns (bool) {
        return msg.sender == controller || $.operators[controller][msg.sender];
    }

    function checkControllerOrOperator(VaultStorage.Layout storage $, address controller) internal view {
        if (!isControllerOrOperator($, controller)) {
            revert ICohortVault.CohortNotControllerOrOperator(msg.sender, controller);
        }
    }
}
