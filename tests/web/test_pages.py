"""Pages that need no wallet: the vault list with its chart, and /docs (Swagger UI 5 reading OpenAPI 3.1)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from cohort.accounts import dev_account
from cohort.vault import Vault
from tests.web.conftest import SCREENSHOTS, OpenPage, Server


def test_root_is_the_app_and_lists_the_vault(app_server: Server, open_page: OpenPage, web_vault: Vault,
                                               w3: Any) -> None:
    app_server.wait_indexed(int(w3.eth.block_number))
    page = open_page(app_server.url + "/")
    expect(page.locator("main[data-ready]")).to_have_attribute("data-page", "vaults")
    row = page.locator(f'tr[data-vault="{web_vault.address}"]')
    expect(row).to_contain_text("2.00% / 20.00%")
    page.screenshot(path=SCREENSHOTS / "vaults.png", full_page=True)


def test_docs_render_the_openapi_31_document(app_server: Server, open_page: OpenPage) -> None:
    page = open_page(app_server.url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Cohort API")
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "docs.png")


def test_a_wallet_on_another_chain_is_refused_until_it_switches(app_server: Server, open_page: OpenPage,
                                                                web_vault: Vault, w3: Any) -> None:
    app_server.wait_indexed(int(w3.eth.block_number))
    page = open_page(f"{app_server.url}/#/invest/{web_vault.address}", account=dev_account(8), chain_id=1)
    page.locator("#connect-here").click()
    expect(page.locator("#chain")).to_have_text(f"wrong network: chain 1, Cohort is on {w3.eth.chain_id}")
    expect(page.locator("main")).to_contain_text(f"switch it to chain {w3.eth.chain_id} to act")
    expect(page.locator("#deposit")).to_be_disabled()
    expect(page.locator("#request")).to_be_disabled()
    page.screenshot(path=SCREENSHOTS / "wrong-chain.png")
    page.locator("#switch-chain").click()
    expect(page.locator("#chain")).to_have_text(f"chain {w3.eth.chain_id}")
    expect(page.locator("#switch-chain")).to_be_hidden()
    expect(page.locator("#deposit")).to_be_enabled()


def test_a_signal_signed_by_someone_else_is_refused_with_its_reason(app_server: Server, open_page: OpenPage,
                                                                   web_vault: Vault, w3: Any) -> None:
    app_server.wait_indexed(int(w3.eth.block_number))
    page = open_page(f"{app_server.url}/#/manage/{web_vault.address}", account=dev_account(9))
    page.locator("#connect-here").click()
    expect(page.locator("main")).to_contain_text("is not this vault's manager")
    page.locator("#limit").fill("0.0001")
    page.locator("#describe").click()
    expect(page.locator("#words")).to_contain_text("Sell 10% of the vault's USDC for WETH")
    page.locator("#sign").click()
    expect(page.locator("#sign-status")).to_contain_text("Not submitted: The keeper refused it")
    expect(page.locator("#sign-status")).to_contain_text("(bad_signature)")
