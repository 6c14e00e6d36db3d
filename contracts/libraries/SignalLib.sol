// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MasterSignal} from "../interfaces/ICohortStrategies.sol";

/// @notice A manager's trade signal, signed with EIP-712 (domain: the vault's name, version "1",
/// the chain id, the vault as verifying contract). Sizes are fractions, so one signal means the
/// same for a vault of any size.
/// @dev The Python module derives the EIP-712 type from this struct's ABI; a test checks that
/// its type hash equals TRADE_SIGNAL_TYPEHASH below.
struct TradeSignal {
    /// @dev Token sold and token bought (the base asset or a listed asset).
    address tokenIn;
    address tokenOut;
    /// @dev 0: sizeBps of the vault's holdings of tokenIn; 1: sizeBps of NAV (valued in tokenIn).
    uint8 sizeMode;
    uint16 sizeBps;
    /// @dev Minimum price, in whole tokenOut per whole tokenIn, with 18 decimals.
    uint256 limitPrice;
    /// @dev Largest shortfall accepted against the oracle's price, in bps.
    uint16 maxSlippageBps;
    /// @dev An allow-listed ISwapAdapter and the route it takes (V3: packed path; V2: packed addresses).
    address adapter;
    bytes path;
    /// @dev Unordered nonce (bit `nonce & 255` of word `nonce >> 8`) and expiry (unix seconds).
    uint256 nonce;
    uint256 deadline;
}

/// @title SignalLib
/// @notice EIP-712 struct hashing of trade signals and of master signals (ICohortStrategies.sol).
library SignalLib {
    /// @dev Sizing modes.
    uint8 internal constant SIZE_OF_HOLDINGS = 0;
    uint8 internal constant SIZE_OF_NAV = 1;

    bytes32 internal constant TRADE_SIGNAL_TYPEHASH = keccak256(
        "TradeSignal(address tokenIn,address tokenOut,uint8 sizeMode,uint16 sizeBps,uint256 limitPrice,"
        "uint16 maxSlippageBps,address adapter,bytes path,uint256 nonce,uint256 deadline)"
    );

    bytes32 internal constant MASTER_SIGNAL_TYPEHASH = keccak256(
        "MasterSignal(uint64 strategyId,address tokenIn,address tokenOut,uint8 sizeMode,uint16 sizeBps,uint256 lots,"
        "uint256 limitPrice,uint256 refPrice,uint16 maxSlippageBps,address adapter,bytes path,uint256 nonce,"
        "uint256 deadline)"
    );

    /// @notice The EIP-712 struct hash of `s`.
    function hash(TradeSignal calldata s) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                TRADE_SIGNAL_TYPEHASH,
                s.tokenIn,
                s.tokenOut,
                s.sizeMode,
                s.sizeBps,
                s.limitPrice,
                s.maxSlippageBps,
                s.adapter,
                keccak256(s.path),
                s.nonce,
                s.deadline
            )
        );
    }

    /// @notice The EIP-712 struct hash of master signal `m` (two encodings concatenated: one
    /// would need more stack than the EVM gives; every field is one word, so the bytes are the same).
    function hash(MasterSignal calldata m) internal pure returns (bytes32) {
        return keccak256(
            bytes.concat(
                abi.encode(
                    MASTER_SIGNAL_TYPEHASH,
                    m.strategyId,
                    m.tokenIn,
                    m.tokenOut,
                    m.sizeMode,
                    m.sizeBps,
                    m.lots,
                    m.limitPrice,
                    m.refPrice
                ),
                abi.encode(m.maxSlippageBps, m.adapter, keccak256(m.path), m.nonce, m.deadline)
            )
        );
    }
}
