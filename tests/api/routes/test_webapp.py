"""The web app's endpoints: its configuration carries the one EIP-712 type and the contracts'
errors; a signal draft signed as a wallet would is the digest the vault computes; the statement
and the equity curve repeat what the investor did and what the vault's views say; performance
is a plain function of a price series."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from eth_account import Account
from web3 import Web3

from api.ledger.math import ratio
from api.services.webapp import performance
from cohort import signals
from tests.api.conftest import MakeHarness
from tests.api.scenario import Scenario
from tests.conftest import Roles


def test_performance_is_the_return_and_the_deepest_fall_from_a_peak() -> None:
    perf = performance([100, 120, 90, 130, 117])
    assert perf is not None
    assert perf.inception_pps == 100
    assert perf.return_since_inception == Decimal("0.17")
    assert perf.max_drawdown == Decimal("0.25")  # 120 -> 90
    assert performance([]) is None
    flat = performance([5, 5])
    assert flat is not None and flat.max_drawdown == 0 and flat.return_since_inception == 0


def test_human_amounts_are_exact_decimals() -> None:
    assert ratio(2_500_000_000, 10**6, 6) == "2500"
    assert ratio(1_234_567, 10**6, 6) == "1.234567"
    assert ratio(10**18 + 1, 10**18, 18) == "1.000000000000000001"
    assert ratio(0, 10**6, 6) == "0"


def test_config_serves_the_eip712_type_and_every_custom_error(scenario: Scenario, make_harness: MakeHarness,
                                                                sqlite_url: str, w3: Web3) -> None:
    with make_harness(sqlite_url) as h:
        h.sync()
        cfg = h.get("/app/config")
    assert cfg["eip712_types"] == signals.eip712_types()
    assert [f["name"] for f in cfg["eip712_types"]["TradeSignal"]] == [n for n, _ in signals.signal_fields()]
    assert cfg["chain_id"] == w3.eth.chain_id
    errors = {e["name"] for e in cfg["abi"]["errors"]}
    assert any(name.startswith("Cohort") for name in errors) and "ERC20InsufficientBalance" in errors
    assert {"deposit", "requestRedeem", "redeem", "cancelRedeemRequest", "epochMaturesAt", "previewDeposit"} <= {
        f.get("name") for f in cfg["abi"]["vault"]}


def test_a_draft_signed_like_a_wallet_is_the_vaults_own_digest(scenario: Scenario, make_harness: MakeHarness,
                                                               sqlite_url: str, roles: Roles) -> None:
    vault = scenario.vault
    usdc, weth = scenario.manifest.token("USDC").address, scenario.manifest.token("WETH").address
    body = {"vault": vault.address, "token_in": usdc, "token_out": weth, "size_mode": 0, "size_bps": 2500,
            "limit_price": "0.0003", "max_slippage_bps": 100, "valid_for_s": 600}
    with make_harness(sqlite_url) as h:
        h.sync()
        answers = [h.client.post("/app/signals/draft", json=body) for _ in range(2)]
        same_tokens = h.client.post("/app/signals/draft", json={**body, "token_out": usdc})
    assert [a.status_code for a in answers] == [200, 200]
    draft = answers[0].json()
    assert draft["description"].startswith("Sell 25% of the vault's USDC for WETH on Uniswap V3 (0.3% pools), at "
                                           "least 0.0003 WETH per USDC, i.e. at most 3,333.33 USDC per WETH, and "
                                           "at most 1% worse than the oracle's price; valid until ")
    assert int(draft["signal"]["nonce"]) != int(answers[1].json()["signal"]["nonce"])  # a fresh nonce each time
    assert int(draft["signal"]["nonce"]) < 2**64
    # what eth_signTypedData_v4 does with the JSON the page hands the wallet
    signature = Account.sign_typed_data(roles.manager.key, full_message=json.loads(json.dumps(draft["typed_data"])))
    signed = signals.SignedSignal.from_json_dict({"vault": vault.address, "chainId": draft["typed_data"]["domain"]
                                                  ["chainId"], "digest": draft["digest"],
                                                  "signature": "0x" + bytes(signature.signature).hex(),
                                                  "signal": draft["signal"]})
    assert signals.verify(signed, vault.domain(), roles.manager.address) == vault.signal_digest(signed)
    assert same_tokens.status_code == 422 and same_tokens.json()["code"] == "invalid_input"


def test_statement_lists_the_investors_deposits_and_claims_in_human_units(scenario: Scenario,
                                                                          make_harness: MakeHarness,
                                                                          sqlite_url: str) -> None:
    v = scenario.vault.address
    with make_harness(sqlite_url) as h:
        h.sync()
        for who in scenario.investors:
            rows = h.get(f"/app/vaults/{v}/investors/{who}/statement")
            deposited = sum(Decimal(r["assets"]) for r in rows if r["event"] == "Deposit")
            claimed = sum(Decimal(r["assets"]) for r in rows if r["event"] == "Withdraw")
            assert deposited == Decimal(scenario.deposited[who]) / 10**6, who
            assert claimed == Decimal(scenario.claimed[who]) / 10**6, who
            assert all(r["date"].endswith(" UTC") for r in rows)
            csv_rows = list(csv.DictReader(io.StringIO(h.client.get(f"/app/vaults/{v}/investors/{who}/statement.csv")
                                                       .text)))
            assert csv_rows == rows


def test_equity_curve_is_the_vaults_own_view_at_each_block(scenario: Scenario, make_harness: MakeHarness,
                                                           sqlite_url: str) -> None:
    vault, who = scenario.vault, scenario.investors[0]
    with make_harness(sqlite_url) as h:
        h.sync()
        curve = h.get(f"/app/vaults/{vault.address}/investors/{who}/equity")
        mam = h.get(f"/vaults/{vault.address}/investors/{who}", tickets_limit=0)
    assert len(curve) >= 3
    assert [p["block_number"] for p in curve] == sorted({p["block_number"] for p in curve})
    for point in curve:
        block = point["block_number"]
        request = vault.fn.redeemRequestOf(who).call(block_identifier=block)
        position = vault.fn.balanceOf(who).call(block_identifier=block) + request[2]
        assert int(point["value"]) == vault.fn.convertToAssets(position).call(block_identifier=block)
        assert int(point["claimable_assets"]) == request[4]
    assert curve[-1]["block_number"] == mam["block_number"]
    assert curve[-1]["equity"] == mam["equity"]
