"""Trades: amounts, keeper and the three prices, against the TradeExecuted logs web3 decodes."""

from __future__ import annotations

from decimal import Decimal

from tests.api.conftest import MakeHarness
from tests.api.scenario import Scenario


def test_trades_show_limit_oracle_and_execution_prices(scenario: Scenario, make_harness: MakeHarness,
                                                       sqlite_url: str) -> None:
    v = scenario.vault
    logs = v.contract.events.TradeExecuted.get_logs(from_block=scenario.created_block)
    sales = v.contract.events.LiquiditySold.get_logs(from_block=scenario.created_block)
    decimals = {t.address: t.decimals for t in scenario.manifest.tokens.values()}
    with make_harness(sqlite_url) as h:
        h.sync()
        trades = h.get(f"/vaults/{v.address}/trades", limit=1000)
        assert trades["total"] == len(logs) + len(sales)
        signals = [t for t in trades["items"] if t["kind"] == "signal"]
        assert len(signals) == len(logs)
        for t, log in zip(signals, logs, strict=True):
            a = log["args"]
            assert (t["tx_hash"], t["keeper"], int(t["amount_in"]), int(t["amount_out"])) == (
                "0x" + log["transactionHash"].hex(), a["keeper"], a["amountIn"], a["amountOut"])
            din, dout = decimals[a["tokenIn"]], decimals[a["tokenOut"]]
            execution = Decimal(a["amountOut"]) / 10**dout / (Decimal(a["amountIn"]) / 10**din)
            oracle = Decimal(a["oracleAmountOut"]) / 10**dout / (Decimal(a["amountIn"]) / 10**din)
            assert abs(Decimal(t["execution_price"]) - execution) <= Decimal("1e-18")
            assert abs(Decimal(t["oracle_price"]) - oracle) <= Decimal("1e-18")
            assert Decimal(t["limit_price"]) == Decimal(a["limitPrice"]) / 10**18
            slippage = (oracle - execution) / oracle * 10_000
            assert abs(Decimal(t["slippage_bps"]) - slippage) < Decimal("0.001")
            assert int(t["loss"]) == a["loss"] and t["nonce"] == str(a["nonce"])
            assert Decimal(t["execution_price"]) >= Decimal(t["limit_price"])  # the vault enforced the limit
        unwinds = [t for t in trades["items"] if t["kind"] == "unwind"]
        assert len(unwinds) == len(sales) and all(t["keeper"] is None for t in unwinds)
        one = h.get(f"/vaults/{v.address}/trades/{signals[0]['id']}")
        assert one == signals[0]
        assert h.client.get(f"/vaults/{v.address}/trades/{trades['total'] + 1}").status_code == 404
        assert h.get(f"/vaults/{v.address}/trades", kind="unwind")["total"] == len(sales)
