"""An independent model of Cohort's fee rules, written from docs/DESIGN.md (Fees), not from the
contract. Integers throughout (the performance fee exactly, as a Fraction floored once), with the
rounding the design states (fees round down, in favour
of the investors who pay them). Prices per share are 1e18-scaled per whole share; shares have
six more decimals than the asset (the virtual offset), hence PPS_SCALE = 10**(18 + 6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

BPS = 10_000
YEAR = 365 * 24 * 3600
OFFSET = 6
PPS_SCALE = 10 ** (18 + OFFSET)
WAD = 10**18


def pps(nav: int, supply: int) -> int:
    return WAD if supply == 0 else nav * PPS_SCALE // supply


def shares_for_deposit(assets: int, nav: int, supply: int) -> int:
    """ERC-4626 with a virtual offset: floor(assets * (S + 10^6) / (NAV + 1)); an empty vault
    prices as if it held nothing."""
    nav = nav if supply else 0
    return assets * (supply + 10**OFFSET) // (nav + 1)


def assets_for_shares(shares: int, nav: int, supply: int) -> int:
    nav = nav if supply else 0
    return shares * (nav + 1) // (supply + 10**OFFSET)


@dataclass
class Accrual:
    management: int
    performance: int
    supply_after: int
    hwm: int


@dataclass
class FeeModel:
    management_bps: int
    performance_bps: int
    last_accrual: int
    hwm: int = 0
    supply: int = 0

    def accrue(self, nav: int, now: int) -> Accrual:
        """Management fee: the recipient must own f = m*dt/year after the mint, so mint
        S*f/(1-f). Performance fee on the price after that mint, over the high-water mark H:
        v = p*(pps-H)*S, shares v*S/(NAV-v); H becomes the price after that mint; H never falls."""
        s = self.supply
        if s == 0:
            self.last_accrual = now
            return Accrual(0, 0, 0, self.hwm)
        dt = now - self.last_accrual
        num = self.management_bps * dt  # f = num / (BPS * YEAR), at most one half
        num = min(num, BPS * YEAR // 2)
        management = s * num // (BPS * YEAR - num) if num else 0
        if management > 0 or self.management_bps == 0:
            self.last_accrual = now  # a fee too small to mint keeps accumulating time
        s1 = s + management
        price = nav * PPS_SCALE // s1
        performance = 0
        if price > self.hwm:
            if self.performance_bps:
                # exact rational value v = p * (pps - H) * S, shares v*S/(NAV - v) floored once
                value = Fraction(self.performance_bps * (price - self.hwm) * s1, BPS * PPS_SCALE)
                if 0 < value < nav:
                    performance = math.floor(value * s1 / (nav - value))
            if performance > 0 or self.performance_bps == 0:
                self.hwm = max(self.hwm, nav * PPS_SCALE // (s1 + performance))
        self.supply = s1 + performance
        return Accrual(management, performance, self.supply, self.hwm)

    def deposit(self, assets: int, nav_before: int) -> int:
        """Shares minted for `assets` after accrual; the first depositor sets H."""
        shares = shares_for_deposit(assets, nav_before, self.supply)
        if self.supply == 0:
            self.hwm = pps(nav_before + assets, shares)
        self.supply += shares
        return shares

    def burn(self, shares: int) -> None:
        self.supply -= shares
