"""The strategy pages: every strategy, then one with its followers' rules in words, its master trade's
block price, each follower's fill as the chain logged it and the skipped followers' reasons; the
investor's ticket links to the strategy trade it came from."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from cohort import manifest as mf
from cohort.accounts import dev_account
from tests.api.mam_scenario import build_mam
from tests.conftest import Roles
from tests.web.conftest import SCREENSHOTS, OpenPage, Server


def test_a_strategy_page_shows_followers_fills_at_one_price_and_skips(
        app_server: Server, open_page: OpenPage, w3: Any, deployment: mf.Manifest, roles: Roles) -> None:
    mam = build_mam(w3, deployment, roles)
    app_server.wait_indexed(int(w3.eth.block_number))
    listing = open_page(f"{app_server.url}/#/strategies")
    expect(listing.locator("main[data-ready]")).to_have_attribute("data-page", "strategies")
    expect(listing.locator(f'tr[data-strategy="{mam.strategy_id}"]')).to_contain_text("Trend")
    listing.locator(f'tr[data-strategy="{mam.strategy_id}"] a').click()

    page = listing
    expect(page.locator("main[data-ready] h1")).to_have_text(f"Strategy #{mam.strategy_id}: Trend")
    v = mam.vaults
    expect(page.locator("#current-followers tr[data-follower]")).to_have_count(3)
    aggressive = page.locator(f'#current-followers tr[data-follower="{v["aggressive"].address}"] [data-field=rule]')
    expect(aggressive).to_contain_text("1.5x the master's size")
    expect(page.locator(f'#former-followers tr[data-follower="{v["conservative"].address}"]')).to_contain_text("0.5x")
    served = app_server.get(f"/strategies/{mam.strategy_id}/trades")["items"][0]
    executions = page.locator(".execution")
    expect(executions).to_have_count(2)
    first = executions.nth(0)
    expect(first.locator("[data-field=block_price]")).to_have_attribute("data-raw",
                                                                         served["executions"][0]["block_price"])
    for vault, log in mam.executions[0].fills.items():
        row = first.locator(f'tr[data-fill="{vault}"]')
        expect(row.locator("[data-field=amount_in]")).to_have_attribute("data-raw", str(log["amountIn"]))
        expect(row.locator("[data-field=amount_out]")).to_have_attribute("data-raw", str(log["amountOut"]))
    expect(first.locator(f'tr[data-skip="{v["paused"].address}"]')).to_have_attribute("data-error", "CohortPaused")
    expect(first.locator(f'tr[data-skip="{v["paused"].address}"]')).to_contain_text("the vault is paused")
    expect(first.locator(f'tr[data-skip="{v["picky"].address}"]')).to_contain_text("price tolerance")
    page.screenshot(path=SCREENSHOTS / "strategy.png", full_page=True)

    investor = next(i for i in range(20) if dev_account(i).address == mam.investors["aggressive"])
    invest = open_page(f"{app_server.url}/#/invest/{v['aggressive'].address}", account=dev_account(investor))
    invest.locator("#connect-here").click()
    link = invest.locator("#tickets [data-field=ticket_strategy]")
    expect(link).to_have_attribute("data-raw", str(mam.strategy_id))
    link.click()
    expect(invest.locator("main[data-ready] h1")).to_have_text(f"Strategy #{mam.strategy_id}: Trend")
