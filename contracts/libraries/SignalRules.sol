// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {ICohortVault} from "../interfaces/ICohortVault.sol";
import {ISwapAdapter} from "../interfaces/ISwapAdapter.sol";
import {Accounting} from "./Accounting.sol";
import {BPS, WAD} from "./Constants.sol";
import {SignalLib, TradeSignal} from "./SignalLib.sol";
import {VaultStorage} from "./VaultStorage.sol";

/// @title SignalRules
/// @notice What a trade signal must satisfy in a vault: its signer, its one-time nonce, its
/// fields against the vault's lists and limits, its size and its minimum output.
library SignalRules {
    using Math for uint256;

    // ================================================================ signer and nonces

    /// @dev ECDSA first (no malleable signatures); ERC-1271 when the manager is a contract.
    function checkSigner(address signer, bytes32 digest, bytes calldata signature) internal view {
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == signer) return;
        if (signer.code.length == 0 || !SignatureChecker.isValidERC1271SignatureNowCalldata(signer, digest, signature))
        {
            revert ICohortVault.CohortInvalidSignature();
        }
    }

    /// @notice Marks `nonce` used (bit `nonce & 255` of word `nonce >> 8`); reverts if it already was.
    function useNonce(VaultStorage.Layout storage $, uint256 nonce) internal {
        uint256 bit = 1 << (nonce & 0xff);
        uint256 flipped = $.nonceBitmap[nonce >> 8] ^= bit;
        if (flipped & bit == 0) revert ICohortVault.CohortNonceUsed(nonce);
    }

    function nonceUsed(VaultStorage.Layout storage $, uint256 nonce) internal view returns (bool) {
        return $.nonceBitmap[nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    /// @notice Marks the bits of `mask` in nonce word `wordPos` as used.
    function invalidateNonces(VaultStorage.Layout storage $, uint256 wordPos, uint256 mask) internal {
        $.nonceBitmap[wordPos] |= mask;
        emit ICohortVault.NoncesInvalidated(wordPos, mask);
    }

    // ================================================================ fields, size, minimum

    function checkSignal(VaultStorage.Layout storage $, TradeSignal calldata s, uint16 maxSlippageBps) internal view {
        checkTrade($, s.tokenIn, s.tokenOut, s.adapter);
        checkHops($, ISwapAdapter(s.adapter).validatePath(s.tokenIn, s.tokenOut, s.path));
        if (s.sizeMode > SignalLib.SIZE_OF_NAV || s.sizeBps == 0 || s.sizeBps > BPS) {
            revert ICohortVault.CohortInvalidSize(s.sizeMode, s.sizeBps);
        }
        if (s.limitPrice == 0) revert ICohortVault.CohortZeroLimitPrice();
        checkSlippage(s.maxSlippageBps, maxSlippageBps);
    }

    /// @notice What any trade of the vault (a signal or its share of a master signal) must satisfy
    /// first: two different listed tokens and an allowed adapter.
    function checkTrade(VaultStorage.Layout storage $, address tokenIn, address tokenOut, address adapter)
        internal
        view
    {
        if (tokenIn == tokenOut) revert ICohortVault.CohortSameToken(tokenIn);
        if (!$.assets[tokenIn].listed) revert ICohortVault.CohortAssetNotListed(tokenIn);
        if (!$.assets[tokenOut].listed) revert ICohortVault.CohortAssetNotListed(tokenOut);
        if (!$.adapters[adapter]) revert ICohortVault.CohortAdapterNotAllowed(adapter);
    }

    /// @notice Every token a route passes through (`hops`, as the adapter's validatePath returned
    /// them) is one the vault lists: no detour through pools the manager controls.
    function checkHops(VaultStorage.Layout storage $, address[] memory hops) internal view {
        for (uint256 i; i < hops.length; ++i) {
            if (!$.assets[hops[i]].listed) revert ICohortVault.CohortRouteTokenNotListed(hops[i]);
        }
    }

    /// @notice A trade's slippage bound is set and within the vault's own.
    function checkSlippage(uint16 slippageBps, uint16 maxSlippageBps) internal pure {
        if (slippageBps == 0 || slippageBps > maxSlippageBps) {
            revert ICohortVault.CohortSlippageOutOfRange(slippageBps, maxSlippageBps);
        }
    }

    /// @notice The signal's size applied to this vault, capped at what it holds of tokenIn.
    function amountIn(TradeSignal calldata s, Accounting.Valuation memory v) internal pure returns (uint256 amount) {
        if (s.sizeMode == SignalLib.SIZE_OF_HOLDINGS) {
            amount = v.heldIn.mulDiv(s.sizeBps, BPS);
        } else if (v.heldInValue != 0) {
            // a fraction of NAV, in tokenIn at the oracle price of the holding
            amount = v.nav.mulDiv(s.sizeBps, BPS).mulDiv(v.heldIn, v.heldInValue);
            if (amount > v.heldIn) amount = v.heldIn;
        }
        if (amount == 0) revert ICohortVault.CohortZeroAmount();
    }

    /// @notice The vault's oracle reference for selling `amount` of tokenIn (`oracleOut`, in
    /// tokenOut, at the better for the vault of TWAP and spot) and its value in the base asset
    /// (`valueIn`); reverts with CohortTradeTooLarge when that value is above maxTradeBps of NAV.
    /// Oracle prices are linear in the amount, so both scale the quotes of the whole holding.
    function oracleReference(Accounting.Valuation memory v, uint256 amount, uint16 maxTradeBps)
        internal
        pure
        returns (uint256 oracleOut, uint256 valueIn)
    {
        oracleOut = Accounting.betterOut(v.heldInQuote, v.quoteDeviation).mulDiv(amount, v.heldIn);
        valueIn = v.heldInValue.mulDiv(amount, v.heldIn, Math.Rounding.Ceil);
        uint256 maxValue = v.nav.mulDiv(maxTradeBps, BPS);
        if (valueIn > maxValue) revert ICohortVault.CohortTradeTooLarge(valueIn, maxValue);
    }

    /// @notice What a fill of `amountOut` lost against the oracle's `oracleOut`, valued in the base
    /// asset at the input's value `valueIn` (rounded up: the budget is charged at least the loss).
    function lossOf(uint256 amountOut, uint256 oracleOut, uint256 valueIn) internal pure returns (uint256) {
        return amountOut >= oracleOut ? 0 : (oracleOut - amountOut).mulDiv(valueIn, oracleOut, Math.Rounding.Ceil);
    }

    /// @notice `amount` of tokenIn at `price` (whole tokenOut per whole tokenIn, 18 decimals), in
    /// base units of tokenOut, rounded up (a minimum).
    function atPrice(VaultStorage.Layout storage $, address tokenIn, address tokenOut, uint256 price, uint256 amount)
        internal
        view
        returns (uint256)
    {
        return amount.mulDiv(
            price * 10 ** $.assets[tokenOut].decimals, WAD * 10 ** $.assets[tokenIn].decimals, Math.Rounding.Ceil
        );
    }

    /// @notice The stricter of the signed limit price and the oracle's price less the signed slippage.
    function minOut(
        VaultStorage.Layout storage $,
        address tokenIn,
        address tokenOut,
        uint256 limitPrice,
        uint16 slippageBps,
        uint256 amount,
        uint256 oracleOut
    ) internal view returns (uint256 minimum) {
        minimum = Math.max(
            atPrice($, tokenIn, tokenOut, limitPrice, amount),
            oracleOut.mulDiv(BPS - slippageBps, BPS, Math.Rounding.Ceil)
        );
        if (minimum == 0) revert ICohortVault.CohortZeroMinimum();
    }
}
