"""Trade signals: the EIP-712 `TradeSignal`, signing, verification and JSON.

The struct has one definition: `contracts/libraries/SignalLib.sol`. This module derives the
EIP-712 type (field names and types, in order) from the compiled ABI of
`CohortVault.executeSignal`, so Python and Solidity cannot drift apart; a test checks that the
type hash and digests computed here equal the contract's.

JSON form (integers that may exceed 2**53 are strings)::

    {"vault": "0x..", "chainId": 31337, "digest": "0x..", "signature": "0x..",
     "signal": {"tokenIn": "0x..", "tokenOut": "0x..", "sizeMode": 0, "sizeBps": 5000,
                "limitPrice": "2900000000000000000000", "maxSlippageBps": 100,
                "adapter": "0x..", "path": "0x..", "nonce": "7", "deadline": 1767225600}}
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_keys.exceptions import BadSignature
from eth_keys.exceptions import ValidationError as KeyValidationError
from eth_typing import Hash32
from eth_utils import is_hex_address, keccak, to_checksum_address

from cohort import units
from cohort.artifacts import project_artifact
from cohort.errors import SignalError
from cohort.onchain import Eip712Domain, SizeMode

WAD = 10**18
NONCE_BITS = 64  # random nonces: a collision is expected after about 2**32 signals
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@cache
def signal_fields() -> tuple[tuple[str, str], ...]:
    """(name, type) of every TradeSignal field, in order, from the compiled ABI."""
    for item in project_artifact("CohortVault").abi:
        if item.get("type") == "function" and item.get("name") == "executeSignal":
            return tuple((c["name"], c["type"]) for c in item["inputs"][0]["components"])
    raise SignalError("executeSignal is not in CohortVault's ABI: run `make setup`")


def type_string() -> str:
    """The EIP-712 type string, e.g. `TradeSignal(address tokenIn,...,uint256 deadline)`."""
    return "TradeSignal(" + ",".join(f"{t} {n}" for n, t in signal_fields()) + ")"


def typehash() -> bytes:
    return keccak(text=type_string())


@dataclass(frozen=True)
class Domain:
    """EIP-712 domain of one vault (ERC-5267 `eip712Domain()` returns it)."""

    name: str
    version: str
    chain_id: int
    verifying_contract: str

    @classmethod
    def from_eip712(cls, read: Eip712Domain) -> Domain:
        return cls(name=read.name, version=read.version, chain_id=read.chain_id,
                   verifying_contract=read.verifying_contract)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "chainId": self.chain_id,
                "verifyingContract": self.verifying_contract}


@dataclass(frozen=True)
class TradeSignal:
    token_in: str
    token_out: str
    size_mode: int
    size_bps: int
    limit_price: int  # whole tokenOut per whole tokenIn, 18 decimals
    max_slippage_bps: int
    adapter: str
    path: bytes
    nonce: int
    deadline: int

    def __post_init__(self) -> None:
        if self.size_mode not in tuple(SizeMode):
            modes = " or ".join(f"{m.value} ({m.name})" for m in SizeMode)
            raise SignalError(f"sizeMode must be {modes}, got {self.size_mode}")
        for name, value, hi in (("sizeBps", self.size_bps, 2**16), ("maxSlippageBps", self.max_slippage_bps, 2**16),
                                ("limitPrice", self.limit_price, 2**256), ("nonce", self.nonce, 2**256),
                                ("deadline", self.deadline, 2**256)):
            if not 0 <= value < hi:
                raise SignalError(f"{name} out of range: {value}")

    def message(self) -> dict[str, Any]:
        """Values keyed by the Solidity field names (camelCase)."""
        values = (to_checksum_address(self.token_in), to_checksum_address(self.token_out), self.size_mode,
                  self.size_bps, self.limit_price, self.max_slippage_bps, to_checksum_address(self.adapter),
                  bytes(self.path), self.nonce, self.deadline)
        return {name: v for (name, _t), v in zip(signal_fields(), values, strict=True)}

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple for `executeSignal`."""
        return tuple(self.message().values())

    def to_json_dict(self) -> dict[str, Any]:
        return message_json(self.message(), signal_fields())

    @classmethod
    def from_json_dict(cls, data: Any) -> TradeSignal:
        if not isinstance(data, dict):
            raise SignalError("signal must be a JSON object")
        try:
            return cls(
                token_in=json_address(data["tokenIn"], "tokenIn"),
                token_out=json_address(data["tokenOut"], "tokenOut"),
                size_mode=json_uint(data["sizeMode"], "sizeMode"),
                size_bps=json_uint(data["sizeBps"], "sizeBps"),
                limit_price=json_uint(data["limitPrice"], "limitPrice"),
                max_slippage_bps=json_uint(data["maxSlippageBps"], "maxSlippageBps"),
                adapter=json_address(data["adapter"], "adapter"),
                path=json_bytes(data["path"], "path"),
                nonce=json_uint(data["nonce"], "nonce"),
                deadline=json_uint(data["deadline"], "deadline"),
            )
        except KeyError as exc:
            raise SignalError(f"signal is missing field {exc.args[0]!r}") from None


