"""Bad input answers 4xx with a JSON body that says what is wrong; never a 500."""

from __future__ import annotations

import pytest

from tests.api.conftest import MakeHarness
from tests.api.scenario import Scenario

UNKNOWN = "0x000000000000000000000000000000000000dEaD"


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/vaults/0x12", 422, "invalid_input"),
    ("/vaults/not-an-address/trades", 422, "invalid_input"),
    (f"/vaults/{UNKNOWN}", 404, "not_found"),
    (f"/vaults/{UNKNOWN}/investors/{UNKNOWN}", 404, "not_found"),
    (f"/investors/{UNKNOWN}", 404, "not_found"),
    ("/investors/0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".replace("5aAeb", "5AAeb"), 422, "invalid_input"),
    ("/vaults?limit=0", 422, "invalid_input"),
    ("/vaults?limit=100000", 422, "invalid_input"),
    ("/vaults?offset=-1", 422, "invalid_input"),
    ("/vaults?limit=ten", 422, "invalid_input"),
    ("/nowhere", 404, "not_found"),
])
def test_bad_input_is_a_4xx_json_answer(scenario: Scenario, make_harness: MakeHarness, sqlite_url: str,
                                        path: str, status: int, code: str) -> None:
    with make_harness(sqlite_url) as h:
        h.sync()
        response = h.client.get(path)
        assert response.status_code == status, response.text
        body = response.json()
        assert body["code"] == code and body["detail"]


def test_bad_filters_of_a_known_vault_are_refused(scenario: Scenario, make_harness: MakeHarness,
                                                  sqlite_url: str) -> None:
    v = scenario.vault.address
    with make_harness(sqlite_url) as h:
        h.sync()
        for path, params in [(f"/vaults/{v}/accounts", {"sort": "nonsense"}),
                             (f"/vaults/{v}/accounts", {"min_equity": "-1"}),
                             (f"/vaults/{v}/history", {"kind": "weekly"}),
                             (f"/vaults/{v}/events", {"name": "Drop Table"}),
                             (f"/vaults/{v}/events", {"from_block": str(2**70)}),
                             (f"/vaults/{v}/trades/0", {}),
                             (f"/vaults/{v}/investors/{UNKNOWN}/tickets", {"limit": "0"})]:
            response = h.client.get(path, params=params)
            assert response.status_code == 422, (path, params, response.text)
            assert response.json()["code"] == "invalid_input"
        assert h.client.get(f"/vaults/{v}/investors/{UNKNOWN}/tickets").status_code == 404


def test_never_held_shares_says_as_of_which_indexed_block(scenario: Scenario, make_harness: MakeHarness,
                                                          sqlite_url: str) -> None:
    v = scenario.vault.address
    with make_harness(sqlite_url) as h:
        h.sync()
        head = h.get("/health")
        for path in (f"/vaults/{v}/investors/{UNKNOWN}", f"/vaults/{v}/investors/{UNKNOWN}/tickets",
                     f"/investors/{UNKNOWN}"):
            response = h.client.get(path)
            assert response.status_code == 404, response.text
            body = response.json()
            assert body["code"] == "not_found" and isinstance(body["indexed_block"], int)
            assert f"as of indexed block {body['indexed_block']}" in body["detail"]
            assert body["indexed_block"] == head["indexed_block"]
