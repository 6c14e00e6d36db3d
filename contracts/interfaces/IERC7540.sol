// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ERC-7540 (asynchronous redemption side) and ERC-7575 share lookup
/// @dev Interface ids: IERC7540Operator 0xe3bc4e65, IERC7540Redeem 0x620ee8e4, IERC7575 0x2f0a18c5.
interface IERC7540Operator {
    event OperatorSet(address indexed controller, address indexed operator, bool approved);

    /// @notice Grants or revokes `operator` the right to manage requests for `msg.sender`.
    function setOperator(address operator, bool approved) external returns (bool);

    function isOperator(address controller, address operator) external view returns (bool status);
}

interface IERC7540Redeem {
    event RedeemRequest(
        address indexed controller, address indexed owner, uint256 indexed requestId, address sender, uint256 shares
    );

    /// @notice Moves `shares` from `owner` into escrow as a redemption request managed by `controller`.
    function requestRedeem(uint256 shares, address controller, address owner) external returns (uint256 requestId);

    function pendingRedeemRequest(uint256 requestId, address controller) external view returns (uint256 pendingShares);

    function claimableRedeemRequest(uint256 requestId, address controller)
        external
        view
        returns (uint256 claimableShares);
}

/// @dev Only share() is declared here; ERC-7575's interface id (0x2f0a18c5) also covers every
/// ERC-4626 function, which the vault has through ERC4626.
interface IERC7575 {
    function share() external view returns (address);
}
