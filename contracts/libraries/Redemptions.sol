// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {ICohortVault, EpochState} from "../interfaces/ICohortVault.sol";
import {Accounting} from "./Accounting.sol";
import {BPS, RAY} from "./Constants.sol";
import {VaultStorage} from "./VaultStorage.sol";

/// @title Redemptions
/// @notice What each redemption request has received. Every request of an epoch gets the same
/// fraction: a request of `units` shares has had `units - floor(units * r)` shares settled and
/// `floor(units * alpha)` assets reserved, where `r` (remaining fraction) and `alpha` (assets per
/// requested share) are the epoch's cumulative figures, both scaled by RAY. Also the queue of
/// epochs, the gate and one settlement round: the rules CohortVault and its admin module share.
library Redemptions {
    using Math for uint256;
    using SafeCast for uint256;

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

    // ================================================================ the queue

    /// @notice Adds `shares` to `controller`'s request `req` (checkpointed: empty or of this
    /// epoch) in the open `epoch`, linking the epoch into the queue on its first request.
    function join(
        VaultStorage.Layout storage $,
        address controller,
        VaultStorage.Request memory req,
        uint256 epoch,
        uint256 shares
    ) internal {
        EpochState storage ep = $.epochs[epoch];
        if (ep.remainingRay == 0) {
            // first request of the (open, never settled) epoch: link it into the queue
            ep.remainingRay = uint128(RAY);
            VaultStorage.Queue memory q = $.queue;
            if (q.tail != 0) $.epochs[q.tail].next = uint64(epoch);
            if (q.head == 0) q.head = uint64(epoch);
            q.tail = uint64(epoch);
            $.queue = q;
        }
        ep.units += shares.toUint128();
        ep.escrow += shares.toUint128();
        $.requests[controller] = VaultStorage.Request(uint64(epoch), req.units + shares.toUint128(), 0, 0);
    }

    /// @notice Removes the unsettled part of `controller`'s request from its epoch; returns the
    /// epoch and the escrowed shares to give back.
    function leave(VaultStorage.Layout storage $, address controller) internal returns (uint256 epoch, uint256 shares) {
        VaultStorage.Request memory req = checkpoint($, controller);
        shares = req.units - req.creditedShares; // the unsettled part
        if (req.units == 0 || shares == 0) revert ICohortVault.CohortNothingToCancel(controller);
        epoch = req.epoch;
        EpochState storage ep = $.epochs[epoch];
        ep.units -= req.units;
        uint128 escrow = ep.escrow - uint128(shares);
        if (ep.units == 0) {
            shares += escrow; // rounding dust of an emptied epoch goes to its last member
            escrow = 0;
        }
        ep.escrow = escrow;
        delete $.requests[controller];
    }

    // ================================================================ the gate

    /// @notice What one gate window may pay: gateBps of NAV, rounded up so a wei-sized NAV still pays.
    function gateAllowance(uint256 nav, uint16 gateBps) internal pure returns (uint256) {
        return nav.mulDiv(gateBps, BPS, Math.Rounding.Ceil);
    }

    /// @notice Whether the gate limits a round of `escrow` shares out of `supply`. It protects
    /// those who stay: when every share is redeeming nobody stays (and a fractional gate would
    /// never finish paying a vault that everyone leaves).
    function isGated(uint256 escrow, uint256 supply) internal pure returns (bool) {
        return escrow != supply;
    }

    /// @notice What the current gate window (one epoch length) may still pay; `opened` when the
    /// last window has run out of time and a new one worth gateAllowance(nav) starts now (the
    /// caller stores it).
    function gateRemaining(VaultStorage.Layout storage $, uint256 nav, uint256 epochLength)
        internal
        view
        returns (uint256 remaining, bool opened)
    {
        VaultStorage.Gate memory g = $.gate;
        if (block.timestamp >= g.windowStart + epochLength) return (gateAllowance(nav, $.queue.gateBps), true);
        return (g.remaining, false);
    }

    // ================================================================ settlement

    /// @notice One pro-rata round: pays the whole epoch if the gate and the free base asset
    /// (`baseFree`) allow, else the same fraction of every request in it. Gas is independent of
    /// the number of requests. Writes the gate; the caller writes the epoch, holdings and supply.
    function settleRound(
        VaultStorage.Layout storage $,
        EpochState memory ep,
        uint256 nav,
        uint256 supply,
        uint256 baseFree,
        uint256 epochLength
    ) internal returns (uint256 burned, uint256 assets, EpochState memory) {
        uint256 value = Accounting.toAssets(ep.escrow, nav, supply, Math.Rounding.Floor);
        bool gated = isGated(ep.escrow, supply);
        uint256 budget = value;
        if (gated) {
            bool opened;
            (budget, opened) = gateRemaining($, nav, epochLength);
            if (opened) $.gate = VaultStorage.Gate(uint64(block.timestamp), budget.toUint128());
        }
        uint256 pay = Math.min(Math.min(value, budget), baseFree);
        // the gate window is spent, or the keeper has not raised the base asset yet; an escrow worth
        // nothing (dust) settles whole for nothing, so it can never hold up the epochs behind it
        if (pay == 0 && value != 0) revert ICohortVault.CohortNoSettlementCapacity(budget, baseFree);
        if (pay == value) {
            (burned, assets) = (ep.escrow, value);
            ep.remainingRay = 0;
        } else {
            // shares worth at most `pay`; the fraction left to each request shrinks accordingly,
            // and escrow keeps ceil(units * r) so every request's remainder stays covered.
            uint256 target = Accounting.toShares(pay, nav, supply, Math.Rounding.Floor);
            ep.remainingRay = uint256(ep.remainingRay).mulDiv(ep.escrow - target, ep.escrow).toUint128();
            burned = ep.escrow - uint256(ep.units).mulDiv(ep.remainingRay, RAY, Math.Rounding.Ceil);
            assets = Math.min(Accounting.toAssets(burned, nav, supply, Math.Rounding.Floor), pay);
            if (burned == 0) revert ICohortVault.CohortNothingToSettle();
        }
        ep.escrow -= uint128(burned);
        ep.assetsPerUnitRay += assets.mulDiv(RAY, ep.units, Math.Rounding.Floor);
        // a round the gate limited uses the window up (rounding must not leave wei-sized rounds)
        if (gated) $.gate.remaining = pay == budget ? 0 : uint128(budget - assets);
        return (burned, assets, ep);
    }
}
