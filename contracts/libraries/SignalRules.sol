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
        if (s.tokenIn == s.tokenOut) revert ICohortVault.CohortSameToken(s.tokenIn);
        if (!$.assets[s.tokenIn].listed) revert ICohortVault.CohortAssetNotListed(s.tokenIn);
        if (!$.assets[s.tokenOut].listed) revert ICohortVault.CohortAssetNotListed(s.tokenOut);
        if (!$.adapters[s.adapter]) revert ICohortVault.CohortAdapterNotAllowed(s.adapter);
        // every token a route passes through is one the vault lists: no detour through pools the
        // manager controls
        address[] memory hops = ISwapAdapter(s.adapter).validatePath(s.tokenIn, s.tokenOut, s.path);
        for (uint256 i; i < hops.length; ++i) {
            if (!$.assets[hops[i]].listed) revert ICohortVault.CohortRouteTokenNotListed(hops[i]);
        }
        if (s.sizeMode > SignalLib.SIZE_OF_NAV || s.sizeBps == 0 || s.sizeBps > BPS) {
            revert ICohortVault.CohortInvalidSize(s.sizeMode, s.sizeBps);
        }
        if (s.limitPrice == 0) revert ICohortVault.CohortZeroLimitPrice();
        if (s.maxSlippageBps == 0 || s.maxSlippageBps > maxSlippageBps) {
            revert ICohortVault.CohortSlippageOutOfRange(s.maxSlippageBps, maxSlippageBps);
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

    /// @notice The stricter of the signed limit price and the oracle's price less the signed slippage.
    function minOut(VaultStorage.Layout storage $, TradeSignal calldata s, uint256 amount, uint256 oracleOut)
        internal
        view
        returns (uint256 minimum)
    {
        uint256 limitOut = amount.mulDiv(
            s.limitPrice * 10 ** $.assets[s.tokenOut].decimals,
            WAD * 10 ** $.assets[s.tokenIn].decimals,
            Math.Rounding.Ceil
        );
        minimum = Math.max(limitOut, oracleOut.mulDiv(BPS - s.maxSlippageBps, BPS, Math.Rounding.Ceil));
        if (minimum == 0) revert ICohortVault.CohortZeroMinimum();
    }
}
