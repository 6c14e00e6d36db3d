// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {EpochState} from "../interfaces/ICohortVault.sol";
import {RAY} from "./Constants.sol";
import {VaultStorage} from "./VaultStorage.sol";

/// @title Redemptions
/// @notice What each redemption request has received. Every request of an epoch gets the same
/// fraction: a request of `units` shares has had `units - floor(units * r)` shares settled and
/// `floor(units * alpha)` assets reserved, where `r` (remaining fraction) and `alpha` (assets per
/// requested share) are the epoch's cumulative figures, both scaled by RAY.
library Redemptions {
    using Math for uint256;

    /// @notice After an epoch has been matured this long, anyone may unwind for it and settle it.
    uint256 internal constant SETTLE_GRACE = 7 days;

    function settledOf(uint256 units, uint256 remainingRay, uint256 assetsPerUnitRay)
        internal
        pure
        returns (uint256 shares, uint256 assets)
    {
        shares = units - units.mulDiv(remainingRay, RAY, Math.Rounding.Floor);
        assets = units.mulDiv(assetsPerUnitRay, RAY, Math.Rounding.Floor);
    }

    /// @notice Shares still waiting in `controller`'s request.
    function pendingOf(VaultStorage.Layout storage $, address controller) internal view returns (uint256) {
        VaultStorage.Request memory req = $.requests[controller];
        if (req.units == 0) return 0;
        return uint256(req.units).mulDiv($.epochs[req.epoch].remainingRay, RAY, Math.Rounding.Floor);
    }

    /// @notice Claimable shares and assets of `controller`, including settlements not yet checkpointed.
    function claimableOf(VaultStorage.Layout storage $, address controller)
        internal
        view
        returns (uint256 shares, uint256 assets)
    {
        VaultStorage.Claimable memory c = $.claimable[controller];
        shares = c.shares;
        assets = c.assets;
        VaultStorage.Request memory req = $.requests[controller];
        if (req.units != 0) {
            EpochState storage ep = $.epochs[req.epoch];
            (uint256 s, uint256 a) = settledOf(req.units, ep.remainingRay, ep.assetsPerUnitRay);
            shares += s - req.creditedShares;
            assets += a - req.creditedAssets;
        }
    }

    /// @notice Moves what settlements paid to `controller`'s request into its claimable balance;
    /// returns the request as it stands afterwards (all zero once fully settled).
    function checkpoint(VaultStorage.Layout storage $, address controller)
        internal
        returns (VaultStorage.Request memory req)
    {
        req = $.requests[controller];
        if (req.units == 0) return req;
        EpochState storage ep = $.epochs[req.epoch];
        (uint256 shares, uint256 assets) = settledOf(req.units, ep.remainingRay, ep.assetsPerUnitRay);
        if (shares == req.creditedShares && assets == req.creditedAssets) return req;
        VaultStorage.Claimable storage c = $.claimable[controller];
        c.shares += uint128(shares - req.creditedShares);
        c.assets += uint128(assets - req.creditedAssets);
        if (shares == req.units) {
            delete $.requests[controller];
            return VaultStorage.Request(0, 0, 0, 0);
        }
        req.creditedShares = uint128(shares);
        req.creditedAssets = uint128(assets);
        $.requests[controller] = req;
    }
}
