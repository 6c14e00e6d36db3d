"""Every way intake refuses a signal: a 4xx JSON body that says why, and a `rejected` record with
the same reason in the store. Nothing refused is ever sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from web3 import Web3

from cohort import signals
from cohort.accounts import dev_account
from cohort.dev.anvil import DevChain
from cohort.signals import SECP256K1_N
from tests.conftest import Roles
from tests.helpers import SignalBook
from tests.keeper.conftest import txs_of

Case = Callable[[SignalBook, DevChain, Roles], bytes | str]


def _json(signed: signals.SignedSignal, **changes: Any) -> str:
    """The signed signal's JSON with top-level fields replaced (the text "1e400" as a raw JSON number)."""
    data = signed.to_json_dict()
    data.update({k: "@number@" if v == "1e400" else v for k, v in changes.items()})
    return json.dumps(data).replace('"@number@"', "1e400")


def _high_s(book: SignalBook, chain: DevChain, roles: Roles) -> str:
    signed = book.signed()
    sig = signed.signature
    s = int.from_bytes(sig[32:64], "big")
    flipped = sig[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - sig[64]])  # 27 <-> 28
    return replace(signed, signature=flipped).to_json()


def _used_nonce(book: SignalBook, chain: DevChain, roles: Roles) -> str:
    signed = book.signed("USDC", "WETH", size_bps=100)
    book.vault.execute_signal(signed, roles.keeper)  # executed directly, before it reaches the keeper
    return signed.to_json()


def _other_chain(book: SignalBook, chain: DevChain, roles: Roles) -> str:
    domain = replace(book.domain, chain_id=1)
    return book.sign(book.build(), domain=domain).to_json()


def _unknown_vault(book: SignalBook, chain: DevChain, roles: Roles) -> str:
    domain = replace(book.domain, verifying_contract=Web3.to_checksum_address("0x" + "ab" * 20))
    return book.sign(book.build(), domain=domain).to_json()


def _missing_field(book: SignalBook, chain: DevChain, roles: Roles) -> str:
    data = book.signed().to_json_dict()
    del data["signal"]["nonce"]
    return json.dumps(data)


CASES: dict[str, tuple[Case, int, str]] = {
    "not JSON": (lambda b, c, r: b"{'vault': 1", 400, "malformed_json"),
    "JSON but not an object": (lambda b, c, r: "[1, 2, 3]", 400, "malformed_json"),
    "body too large": (lambda b, c, r: "[" + " " * 70_000 + "]", 413, "body_too_large"),
    "a field missing": (_missing_field, 422, "invalid_signal"),
    "a field malformed": (lambda b, c, r: _json(b.signed(), signature="0xzz"), 422, "invalid_signal"),
    "vault not served": (_unknown_vault, 422, "unknown_vault"),
    "another chain": (_other_chain, 422, "wrong_chain"),
    "digest does not match": (lambda b, c, r: _json(b.signed(), digest="0x" + "11" * 32), 422, "digest_mismatch"),
    "signed by someone else": (lambda b, c, r: b.sign(b.build(), signer=dev_account(6)).to_json(), 422,
                               "bad_signature"),
    "malleable signature": (_high_s, 422, "bad_signature"),
    "short signature": (lambda b, c, r: _json(b.signed(), signature="0x" + "11" * 64), 422, "bad_signature"),
    "deadline passed": (lambda b, c, r: b.signed(deadline=c.timestamp() - 1).to_json(), 422, "expired"),
    "deadline too close": (lambda b, c, r: b.signed(deadline=c.timestamp() + 1).to_json(), 422, "expired"),
    "nonce already used": (_used_nonce, 409, "nonce_used"),
    # hostile bodies that once made the keeper answer 500
    "JSON nested too deeply": (lambda b, c, r: "[" * 100_000 + "]" * 100_000, 413, "body_too_large"),
    "JSON nested too deeply, small": (lambda b, c, r: '{"a":' * 10_000 + "1" + "}" * 10_000, 400,
                                      "malformed_json"),
    "nonce 1e400": (lambda b, c, r: _signal_json(b.signed(), nonce="1e400"), 422, "invalid_signal"),
    "deadline 1e400": (lambda b, c, r: _signal_json(b.signed(), deadline="1e400"), 422, "invalid_signal"),
    "chainId 1e400": (lambda b, c, r: _json(b.signed(), chainId="1e400"), 422, "invalid_signal"),
    "chainId 2**256": (lambda b, c, r: _json(b.signed(), chainId=2**256), 422, "invalid_signal"),
    "chainId past a SQL integer": (lambda b, c, r: _json(b.signed(), chainId=2**63), 422, "invalid_signal"),
    "digest not hex": (lambda b, c, r: _json(b.signed(), digest="zz"), 422, "invalid_signal"),
    "digest of the wrong size": (lambda b, c, r: _json(b.signed(), digest="0x1234"), 422, "invalid_signal"),
    "zero signature": (lambda b, c, r: _json(b.signed(), signature="0x" + "00" * 65), 422, "bad_signature"),
    "number as a float": (lambda b, c, r: _json(b.signed(), chainId=31337.0), 422, "invalid_signal"),
    "signal not an object": (lambda b, c, r: _json(b.signed(), signal=[1, 2]), 422, "invalid_signal"),
}


