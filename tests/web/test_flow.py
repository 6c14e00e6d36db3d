"""The whole journey in a real browser, with a wallet that signs: an investor deposits, the manager
signs a signal in the page that a running keeper executes, the investor requests a withdrawal, time
passes, the keeper settles, the investor claims and cancels the rest; a statement and the auditor's
view follow. At each step the figures in the page are the API's, exactly (data-raw) and in words."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
from playwright.sync_api import Page, expect
from web3 import Web3

from cohort import manifest as mf
from cohort.accounts import dev_account
from cohort.dev import devnet
from cohort.dev.anvil import DevChain
from cohort.dev.market import Market
from cohort.errors import ContractRevert
from cohort.tx import call
from cohort.units import format_price
from cohort.vault import Vault
from tests.conftest import Roles
from tests.web.conftest import SCREENSHOTS, OpenPage, Server

USDC = 10**6
LONG = 60_000  # ms: the longest the page may take to show what the keeper did
FIGURES = ("shares", "pending_shares", "equity", "net_deposits", "realised_pnl", "unrealised_pnl", "total_pnl",
           "fees_borne", "deposited_assets", "claimed_assets")


def shown(raw: int | str, decimals: int, places: int = 2) -> str:
    """How the page writes an amount: rounded half up, thousands grouped."""
    value = (Decimal(int(raw)) / Decimal(10) ** decimals).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    return f"{value:,.{places}f}"


def plain(raw: int, decimals: int) -> str:
    return f"{Decimal(raw).scaleb(-decimals):f}"


def field(page: Page, name: str) -> Any:
    return page.locator(f'[data-field="{name}"]').first


def assert_figures_are_the_apis(page: Page, server: Server, vault: Vault, investor: str, share_decimals: int) -> None:
    # The running keeper may mine a duty (a fee accrual) at any time: compare at one block, the
    # API's latest, once the page (live over the WebSocket) shows that block too.
    for _ in range(5):
        server.wait_indexed(int(field(page, "block_number").inner_text()))
        mam = server.get(f"/vaults/{vault.address}/investors/{investor}", tickets_limit=0)
        expect(field(page, "block_number")).to_have_text(str(mam["block_number"]), timeout=LONG)
        if int(field(page, "block_number").inner_text()) == mam["block_number"]:
            break
    else:
        raise AssertionError("the page and the API never showed the same block")
    for name in FIGURES:
        decimals = share_decimals if "shares" in name else mam["asset"]["decimals"]
        expect(field(page, name)).to_have_attribute("data-raw", mam[name])
        expect(field(page, name)).to_have_text(shown(mam[name], decimals))
    redemption = mam["redemption"]
    expect(field(page, "redemption_state")).to_have_text(redemption["state"])
    expect(field(page, "claimable_assets")).to_have_attribute("data-raw", redemption["claimable_assets"])


def test_invest_trade_withdraw_claim_in_the_browser(app_server: Server, open_page: OpenPage, web_vault: Vault,
                                                    w3: Web3, deployment: mf.Manifest, roles: Roles) -> None:
    vault, url = web_vault, app_server.url
    investor = dev_account(7)
    assert investor.address == roles.investors[0]
    devnet.fund(w3, deployment, "USDC", investor.address, 10_000 * USDC)
    share_decimals = int(vault.fn.decimals().call())
    usdc, weth = deployment.token("USDC").address, deployment.token("WETH").address
    app_server.wait_indexed(int(w3.eth.block_number))

    # ---- the investor connects, previews and deposits (approve + deposit, two transactions)
    page = open_page(f"{url}/#/invest/{vault.address}", account=investor)
    page.locator("#connect-here").click()
    expect(page.locator("#account")).to_have_attribute("data-address", investor.address)
    expect(page.locator("#chain")).to_have_text(f"chain {w3.eth.chain_id}")
    page.locator("#deposit-amount").fill("2,500")
    expect(field(page, "preview_shares")).to_have_attribute("data-raw", str(vault.preview_deposit(2_500 * USDC)))
    page.locator("#deposit").click()
    expect(field(page, "shares")).not_to_have_attribute("data-raw", "0", timeout=LONG)
    assert vault.balance_of(investor.address) > 0
    assert_figures_are_the_apis(page, app_server, vault, investor.address, share_decimals)
    expect(field(page, "deposited_assets")).to_have_attribute("data-raw", str(2_500 * USDC))

    # ---- the manager describes a trade, reads it in words, signs it in the page; the keeper executes it
    manager = open_page(f"{url}/#/manage/{vault.address}", account=roles.manager)
    manager.locator("#connect-here").click()
    expect(manager.locator("main")).to_contain_text("Your wallet is this vault's manager.")
    manager.locator("#token-in").select_option(usdc)
    manager.locator("#token-out").select_option(weth)
    manager.locator("#size").fill("30")
    spot = Market(w3, deployment).spot_price("WETH")  # USDC per WETH
    limit = (Decimal(1) / spot * Decimal("0.97")).quantize(Decimal("1e-12"))  # least WETH per USDC
    manager.locator("#limit").fill(str(limit))
    manager.locator("#describe").click()
    expect(manager.locator("#words")).to_contain_text(
        f"Sell 30% of the vault's USDC for WETH on Uniswap V3 (0.3% pools), at least {format_price(limit)} WETH "
        "per USDC")
    manager.locator("#sign").click()
    state = manager.locator('#signal-table tr[data-signal] [data-field="state"]').first
    expect(state).to_have_text("executed", timeout=LONG)
    # "executed" is the keeper's word; the API answers once its indexer has reached that block
    app_server.wait_indexed(w3.eth.block_number)
    trades = app_server.get(f"/vaults/{vault.address}/trades", kind="signal")["items"]
    assert len(trades) == 1 and trades[0]["keeper"] == roles.keeper
    expect(field(manager, "execution_price")).to_have_attribute("data-raw", trades[0]["execution_price"])
    manager.screenshot(path=SCREENSHOTS / "manager.png", full_page=True)

    # ---- the investor sees their slice of the trade
    page.reload()  # the wallet remembers the site: connected without asking again
    expect(page.locator("#account")).to_have_attribute("data-address", investor.address)
    expect(page.locator("#tickets tr[data-trade]")).to_have_count(1)
    ticket = app_server.get(f"/vaults/{vault.address}/investors/{investor.address}")["tickets"]["items"][0]
    expect(field(page, "slice_in")).to_have_attribute("data-raw", ticket["amount_in"])
    expect(field(page, "slice_out")).to_have_attribute("data-raw", ticket["amount_out"])

    # ---- a request the vault refuses is named in words; then a real request
    owned = vault.balance_of(investor.address)
    page.locator("#redeem-shares").fill(plain(owned * 2, share_decimals))
    try:
        call(vault.fn.requestRedeem(owned * 2, investor.address, investor.address), sender=investor.address)
        raise AssertionError("requesting twice one's shares should revert")
    except ContractRevert as exc:
        refused = exc.name
    page.locator("#request").click()
    expect(page.locator("#withdraw-status")).to_contain_text(f"({refused}")
    expect(page.locator("#withdraw-status")).to_contain_text("Failed: ")

    request = owned // 2
    page.locator("#redeem-shares").fill(plain(request, share_decimals))
    page.locator("#request").click()
    expect(field(page, "redemption_state")).to_have_text("pending", timeout=LONG)
    epoch = vault.redeem_request_of(investor.address).epoch
    matures = int(vault.fn.epochMaturesAt(epoch).call())
    expect(field(page, "settleable_at")).to_have_attribute("data-raw", str(matures))
    expect(field(page, "redemption_pending")).to_have_attribute("data-raw", str(request))
    expect(page.locator("#gate-explained")).to_contain_text("at most 25.00% of NAV")
    assert_figures_are_the_apis(page, app_server, vault, investor.address, share_decimals)
    page.screenshot(path=SCREENSHOTS / "investor-pending.png", full_page=True)

    # ---- time passes; the keeper settles (the gate pays part); the page updates itself over the WebSocket
    chain = DevChain(w3)
    chain.increase_time(matures - chain.timestamp() + 1)
    expect(field(page, "claimable_assets")).not_to_have_attribute("data-raw", "0", timeout=LONG)
    assert_figures_are_the_apis(page, app_server, vault, investor.address, share_decimals)

    # ---- claim, then cancel what the gate left pending
    before = int(call(devnet.token(w3, deployment, "USDC").functions.balanceOf(investor.address)))
    claimable = int(field(page, "claimable_assets").get_attribute("data-raw"))
    page.locator("#claim").click()
    expect(field(page, "claimed_assets")).to_have_attribute("data-raw", str(claimable), timeout=LONG)
    after = int(call(devnet.token(w3, deployment, "USDC").functions.balanceOf(investor.address)))
    assert after - before == claimable
    if vault.redeem_request_of(investor.address).pending:
        page.locator("#cancel").click()
        expect(field(page, "redemption_pending")).to_have_attribute("data-raw", "0", timeout=LONG)
    assert vault.redeem_request_of(investor.address).pending == 0
    assert_figures_are_the_apis(page, app_server, vault, investor.address, share_decimals)
    page.screenshot(path=SCREENSHOTS / "investor.png", full_page=True)

    # ---- the statement: printable rows and the CSV, the API's own
    rows = app_server.get(f"/app/vaults/{vault.address}/investors/{investor.address}/statement")
    assert [r["event"] for r in rows][:3] == ["Deposit", "RedeemRequest", "Withdraw"]
    page.goto(f"{url}/#/statement/{vault.address}/{investor.address}")
    expect(page.locator("#statement tbody tr")).to_have_count(len(rows))
    expect(page.locator("#statement tbody tr").first).to_contain_text("Deposit 2500 USDC")
    with page.expect_download() as download:
        page.get_by_text("Download CSV").click()
    csv_bytes = httpx.get(f"{url}/app/vaults/{vault.address}/investors/{investor.address}/statement.csv").content
    assert download.value.path().read_bytes() == csv_bytes
    csv_text = csv_bytes.decode()
    assert "2500" in csv_text.splitlines()[1]
    page.screenshot(path=SCREENSHOTS / "statement.png", full_page=True)

    # ---- the auditor: the books reconcile; the log filters; the CSV is the API's
    audit = open_page(f"{url}/#/audit/{vault.address}")
    expect(audit.locator("#recon-ok")).to_have_attribute("data-ok", "true")
    audit.locator("#f-name").fill("Deposit")
    audit.locator("#filters button[type=submit]").click()
    deposits = app_server.get(f"/vaults/{vault.address}/events", name="Deposit")["total"]
    expect(audit.locator("#event-table tbody tr")).to_have_count(deposits)
    expect(audit.locator('#event-table tbody tr:not([data-event="Deposit"])')).to_have_count(0)
    assert audit.locator("#csv").get_attribute("href") == f"/vaults/{vault.address}/events.csv?name=Deposit"
    audit.locator("#f-name").fill("")
    audit.locator("#filters button[type=submit]").click()
    expect(audit.locator("#page")).to_have_attribute(
        "data-total", str(app_server.get(f"/vaults/{vault.address}/events", limit=1)["total"]))
    audit.screenshot(path=SCREENSHOTS / "auditor.png", full_page=True)

    # ---- the vault list shows the vault's figures as the API has them
    listing = open_page(f"{url}/#/vaults")
    compared = next(v for v in app_server.get("/app/vaults") if v["detail"]["address"] == vault.address)
    row = listing.locator(f'tr[data-vault="{vault.address}"]')
    expect(row.locator('[data-field="nav"]')).to_have_attribute("data-raw", compared["detail"]["nav"])
    expect(row.locator('[data-field="price_per_share"]')).to_have_attribute("data-raw",
                                                                             compared["detail"]["price_per_share"])
    expect(row.locator('[data-field="return"]')).to_have_attribute("data-raw", compared["return_since_inception"])
    expect(row.locator('[data-field="max_drawdown"]')).to_have_attribute("data-raw", compared["max_drawdown"])
    listing.screenshot(path=SCREENSHOTS / "vaults-after.png", full_page=True)
