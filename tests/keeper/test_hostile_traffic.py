"""The keeper's HTTP API under hostile traffic: whatever is sent, no 5xx; refusals cost a bounded
amount (clipped when stored, and a budget per client past which they are answered, counted and
not stored); a signal that can never execute fails at once, in words, and holds up nothing."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3 import Web3

from cohort.vault import Vault
from tests.conftest import Roles
from tests.helpers import Market, SignalBook
from tests.keeper.conftest import txs_of

# JSON values a hostile client would try in place of a field
_HOSTILE_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**300), max_value=2**300),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=80),
    st.sampled_from(["0x", "0xzz", "zz", "1e400", "-1", "0x" + "00" * 65, "0x" + "ff" * 32, str(2**256),
                     str(2**63), "١٢٣", " 7", "7 ", "1_000", "0x" + "ab" * 20, "0X" + "AB" * 20]),
)
_HOSTILE_VALUES = st.recursive(_HOSTILE_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)), max_leaves=12)
_TOP = ["vault", "chainId", "digest", "signature", "signal"]
_INNER = ["tokenIn", "tokenOut", "sizeMode", "sizeBps", "limitPrice", "maxSlippageBps", "adapter", "path", "nonce",
          "deadline"]


@st.composite
def _hostile_bodies(draw: st.DrawFn, valid: dict[str, Any]) -> bytes:
    kind = draw(st.sampled_from(["field", "inner", "drop", "raw", "nested", "number"]))
    data = json.loads(json.dumps(valid))
    if kind == "field":
        data[draw(st.sampled_from(_TOP))] = draw(_HOSTILE_VALUES)
    elif kind == "inner":
        data["signal"][draw(st.sampled_from(_INNER))] = draw(_HOSTILE_VALUES)
    elif kind == "drop":
        del data["signal"][draw(st.sampled_from(_INNER))]
    elif kind == "raw":
        return draw(st.binary(max_size=300))
    elif kind == "nested":
        depth = draw(st.integers(min_value=1, max_value=30_000))
        return (b"[" * depth + b"]" * depth) if draw(st.booleans()) else b'{"a":' * depth + b"1" + b"}" * depth
    else:  # a number JSON allows but no integer holds
        field = draw(st.sampled_from(["nonce", "deadline", "sizeBps", "limitPrice"]))
        number = draw(st.sampled_from(["1e400", "-1e400", "1.5", "1E2", "-0", "123456789" * 12]))
        data["signal"][field] = "@@"
        return json.dumps(data).replace('"@@"', number).encode()
    return json.dumps(data, allow_nan=True).encode()


def test_fuzzed_submissions_and_queries_never_get_a_server_error(book: SignalBook, start_keeper) -> None:
    k = start_keeper([book.vault.address], refusal_burst=100_000)
    valid = book.signed("USDC", "WETH", size_bps=100).to_json_dict()
    statuses: list[int] = []

    @settings(max_examples=250, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(body=_hostile_bodies(valid))
    def submit(body: bytes) -> None:
        answer = k.client.post(body)
        statuses.append(answer.status_code)
        assert answer.status_code < 500, (body[:300], answer.text)
        assert "error" in answer.json() or answer.status_code in (200, 202)

    @settings(max_examples=120, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(signal_id=st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.text(max_size=20)),
           query=st.dictionaries(st.sampled_from(["state", "vault", "limit", "offset", "wait"]),
                                 st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.text(max_size=20),
                                           st.sampled_from(["nan", "inf", "-inf", "1e400"])), max_size=4))
    def query(signal_id: int | str, query: dict[str, Any]) -> None:
        params = {key: str(value) for key, value in query.items() if key != "wait"}
        for path in (f"/signals/{quote(str(signal_id), safe='')}", "/signals"):
            answer = k.client.http.get(path, params=params)
            statuses.append(answer.status_code)
            assert answer.status_code < 500, (path, params, answer.text)

    submit()
    query()
    assert statuses and max(statuses) < 500
    assert k.client.health()[0] == 200  # and the keeper still serves


def test_refusals_are_clipped_when_stored_and_a_client_over_its_budget_is_answered_but_not_recorded(
        book: SignalBook, start_keeper) -> None:
    k = start_keeper([book.vault.address], refusal_burst=3, refusals_per_s=0.001)
    junk = b'{"vault": "' + b"x" * 60_000 + b'"'
    answers = [k.client.post(junk) for _ in range(5)]

    assert [a.status_code for a in answers] == [400, 400, 400, 429, 429]
    assert all(a.json()["error"] == "too_many_refusals" and a.json()["refused_for"] == "malformed_json"
               for a in answers[3:])
    assert all("id" not in a.json() for a in answers[3:])
    recorded = k.client.http.get("/signals", params={"state": "rejected"}).json()["signals"]
    assert len(recorded) == 3
    stored = k.keeper.store.get(recorded[0]["id"])
    assert stored is not None and len(stored.payload) < 600 and len(stored.detail or "") < 400
    assert 'keeper_refusals_unrecorded_total{reason="malformed_json"} 2.0' in k.client.metrics()
    accepted = k.client.post(book.signed("USDC", "WETH", size_bps=100))  # a good signal is never limited
    assert accepted.status_code == 202


def test_a_deadline_past_any_sql_integer_is_accepted_and_executed(book: SignalBook, start_keeper) -> None:
    k = start_keeper([book.vault.address])
    signed = book.signed("USDC", "WETH", size_bps=100, deadline=2**255)
    answer = k.client.post(signed)
    assert answer.status_code == 202, answer.text
    assert k.client.signal(answer.json()["id"], wait=30)["state"] == "executed"


def test_a_signal_that_can_never_execute_fails_at_once_in_words_and_the_next_one_runs(
        w3: Web3, funded_vault: Vault, book: SignalBook, roles: Roles, start_keeper) -> None:
    assert funded_vault.holdings(book.addr("WBTC")) == 0
    k = start_keeper([funded_vault.address], retry_limit=5, retry_delay_s=10)
    sent_before = txs_of(w3, roles.keeper)
    hopeless = k.client.post(book.signed("WBTC", "USDC", size_bps=5000)).json()["id"]
    good = k.client.post(book.signed("USDC", "WETH", size_bps=100)).json()["id"]

    failed = k.client.signal(hopeless, wait=30)
    executed = k.client.signal(good, wait=30)

    assert failed["state"] == "failed" and failed["retries"] == 0
    assert failed["detail"].startswith("the vault holds no WBTC (CohortZeroAmount())"), failed["detail"]
    assert failed["transactions"] == []
    assert executed["state"] == "executed"
    assert txs_of(w3, roles.keeper) == sent_before + 1


def test_a_signal_waiting_to_retry_leaves_its_vaults_queue_to_the_next(
        w3: Web3, deployment, v3, funded_vault: Vault, book: SignalBook, roles: Roles, start_keeper) -> None:
    Market(w3, deployment, v3).move("WBTC", 20)  # WBTC's spot leaves its TWAP: buying it is refused for now
    k = start_keeper([funded_vault.address], retry_limit=5, retry_delay_s=60)
    waiting = k.client.post(book.signed("USDC", "WBTC", size_bps=100)).json()["id"]
    k.client.wait_for(waiting, lambda r: r["retries"] == 1, what="a first retry")
    good = k.client.post(book.signed("USDC", "WETH", size_bps=100)).json()["id"]

    executed = k.client.signal(good, wait=30)  # long before the first one's next try, 60 s away
    parked = k.client.signal(waiting)

    assert executed["state"] == "executed"
    assert parked["state"] == "verified" and parked["retries"] == 1
    assert parked["reason"] == "simulation_reverted" and "CohortPriceDeviation" in parked["detail"]
    assert "spot price is" in parked["detail"] and "retry 1/5" in parked["detail"]
