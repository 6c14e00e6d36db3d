// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

import {ICohortVault} from "./ICohortVault.sol";
import {ICohortFollower} from "./ICohortStrategies.sol";
import {ICohortVaultAdmin} from "./ICohortVaultAdmin.sol";
import {IERC7540Operator, IERC7540Redeem, IERC7575} from "./IERC7540.sol";

/// @title ICohort
/// @notice Everything callable on a Cohort vault's address, in one interface: ERC-4626 (deposits,
/// claims), ERC-7540 (redemption requests, operators), ERC-7575, ERC-165, the vault's own
/// functions (ICohortVault, served by CohortVault) and governance, risk operations and read-outs
/// (ICohortVaultAdmin, served by the CohortVaultAdmin module through the vault's fallback) and
/// the MAM follower side (ICohortFollower, served by the CohortVaultFollower module through the
/// admin module's fallback).
/// Errors and events: ICohortVault.sol.
interface ICohort is
    ICohortVault,
    ICohortVaultAdmin,
    ICohortFollower,
    IERC4626,
    IERC7540Redeem,
    IERC7540Operator,
    IERC7575,
    IERC165
{}