def _signal_json(signed: signals.SignedSignal, **changes: Any) -> str:
    """The signed signal's JSON with fields of the inner signal replaced; numbers given as raw JSON text."""
    data = signed.to_json_dict()
    raw = {k: v for k, v in changes.items() if isinstance(v, str) and v.startswith("1e")}
    data["signal"].update({k: f"@{k}@" if k in raw else v for k, v in changes.items()})
    text = json.dumps(data)
    for key, number in raw.items():
        text = text.replace(f'"@{key}@"', number)
    return text


@pytest.mark.parametrize("case", list(CASES))
def test_refused_signal_gets_4xx_reason_and_is_recorded(case: str, w3: Web3, chain: DevChain, book: SignalBook,
                                                        roles: Roles, start_keeper) -> None:
    build, status, code = CASES[case]
    body = build(book, chain, roles)
    k = start_keeper([book.vault.address])
    sent_before = txs_of(w3, roles.keeper)

    answer = k.client.post(body)

    assert answer.status_code == status, answer.text
    payload = answer.json()
    assert payload["error"] == code and payload["detail"]
    record = k.client.signal(payload["id"])
    assert record["state"] == "rejected"
    assert record["reason"] == code and record["detail"] == payload["detail"]
    listed = k.client.http.get("/signals", params={"state": "rejected"}).json()["signals"]
    assert [r["id"] for r in listed] == [payload["id"]]
    assert f'keeper_signals_rejected_total{{reason="{code}"}} 1.0' in k.client.metrics()
    assert txs_of(w3, roles.keeper) == sent_before  # nothing was sent for it


def test_unknown_routes_and_bad_queries_answer_json_errors(book: SignalBook, start_keeper) -> None:
    k = start_keeper([book.vault.address])
    missing = k.client.http.get("/signals/999999")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    bad = k.client.http.get("/signals", params={"state": "nonsense"})
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_request"
    nowhere = k.client.http.get("/nowhere")
    assert nowhere.status_code == 404 and nowhere.json()["error"] == "not_found"
    for path, params in ((f"/signals/{2**63}", None), ("/signals/0", None), ("/signals", {"offset": 2**63}),
                         ("/signals", {"limit": 10**30}), ("/signals/1", {"wait": "nan"})):
        answer = k.client.http.get(path, params=params)
        assert answer.status_code == 422 and answer.json()["error"] == "invalid_request", (path, answer.text)
    far = k.client.http.get("/signals", params={"offset": 2**63 - 1})
    assert far.status_code == 200 and far.json() == {"signals": []}