def eip712_types() -> dict[str, list[dict[str, str]]]:
    """The `types` member of the typed data a wallet signs (eth_signTypedData_v4)."""
    return {
        "EIP712Domain": DOMAIN_TYPE,
        "TradeSignal": [{"name": n, "type": t} for n, t in signal_fields()],
    }


def typed_data(signal: TradeSignal, domain: Domain) -> dict[str, Any]:
    return {
        "types": eip712_types(),
        "primaryType": "TradeSignal",
        "domain": domain.as_dict(),
        "message": signal.message(),
    }


def digest(signal: TradeSignal, domain: Domain) -> bytes:
    """The EIP-712 digest the manager signs (equal to the vault's `signalDigest`)."""
    return typed_digest(typed_data(signal, domain))


def typed_digest(full_message: dict[str, Any]) -> bytes:
    """The EIP-712 digest of typed data (what eth_signTypedData_v4 signs)."""
    encoded = encode_typed_data(full_message=full_message)
    return keccak(b"\x19" + encoded.version + encoded.header + encoded.body)


DOMAIN_TYPE = [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
               {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}]


T = TypeVar("T")


def message_json(message: Mapping[str, Any], fields: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The JSON form of an EIP-712 message (a trade or a master signal) with these (name, type) fields:
    bytes as 0x hex, uint256 as decimal strings (they may pass 2**53) except the deadline, in seconds."""
    out: dict[str, Any] = {}
    for name, typ in fields:
        value = message[name]
        if typ == "bytes":
            out[name] = "0x" + value.hex()
        elif typ == "uint256" and name != "deadline":
            out[name] = str(value)
        else:
            out[name] = value
    return out


def envelope_to_json(contract_key: str, contract: str, chain_id: int, digest: bytes, signature: bytes,
                     body_key: str, body: dict[str, Any]) -> dict[str, Any]:
    """The JSON envelope of a signed message (a vault's signal, a master signal): the contract it is
    for under `contract_key`, its chain, its digest when known, the signature, the message under `body_key`."""
    out: dict[str, Any] = {contract_key: to_checksum_address(contract), "chainId": chain_id}
    if digest:  # a signal may come without its digest (the keeper computes it)
        out["digest"] = "0x" + digest.hex()
    out.update({"signature": "0x" + signature.hex(), body_key: body})
    return out


def envelope_from_json(data: Any, what: str, contract_key: str, body_key: str,
                       parse_body: Callable[[Any], T]) -> tuple[str, int, T, bytes, bytes]:
    """(contract, chain id, message, signature, claimed digest or b"") of an envelope_to_json form;
    anything malformed raises SignalError naming `what`, whatever the input."""
    if not isinstance(data, dict):
        raise SignalError(f"a {what} is a JSON object")
    try:
        body = parse_body(data[body_key])
        contract = json_address(data[contract_key], contract_key)
        chain_id = json_uint(data["chainId"], "chainId", bits=MAX_CHAIN_ID_BITS)
        signature = json_bytes(data["signature"], "signature")
    except KeyError as exc:
        raise SignalError(f"{what} is missing {exc.args[0]!r}") from None
    claimed = data.get("digest")
    digest = b"" if claimed is None else json_bytes(claimed, "digest", size=32)
    return contract, chain_id, body, signature, digest


@dataclass(frozen=True)
class SignedSignal:
    vault: str
    chain_id: int
    signal: TradeSignal
    signature: bytes
    digest: bytes

    def to_json_dict(self) -> dict[str, Any]:
        return envelope_to_json("vault", self.vault, self.chain_id, self.digest, self.signature,
                                "signal", self.signal.to_json_dict())

    def to_json(self) -> str:
        return json.dumps(self.to_json_dict(), indent=2)

    @classmethod
    def from_json_dict(cls, data: Any) -> SignedSignal:
        """Parse the JSON form; anything malformed raises SignalError, whatever the input."""
        return cls(*envelope_from_json(data, "signed signal", "vault", "signal", TradeSignal.from_json_dict))


# ------------------------------------------------------------------ strict JSON fields
# JSON numbers are parsed by Python into ints of any size or floats (1e400 is inf): every field
# is checked for its type and range here, so nothing malformed reaches arithmetic or storage.
MAX_CHAIN_ID_BITS = 63  # chain ids are stored as SQL integers; no real chain comes near 2**63
_UINT_TEXT = re.compile(r"[0-9]{1,78}")  # 78 digits hold any uint256
_HEX_TEXT = re.compile(r"0x([0-9a-fA-F]{2})*")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def json_uint(value: Any, name: str, *, bits: int = 256) -> int:
    """An unsigned integer given as a JSON integer or a decimal string, below 2**bits."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise SignalError(f"{name} must be an integer or a decimal string, got {_shown(value)}")
    if isinstance(value, str):
        if not _UINT_TEXT.fullmatch(value):
            raise SignalError(f"{name} must be a decimal integer, got {_shown(value)}")
        value = int(value)
    if not 0 <= value < 2**bits:
        raise SignalError(f"{name} out of range: must be below 2**{bits}")
    return value


def json_address(value: Any, name: str) -> str:
    if not isinstance(value, str) or not is_hex_address(value):
        raise SignalError(f"{name} must be a 0x-prefixed 20-byte hex address, got {_shown(value)}")
    try:
        return str(to_checksum_address(value))
    except ValueError as exc:
        raise SignalError(f"{name}: {exc}") from None


def json_bytes(value: Any, name: str, *, size: int | None = None) -> bytes:
    """0x-prefixed hex (of exactly `size` bytes when given)."""
    if not isinstance(value, str) or not _HEX_TEXT.fullmatch(value):
        raise SignalError(f"{name} must be 0x-prefixed hex, got {_shown(value)}")
    raw = bytes.fromhex(value[2:])
    if size is not None and len(raw) != size:
        raise SignalError(f"{name} must be {size} bytes, got {len(raw)}")
    return raw


def sign(signal: TradeSignal, domain: Domain, account: LocalAccount) -> SignedSignal:
    d = digest(signal, domain)
    signed = account.unsafe_sign_hash(Hash32(d))
    return SignedSignal(domain.verifying_contract, domain.chain_id, signal, bytes(signed.signature), d)


def recover(signed: SignedSignal, domain: Domain, signal_digest: bytes | None = None) -> str:
    """The address that produced the signature (rejects malleable, high-s signatures).
    `signal_digest`, when the caller has already computed it, saves computing it again."""
    return recover_digest(signal_digest or digest(signed.signal, domain), signed.signature)


def recover_digest(signed_digest: bytes, sig: bytes) -> str:
    """The address that signed `signed_digest` (rejects malleable, high-s signatures)."""
    if len(sig) != 65:
        raise SignalError(f"signature must be 65 bytes, got {len(sig)}")
    s = int.from_bytes(sig[32:64], "big")
    if s > SECP256K1_N // 2:
        raise SignalError("malleable signature (high s) is refused")
    try:
        return str(Account._recover_hash(signed_digest, signature=sig))
    except (BadSignature, KeyValidationError, ValueError) as exc:  # r or s zero or out of range, bad v
        raise SignalError(f"the signature does not recover a signer: {exc}") from None


def verify(signed: SignedSignal, domain: Domain, manager: str) -> bytes:
    """Check the signature offline against `manager` (an EOA) and the claimed digest.

    Returns the digest. A contract manager (ERC-1271) can only be checked on-chain.
    """
    d = digest(signed.signal, domain)
    if signed.digest and signed.digest != d:
        raise SignalError("the digest does not match the signal and the vault's domain")
    if recover(signed, domain, d).lower() != manager.lower():
        raise SignalError("the signature is not the vault manager's")
    return d


def limit_price_wad(price: str | float | Decimal) -> int:
    """A human limit price (whole tokenOut per whole tokenIn) as the signal's 18-decimal integer."""
    return int(Decimal(str(price)) * WAD)


def nonce_words(nonces: Iterable[int]) -> dict[int, tuple[list[int], int]]:
    """Nonces grouped by the 256-bit word of an unordered nonce bitmap (vault signals and master
    signals alike): word -> (its nonces, the mask of their bits). One cancel transaction per word."""
    words: dict[int, tuple[list[int], int]] = {}
    for nonce in nonces:
        members, mask = words.get(nonce >> 8, ([], 0))
        words[nonce >> 8] = ([*members, nonce], mask | 1 << (nonce & 255))
    return words


def new_nonce() -> int:
    """A nonce no other signal will have: random, so signers need no counter and no coordination
    (the vault's nonces are unordered bits; any uint256 works)."""
    return secrets.randbits(NONCE_BITS)


def describe(signal: TradeSignal, symbols: Mapping[str, str], adapters: Mapping[str, str],
             now: int | None = None) -> str:
    """The trade a signal asks for, in words, read from the signal itself. `symbols` and
    `adapters` map lower-case addresses to names (a manifest's `symbols()` and `adapter_names()`);
    `now`, the chain's time, adds the time left."""
    def name(address: str) -> str:
        return symbols.get(address.lower(), address)

    sell, buy = name(signal.token_in), name(signal.token_out)
    size = units.format_bps(signal.size_bps)
    what = (f"{size} of the vault's {sell}" if signal.size_mode == SizeMode.HOLDINGS
            else f"{sell} worth {size} of the vault's NAV")
    path, kind = bytes(signal.path), adapters.get(signal.adapter.lower(), f"adapter {signal.adapter}")
    if kind == "uniswap-v3":  # token (20 bytes), then (fee (3), token (20)) per hop
        fees = sorted({int.from_bytes(path[i:i + 3], "big") for i in range(20, len(path) - 20, 23)})
        inner = [path[i:i + 20] for i in range(23, len(path) - 20, 23)]
        route = f"Uniswap V3 ({', '.join(units.format_bps(f // 100) for f in fees)} pools)"
    else:
        inner = [path[i:i + 20] for i in range(20, len(path) - 20, 20)] if kind == "uniswap-v2" else []
        route = "Uniswap V2" if kind == "uniswap-v2" else kind
    if inner:
        route += " through " + ", ".join(name(to_checksum_address(a)) for a in inner)
    per_sell = units.to_decimal(signal.limit_price, 18)
    inverse = f", i.e. at most {units.format_price(1 / per_sell)} {sell} per {buy}" if per_sell else ""
    until = units.format_utc(signal.deadline)
    left = f" ({units.format_duration(signal.deadline - now)} from now)" if now is not None else ""
    return (f"sell {what} for {buy} on {route}, at least {units.format_price(per_sell)} {buy} per {sell}{inverse}, "
            f"and at most {units.format_bps(signal.max_slippage_bps)} worse than the oracle's price; valid until "
            f"{until} by the chain's clock{left}; nonce {signal.nonce}")
