"""`cohort vaults`: every vault of the manifest with its NAV, price, fees and withdrawal terms."""

from __future__ import annotations

import argparse
from typing import Any

from cohort import units as u
from cohort.cli.context import Context

NO_CAP = 2**128 - 1


def cmd_vaults(ctx: Context) -> None:
    rows: list[dict[str, Any]] = []
    lines: list[str] = []
    for label, info in ctx.manifest.cohort.vaults.items():
        v = ctx.vault(info.address)
        un = ctx.units(v)
        nav, healthy = v.valuation()
        fees = v.fee_state()
        queue = v.queue_state()
        limits = v.deposit_limits()
        notice, gate = queue.notice_period, queue.gate_bps
        pps = v.price_per_share()
        rows.append({"label": label, "address": info.address, "name": info.name, "symbol": un.share_symbol,
                     "asset": un.asset_symbol, "nav": nav, "pricePerShare": pps, "healthy": healthy,
                     "manager": info.manager, "managementFeeBps": fees.management_fee_bps,
                     "performanceFeeBps": fees.performance_fee_bps, "noticePeriod": notice, "gateBps": gate,
                     "minDeposit": limits.min_deposit, "depositCap": limits.deposit_cap})
        cap = limits.deposit_cap
        cap_text = "no cap" if cap >= NO_CAP or cap == 0 else f"cap {un.assets(cap)}"
        lines += [f"{label}  {info.name} ({un.share_symbol})  {info.address}",
                  f"    NAV {un.assets(nav)}, {u.format_price(u.to_decimal(pps, 18))} "
                  f"{un.asset_symbol} per share{'' if healthy else ' (oracle unhealthy: deposits wait)'}",
                  f"    fees {u.format_bps(fees.management_fee_bps)} a year on NAV + "
                  f"{u.format_bps(fees.performance_fee_bps)} of gains above the high-water mark",
                  f"    withdrawals: {u.format_duration(notice)} notice, gate {u.format_bps(gate)} of NAV per epoch; "
                  f"deposits from {un.assets(limits.min_deposit)}, {cap_text}"]
    ctx.emit({"vaults": rows}, lines or [f"no vaults in {ctx.settings.manifest}"])


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("vaults", parents=[common],
                       help="the manifest's vaults: NAV, price per share, fees, notice, gate, minimum")
    p.set_defaults(run=cmd_vaults)
