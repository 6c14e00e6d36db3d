"""Typed numbers and the shared settings: one amount format, refused with a sentence otherwise,
and one RPC setting that the CLI, the keeper and the API all honour."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from api.settings import Settings as ApiSettings
from cohort import units as u
from cohort.artifacts import REPO_ROOT
from cohort.settings import CohortSettings
from cohort.signals import new_nonce
from keeper.settings import load_settings


@pytest.mark.parametrize(("text", "units"), [("1234.56", 1_234_560_000), ("1_234.56", 1_234_560_000),
                                             ("0.5", 500_000), ("1000", 1_000_000_000), (" 7 ", 7_000_000)])
def test_amounts_take_a_dot_for_decimals_and_optional_underscores(text: str, units: int) -> None:
    assert u.parse_amount(text, 6, "USDC") == units


@pytest.mark.parametrize("text", ["1,5", "10,00", "1.000,50", "1,000", "nan", "NaN", "inf", "-inf", "-5", "1e3",
                                  "+5", "", "1__0", "_1", "1.", ".5", "0x10", "1 000"])
def test_every_other_amount_is_refused_with_the_format_to_use(text: str) -> None:
    with pytest.raises(u.UnitsError, match="write digits with a dot before the decimals"):
        u.parse_amount(text, 6, "USDC")


def test_a_comma_is_called_ambiguous_and_too_many_decimals_are_named() -> None:
    with pytest.raises(u.UnitsError, match="commas are ambiguous"):
        u.parse_amount("1,5", 6)
    with pytest.raises(u.UnitsError, match="more than 6 decimals, the most USDC can have"):
        u.parse_amount("1.0000001", 6, "USDC")
    with pytest.raises(u.UnitsError, match="above zero"):
        u.parse_price("0", "a --max-price")


def test_fractions_and_durations() -> None:
    assert [u.parse_bps(x) for x in ("25%", "2500bps", "0.25", "0.01%", "100%")] == [2500, 2500, 2500, 1, 10_000]
    for bad in ("0%", "101%", "0.001%", "nan%", "1,5%"):
        with pytest.raises(u.UnitsError):
            u.parse_bps(bad)
    assert [u.parse_duration(x) for x in ("90s", "30m", "1h", "+2d", "1w", "3600", "1.5h")] == [
        90, 1800, 3600, 172_800, 604_800, 3600, 5400]
    for bad in ("soon", "-1h", "0s", "1,5h", "inf"):
        with pytest.raises(u.UnitsError, match=r"duration|positive"):
            u.parse_duration(bad)


def test_amounts_and_prices_print_in_whole_tokens() -> None:
    assert u.format_amount(1_234_560_000, 6) == "1,234.56"
    assert u.format_amount(10**18, 18, 6) == "1.000000"
    assert u.format_price(Decimal("3100")) == "3,100.00"
    assert u.format_price(Decimal("0.000322580645")) == "0.000322581"
    assert u.format_price(Decimal("0.01")) == "0.01"
    assert u.format_price(Decimal(1)) == "1.00" and u.format_price(Decimal("1.5")) == "1.50"
    assert (u.format_bps(30), u.format_bps(2500)) == ("0.3%", "25%")
    assert [u.format_duration(s) for s in (86_400, 5400, 3598, 45, 0, -65)] == [
        "1d", "1h 30m", "59m 58s", "45s", "0s", "-1m 5s"]


def test_nonces_drawn_back_to_back_differ() -> None:
    drawn = [new_nonce() for _ in range(1000)]
    assert len(set(drawn)) == len(drawn)


def test_cohort_rpc_url_reaches_the_cli_the_keeper_and_the_api(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    manifest = tmp_path / "local.json"
    manifest.write_text("{}")
    for name in ("COHORT_RPC_URL", "KEEPER_RPC_URL", "API_RPC_URL"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "keeper.toml"
    config.write_text('[keeper]\nrpc_url = "http://from-toml:1"\n')
    # the old names still work while the shared one is unset
    monkeypatch.setenv("KEEPER_RPC_URL", "http://old-keeper:1")
    monkeypatch.setenv("API_RPC_URL", "http://old-api:1")
    assert load_settings(config).rpc_url == "http://old-keeper:1"
    assert ApiSettings().rpc_url == "http://old-api:1"
    # the shared name wins over them and over the keeper's file; flags and overrides win over it
    monkeypatch.setenv("COHORT_RPC_URL", "http://shared:9545")
    assert load_settings(config).rpc_url == "http://shared:9545"
    assert load_settings(config, rpc_url="http://flag:1").rpc_url == "http://flag:1"
    assert ApiSettings().rpc_url == "http://shared:9545"
    assert ApiSettings(rpc_url="http://flag:1").rpc_url == "http://flag:1"
    assert CohortSettings(manifest=manifest).node_url() == "http://shared:9545"


def test_the_cli_falls_back_to_the_manifests_rpc_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("COHORT_RPC_URL", raising=False)
    data = json.loads((REPO_ROOT / "deployments" / "template.json").read_text())
    data["rpcUrl"] = "http://127.0.0.1:9545"
    manifest = tmp_path / "local.json"
    manifest.write_text(json.dumps(data))
    assert CohortSettings(manifest=manifest).node_url() == "http://127.0.0.1:9545"
    assert CohortSettings(manifest=tmp_path / "missing.json").node_url() == "http://127.0.0.1:8545"
