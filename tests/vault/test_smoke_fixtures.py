from cohort.vault import Vault
from tests.conftest import Roles
from tests.helpers import Market, SignalBook, deposit, reverts


def test_fixture_vault_trades_and_reverts_by_name(w3, deployment, vault: Vault, roles: Roles, v3) -> None:
    shares = deposit(w3, deployment, vault, roles.investors[0], 10_000 * 10**6)
    assert shares == 10_000 * 10**12
    book = SignalBook(vault, deployment, roles.manager)
    book.execute(roles.keeper, "USDC", "WETH", size_bps=2000)
    assert vault.holdings(deployment.token("WETH").address) > 0
    with reverts("CohortNotKeeper"):
        book.execute(roles.outsider, "USDC", "WETH")
    Market(w3, deployment, v3).move("WETH", 5)
