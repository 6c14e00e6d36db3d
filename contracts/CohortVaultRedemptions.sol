// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {ICohortVault} from "./interfaces/ICohortVault.sol";
import {IERC7540Operator, IERC7540Redeem, IERC7575} from "./interfaces/IERC7540.sol";
import {Redemptions} from "./libraries/Redemptions.sol";
import {Roles} from "./libraries/Roles.sol";
import {VaultStorage} from "./libraries/VaultStorage.sol";

/// @title CohortVaultRedemptions
/// @notice The investor's side of ERC-7540 in CohortVault: redemption requests into the open
/// epoch, cancellation, operators, and claims of settled redemptions (ERC-4626 redeem/withdraw).
/// Settlement, which prices and pays the epochs, is CohortVault's; the queue's rules are in
/// Redemptions. Split from CohortVault for size of source only: one contract is deployed.
abstract contract CohortVaultRedemptions is
    ICohortVault,
    IERC7540Redeem,
    IERC7540Operator,
    IERC7575,
    IERC165,
    ERC4626,
    ReentrancyGuardTransient
{
    using Math for uint256;
    using SafeERC20 for IERC20;
    using Redemptions for VaultStorage.Layout;
    using Roles for VaultStorage.Layout;

    bytes4 internal constant ERC7575_INTERFACE_ID = 0x2f0a18c5;

    /// @inheritdoc ICohortVault
    function currentEpoch() public view virtual override returns (uint256);

    // ================================================================ ERC-7540: requests

    /// @inheritdoc IERC7540Redeem
    /// @dev Requests join the open epoch; all requests of a controller are aggregated
    /// (requestId 0). A controller with an unsettled request in an older epoch must wait for it
    /// or cancel it first, so nobody can move another investor's place in the queue. A controller
    /// other than `owner_` must be the sender or have made the sender its operator.
    function requestRedeem(uint256 shares, address controller, address owner_)
        external
        nonReentrant
        returns (uint256 requestId)
    {
        if (shares == 0) revert CohortZeroShares();
        if (controller == address(0)) revert CohortZeroAddress();
        VaultStorage.Layout storage $ = VaultStorage.layout();
        // naming another controller needs its consent (the sender is it or its operator): a request
        // forced on someone would block their own until they cancel it
        if (controller != owner_) $.checkControllerOrOperator(controller);
        if (!$.isControllerOrOperator(owner_)) _spendAllowance(owner_, msg.sender, shares);
        uint256 epoch = currentEpoch();
        VaultStorage.Request memory req = $.checkpoint(controller);
        if (req.units != 0 && req.epoch != epoch) revert CohortRequestPending(controller, req.epoch);
        _transfer(owner_, address(this), shares); // escrow: the shares stay in supply
        $.join(controller, req, epoch, shares);
        emit RedeemRequest(controller, owner_, 0, msg.sender, shares);
        emit RedeemRequestQueued(controller, epoch, shares);
        return 0;
    }

    /// @inheritdoc ICohortVault
    function cancelRedeemRequest(address controller) external nonReentrant returns (uint256 shares) {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        $.checkControllerOrOperator(controller);
        uint256 epoch;
        (epoch, shares) = $.leave(controller);
        _transfer(address(this), controller, shares);
        emit RedeemRequestCanceled(controller, epoch, shares);
    }

    /// @inheritdoc IERC7540Redeem
    function pendingRedeemRequest(uint256, address controller) external view returns (uint256) {
        return VaultStorage.layout().pendingOf(controller);
    }

    /// @inheritdoc IERC7540Redeem
    function claimableRedeemRequest(uint256, address controller) external view returns (uint256 claimableShares) {
        (claimableShares,) = VaultStorage.layout().claimableOf(controller);
    }

    /// @inheritdoc IERC7540Operator
    function setOperator(address operator, bool approved) external returns (bool) {
        VaultStorage.layout().operators[msg.sender][operator] = approved;
        emit OperatorSet(msg.sender, operator, approved);
        return true;
    }

    /// @inheritdoc IERC7540Operator
    function isOperator(address controller, address operator) external view returns (bool) {
        return VaultStorage.layout().operators[controller][operator];
    }

    /// @inheritdoc IERC7575
    function share() external view returns (address) {
        return address(this);
    }

    /// @dev ERC-7575's id covers every ERC-4626 function plus share(), hence a constant.
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC165).interfaceId || interfaceId == type(IERC7540Redeem).interfaceId
            || interfaceId == type(IERC7540Operator).interfaceId || interfaceId == ERC7575_INTERFACE_ID;
    }

    // ================================================================ ERC-7540: claims

    /// @notice Claims `shares` of `controller`'s settled redemptions for their assets. Works while paused.
    function redeem(uint256 shares, address receiver, address controller)
        public
        override
        nonReentrant
        returns (uint256 assets)
    {
        VaultStorage.Claimable memory c = _openClaim(controller);
        if (shares == 0) revert CohortZeroShares();
        if (shares > c.shares) revert CohortExceedsClaimable(controller, shares, c.shares);
        assets = shares == c.shares ? c.assets : uint256(c.assets).mulDiv(shares, c.shares, Math.Rounding.Floor);
        _payClaim(controller, receiver, shares, assets, c);
    }

    /// @notice Claims `assets` of `controller`'s settled redemptions. Works while paused.
    function withdraw(uint256 assets, address receiver, address controller)
        public
        override
        nonReentrant
        returns (uint256 shares)
    {
        VaultStorage.Claimable memory c = _openClaim(controller);
        if (assets == 0) revert CohortZeroAmount();
        if (assets > c.assets) revert CohortExceedsClaimable(controller, assets, c.assets);
        shares = assets == c.assets ? c.shares : uint256(c.shares).mulDiv(assets, c.assets, Math.Rounding.Ceil);
        _payClaim(controller, receiver, shares, assets, c);
    }

    function _openClaim(address controller) private returns (VaultStorage.Claimable memory) {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        $.checkControllerOrOperator(controller);
        $.checkpoint(controller);
        return $.claimable[controller];
    }

    function _payClaim(
        address controller,
        address receiver,
        uint256 shares,
        uint256 assets,
        VaultStorage.Claimable memory c
    ) private {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        $.claimable[controller] = VaultStorage.Claimable(c.shares - uint128(shares), c.assets - uint128(assets));
        $.reserved -= assets;
        IERC20(asset()).safeTransfer(receiver, assets);
        emit Withdraw(msg.sender, receiver, controller, assets, shares);
    }
}
