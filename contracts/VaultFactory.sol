// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {VaultParams} from "./interfaces/ICohortVault.sol";

/// @title VaultFactory
/// @notice Deploys Cohort vaults (full deployments, not proxies) and announces each one with
/// everything an indexer needs. The vault's creation code (about 27 kB, more than a contract may
/// hold) is kept in immutable code chunks that the factory reads with EXTCODECOPY; its hash is
/// `vaultCodeHash`, so anyone can check which code every vault runs.
contract VaultFactory {
    error VaultFactoryNoChunks();
    error VaultFactoryEmptyChunk(address chunk);
    error VaultFactoryCreateFailed();

    /// @notice A vault was created by `creator` with `params`; `admin` serves its governance.
    event VaultCreated(
        address indexed vault,
        address indexed asset,
        address indexed manager,
        address creator,
        address admin,
        bytes32 salt,
        VaultParams params
    );

    /// @notice The CohortVaultAdmin module every vault delegates governance to.
    address public immutable admin;
    /// @notice keccak256 of the vault creation code (without constructor arguments).
    bytes32 public immutable vaultCodeHash;

    address[] private _chunks; // data contracts: one STOP byte, then a slice of the creation code
    address[] private _vaults;
    mapping(address vault => bool) public isVault;

    constructor(address admin_, address[] memory chunks_) {
        if (chunks_.length == 0) revert VaultFactoryNoChunks();
        for (uint256 i; i < chunks_.length; ++i) {
            if (chunks_[i].code.length < 2) revert VaultFactoryEmptyChunk(chunks_[i]);
        }
        admin = admin_;
        _chunks = chunks_;
        vaultCodeHash = keccak256(_creationCode());
    }

    /// @notice Deploys a vault with `params` at an address fixed by (creator, salt).
    function createVault(VaultParams calldata params, bytes32 salt) external returns (address vault) {
        bytes memory init = bytes.concat(_creationCode(), abi.encode(params, admin));
        bytes32 key = keccak256(abi.encode(msg.sender, salt)); // nobody can take another creator's address
        assembly ("memory-safe") {
            vault := create2(0, add(init, 32), mload(init), key)
        }
        if (vault == address(0)) {
            // the constructor's own (named) error if it reverted; else the address is taken
            assembly ("memory-safe") {
                if returndatasize() {
                    returndatacopy(0, 0, returndatasize())
                    revert(0, returndatasize())
                }
            }
            revert VaultFactoryCreateFailed();
        }
        isVault[vault] = true;
        _vaults.push(vault);
        emit VaultCreated(vault, params.asset, params.manager, msg.sender, admin, salt, params);
    }

    /// @notice The address `createVault(params, salt)` called by `creator` deploys to.
    function vaultAddress(VaultParams calldata params, bytes32 salt, address creator) external view returns (address) {
        bytes32 initHash = keccak256(bytes.concat(_creationCode(), abi.encode(params, admin)));
        bytes32 key = keccak256(abi.encode(creator, salt));
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), key, initHash)))));
    }

    function vaults() external view returns (address[] memory) {
        return _vaults;
    }

    function chunks() external view returns (address[] memory) {
        return _chunks;
    }

    /// @dev Concatenates the chunks' code, skipping each chunk's leading STOP byte.
    function _creationCode() private view returns (bytes memory code) {
        uint256 n = _chunks.length;
        uint256 total;
        for (uint256 i; i < n; ++i) {
            total += _chunks[i].code.length - 1;
        }
        code = new bytes(total);
        uint256 offset;
        for (uint256 i; i < n; ++i) {
            address chunk = _chunks[i];
            uint256 size = chunk.code.length - 1;
            assembly ("memory-safe") {
                extcodecopy(chunk, add(add(code, 32), offset), 1, size)
            }
            offset += size;
        }
    }
}
