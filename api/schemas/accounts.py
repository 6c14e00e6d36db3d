"""The manager's view of a vault: every investor account."""

from __future__ import annotations

from pydantic import Field

from api.schemas.common import Address, Amount, Page, TokenOut, Valuation
from api.schemas.investors import AccountFigures


class AccountsOut(Valuation):
    vault: Address
    asset: TokenOut
    supply: Amount
    accounts: Page[AccountFigures] = Field(description="Accounts, sorted and filtered as asked.")
