"""Manager-signed trade signals (issue 5; SECURITY 18-22): EIP-712 parity, replay and
cross-domain protection, signature forms, tamper-proofing, price protection, risk limits, the
drawdown breaker, routes and reentrancy."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_account import Account
from web3 import Web3

from cohort import manifest as mf
from cohort import signals
from cohort.accounts import dev_account
from cohort.artifacts import project_artifact
from cohort.deploy import deploy
from cohort.dev import devnet
from cohort.dev.anvil import DevChain
from cohort.onchain import SizeMode
from cohort.protocol import RiskLimits, VaultConfig, two_hop_path, v2_route
from cohort.tx import call, transact
from cohort.vault import Vault
from tests.conftest import Roles, make_vault
from tests.helpers import Market, SignalBook, deposit, log_names, reverts

USDC = 10**6
DAY = 86_400
SECP256K1_N = signals.SECP256K1_N


@pytest.fixture()
def funded(w3: Web3, deployment: mf.Manifest, vault: Vault, roles: Roles) -> SignalBook:
    deposit(w3, deployment, vault, roles.investors[0], 500_000 * USDC)
    return SignalBook(vault, deployment, roles.manager)


def test_python_and_the_contract_share_one_signal_definition(vault: Vault, funded: SignalBook) -> None:
    assert bytes(call(vault.fn.tradeSignalTypehash())) == signals.typehash()
    assert signals.type_string() == (
        "TradeSignal(address tokenIn,address tokenOut,uint8 sizeMode,uint16 sizeBps,uint256 limitPrice,"
        "uint16 maxSlippageBps,address adapter,bytes path,uint256 nonce,uint256 deadline)")
    for kwargs in ({}, {"route": "v2"}, {"size_mode": SizeMode.NAV, "nonce": 2**255 + 7}):
        signed = funded.signed("USDC", "WETH", **kwargs)
        assert vault.signal_digest(signed) == signed.digest
    domain = vault.domain()
    assert (domain.name, domain.version, domain.verifying_contract) == ("Cohort Alpha USDC", "1", vault.address)
    # JSON round trip keeps the signature valid
    signed = funded.signed()
    again = signals.SignedSignal.from_json_dict(signed.to_json_dict())
    assert signals.verify(again, domain, funded.manager.address) == signed.digest


def test_a_signal_executes_once(w3: Web3, vault: Vault, funded: SignalBook, roles: Roles,
                                deployment: mf.Manifest) -> None:
    signed = funded.signed("USDC", "WETH", size_bps=2000)
    receipt = vault.execute_signal(signed, roles.keeper)
    (trade,) = vault.events(receipt, "TradeExecuted")
    assert (trade["digest"], trade["nonce"], trade["keeper"]) == (signed.digest, signed.signal.nonce, roles.keeper)
    assert trade["amountIn"] == 100_000 * USDC  # 20% of the vault's USDC
    assert vault.holdings(deployment.token("WETH").address) == trade["amountOut"]
    assert vault.nonce_used(signed.signal.nonce)
    with reverts("CohortNonceUsed", signed.signal.nonce):
        vault.execute_signal(signed, roles.keeper)


def test_a_signal_for_one_vault_fails_on_another(w3: Web3, deployment: mf.Manifest, funded: SignalBook,
                                                 roles: Roles) -> None:
    other = make_vault(w3, deployment, roles, "other")
    deposit(w3, deployment, other, roles.investors[1], 100_000 * USDC)
    signed = funded.signed("USDC", "WETH")
    with reverts("CohortInvalidSignature"):
        other.execute_signal(signed, roles.keeper)
    # the manager signs for each vault it trades; sizes are fractions, so the same intent fits both
    twin = signals.sign(signed.signal, other.domain(), roles.manager)
    other.execute_signal(twin, roles.keeper)
    funded.vault.execute_signal(signed, roles.keeper)


def test_old_signatures_fail_after_a_chain_id_change(w3: Web3, chain: DevChain, vault: Vault, funded: SignalBook,
                                                     roles: Roles, anvil) -> None:
    signed = funded.signed()
    chain.set_chain_id(4242)
    try:
        # anvil's own signer keeps the old chain id: the keeper signs locally, as on a real network
        from cohort.chain import connect

        keeper = dev_account(2)
        assert keeper.address == roles.keeper
        local = Vault(connect(anvil.rpc_url, accounts=(keeper,)), vault.address)
        with reverts("CohortInvalidSignature"):
            local.execute_signal(signed, roles.keeper)
        assert local.domain().chain_id == 4242
        local.execute_signal(signals.sign(signed.signal, local.domain(), roles.manager), roles.keeper)
    finally:
        chain.set_chain_id(31337)


def test_expired_and_wrongly_signed_signals_fail(chain: DevChain, vault: Vault, funded: SignalBook,
                                                roles: Roles) -> None:
    now = chain.timestamp()
    with reverts("CohortSignalExpired"):
        vault.execute_signal(funded.signed(deadline=now - 1), roles.keeper)
    stranger = Account.create()
    with reverts("CohortInvalidSignature"):
        vault.execute_signal(funded.sign(funded.build(), signer=stranger), roles.keeper)


def test_malleable_high_s_signatures_fail(vault: Vault, funded: SignalBook, roles: Roles) -> None:
    signed = funded.signed()
    sig = signed.signature
    r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
    flipped = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])  # 27 <-> 28
    malleable = replace(signed, signature=flipped)
    with pytest.raises(signals.SignalError, match="high s"):
        signals.recover(malleable, vault.domain())  # refused offline too
    with reverts("CohortInvalidSignature"):
        vault.execute_signal(malleable, roles.keeper)
    vault.execute_signal(signed, roles.keeper)


def test_a_contract_manager_signs_through_erc1271(w3: Web3, deployment: mf.Manifest, roles: Roles) -> None:
    owner = dev_account(9)
    wallet = deploy(w3, project_artifact("TestContractWallet"), owner.address, sender=roles.deployer)
    safe_vault = make_vault(w3, deployment, roles, "safe-managed", manager=wallet.address)
    deposit(w3, deployment, safe_vault, roles.investors[0], 100_000 * USDC)
    book = SignalBook(safe_vault, deployment, owner)  # the wallet's owner produces the signature
    safe_vault.execute_signal(book.signed("USDC", "WETH"), roles.keeper)
    with reverts("CohortInvalidSignature"):
        safe_vault.execute_signal(book.sign(book.build(), signer=Account.create()), roles.keeper)
    # the contract manager cancels a nonce on-chain
    pending = book.signed("USDC", "WETH")
    nonce = pending.signal.nonce
    data = safe_vault.contract.encode_abi("invalidateNonces", [nonce >> 8, 1 << (nonce & 255)])
    transact(wallet.functions.execute(safe_vault.address, data), owner.address)
    with reverts("CohortNonceUsed"):
        safe_vault.execute_signal(pending, roles.keeper)


@pytest.mark.parametrize("field,value", [
    ("size_bps", 9000), ("size_mode", SizeMode.NAV), ("limit_price", 1), ("max_slippage_bps", 99),
    ("nonce", 123_456_789), ("deadline", 2**41), ("token_out", "WBTC"), ("route", "v2"),
])
def test_a_keeper_cannot_alter_any_field(field: str, value, vault: Vault, funded: SignalBook, roles: Roles,
                                         deployment: mf.Manifest) -> None:
    signed = funded.signed("USDC", "WETH")
    if field == "token_out":
        altered = replace(signed.signal, token_out=deployment.token("WBTC").address)
    elif field == "route":
        altered = replace(signed.signal, adapter=deployment.cohort.adapters["uniswap-v2"],
                          path=v2_route(deployment, "USDC", "WETH"))
    else:
        altered = replace(signed.signal, **{field: value})
    with reverts("CohortInvalidSignature"):
        vault.execute_signal(replace(signed, signal=altered), roles.keeper)


def test_zero_or_loose_limits_are_refused(vault: Vault, funded: SignalBook, roles: Roles) -> None:
    sig = funded.build()
    for altered, error in (
        (replace(sig, limit_price=0), "CohortZeroLimitPrice"),
        (replace(sig, max_slippage_bps=0), "CohortSlippageOutOfRange"),
        (replace(sig, max_slippage_bps=101), "CohortSlippageOutOfRange"),  # looser than the vault allows
        (replace(sig, size_bps=0), "CohortInvalidSize"),
        (replace(sig, size_mode=1, size_bps=10_001), "CohortInvalidSize"),
    ):
        with reverts(error):
            vault.execute_signal(funded.sign(altered), roles.keeper)


def test_a_sandwich_makes_the_trade_revert_instead_of_filling_badly(w3: Web3, chain: DevChain,
                                                                    deployment: mf.Manifest,
                                                                    vault: Vault, funded: SignalBook,
                                                                    roles: Roles, v3) -> None:
    signed = funded.signed("USDC", "WETH", size_bps=2000)
    market = Market(w3, deployment, v3)
    with chain.isolated():
        market.move("WETH", 3)  # a front-run past the spot/TWAP bound: refused outright
        with reverts("CohortPriceDeviation"):
            vault.execute_signal(signed, roles.keeper)
    market.move("WETH", 1.5)  # within the bound: the price the vault would pay jumps; the TWAP does not
    with reverts("AdapterSwapFailed"):  # the router could not meet the oracle-bounded minimum
        vault.execute_signal(signed, roles.keeper)
    assert vault.holdings(deployment.token("WETH").address) == 0
    market.move("WETH", -1.5)  # back-run finds nothing to take
    vault.execute_signal(signed, roles.keeper)  # and the honest fill still works


def test_the_signed_limit_price_binds_when_it_is_stricter(vault: Vault, funded: SignalBook, roles: Roles) -> None:
    with reverts("AdapterSwapFailed"):  # 1 USDC for 0.0005 WETH (2000 USD/ETH): unreachable
        vault.execute_signal(funded.signed("USDC", "WETH", limit="0.0005"), roles.keeper)
    vault.execute_signal(funded.signed("USDC", "WETH", limit="0.00032"), roles.keeper)  # ~3125


def test_trade_size_is_capped_against_nav_and_sizes_scale_with_the_vault(w3: Web3, deployment: mf.Manifest,
                                                                         vault: Vault, funded: SignalBook,
                                                                         roles: Roles) -> None:
    with reverts("CohortTradeTooLarge"):
        vault.execute_signal(funded.signed("USDC", "WETH", size_bps=6000), roles.keeper)  # cap: 50% of NAV
    receipt = vault.execute_signal(funded.signed("USDC", "WETH", size_bps=1000, size_mode=SizeMode.NAV),
                                   roles.keeper)
    nav_before = 500_000 * USDC
    assert vault.events(receipt, "TradeExecuted")[0]["amountIn"] == nav_before // 10
    # a NAV-sized sale of WETH is sized in WETH at the oracle price
    receipt = vault.execute_signal(funded.signed("WETH", "USDC", size_bps=500, size_mode=SizeMode.NAV),
                                   roles.keeper)
    (sale,) = vault.events(receipt, "TradeExecuted")
    assert abs(sale["oracleAmountOut"] - vault.nav() // 20) < vault.nav() // 1000


def test_the_loss_budget_caps_value_lost_against_the_oracle_and_refills(w3: Web3, chain: DevChain,
                                                                        deployment: mf.Manifest,
                                                                        roles: Roles) -> None:
    tight = make_vault(w3, deployment, roles, "tight-loss", VaultConfig(risk=RiskLimits(loss_budget_bps=10)))
    deposit(w3, deployment, tight, roles.investors[0], 500_000 * USDC)  # budget: 500 USDC a day
    book = SignalBook(tight, deployment, roles.manager)
    receipt = book.execute(roles.keeper, "USDC", "WETH", size_bps=1000)  # 50k: ~0.35% lost, ~175 USDC
    first = tight.events(receipt, "TradeExecuted")[0]["loss"]
    assert 0 < first < 500 * USDC
    chain.increase_time(1800)  # the TWAP follows; what was lost stays booked for the window
    used, capacity = call(tight.fn.lossBudget())
    assert used == first and capacity >= 500 * USDC - 10 * USDC
    with reverts("CohortLossBudgetExceeded"):  # 200k more would lose ~700 USDC: over what is left
        book.execute(roles.keeper, "USDC", "WETH", size_bps=4500)
    chain.increase_time(2 * DAY)  # the window after the loss's own has ended: free again
    assert call(tight.fn.lossBudget())[0] == 0
    book.execute(roles.keeper, "USDC", "WETH", size_bps=1500)  # ~68k: fee + impact ~0.4%, within 500


def test_routes_v2_and_two_hop_v3_execute_and_book_measured_amounts(w3: Web3, deployment: mf.Manifest,
                                                                   vault: Vault, funded: SignalBook,
                                                                   roles: Roles) -> None:
    wbtc = deployment.token("WBTC").address
    receipt = funded.execute(roles.keeper, "USDC", "WETH", size_bps=1000, route="v2")
    assert vault.events(receipt, "TradeExecuted")[0]["amountOut"] > 0
    path = two_hop_path(deployment, "USDC", "WETH", "WBTC")
    receipt = funded.execute(roles.keeper, "USDC", "WBTC", size_bps=1000, path=path)
    (trade,) = vault.events(receipt, "TradeExecuted")
    assert vault.holdings(wbtc) == trade["amountOut"] > 0
    with reverts("AdapterInvalidPath"):  # a route that does not end in tokenOut
        funded.execute(roles.keeper, "USDC", "WBTC", path=two_hop_path(deployment, "USDC", "WBTC", "WETH"))


def test_unlisted_tokens_and_unknown_adapters_are_refused(w3: Web3, deployment: mf.Manifest, vault: Vault,
                                                          funded: SignalBook, roles: Roles) -> None:
    sig = funded.build()
    with reverts("CohortAdapterNotAllowed"):
        vault.execute_signal(funded.sign(replace(sig, adapter=roles.outsider)), roles.keeper)
    other = deploy(w3, project_artifact("TestToken"), "X", "X", 18, sender=roles.deployer)
    with reverts("CohortAssetNotListed"):
        vault.execute_signal(funded.sign(replace(sig, token_out=other.address)), roles.keeper)
    with reverts("CohortSameToken"):
        vault.execute_signal(funded.sign(replace(sig, token_out=sig.token_in)), roles.keeper)


def test_the_manager_can_cancel_nonces_on_chain(vault: Vault, funded: SignalBook, roles: Roles) -> None:
    a, b = funded.signed(nonce=5_000), funded.signed(nonce=5_001)
    receipt = transact(vault.fn.invalidateNonces(5_000 >> 8, 1 << (5_000 & 255)), roles.manager.address)
    assert log_names(vault, receipt) == ["NoncesInvalidated"]
    with reverts("CohortNonceUsed", 5_000):
        vault.execute_signal(a, roles.keeper)
    vault.execute_signal(b, roles.keeper)


def test_the_drawdown_breaker_goes_risk_off_and_anyone_can_derisk(w3: Web3, chain: DevChain,
                                                                 deployment: mf.Manifest, roles: Roles,
                                                                 v3) -> None:
    vault = make_vault(w3, deployment, roles, "breaker", VaultConfig(risk=RiskLimits(drawdown_bps=1000)))
    deposit(w3, deployment, vault, roles.investors[0], 400_000 * USDC)
    book = SignalBook(vault, deployment, roles.manager)
    market = Market(w3, deployment, v3)
    book.execute(roles.keeper, "USDC", "WETH", size_bps=5000)
    market.settle_twap(1800)  # a second buy right away would pay above the lagging TWAP and be refused
    book.execute(roles.keeper, "USDC", "WETH", size_bps=5000)  # ~75% in WETH
    with reverts("CohortBreakerNotTripped"):
        transact(vault.fn.tripBreaker(), roles.outsider)
    market.move("WETH", -25)
    market.settle_twap()  # the TWAP has followed: the price per share is down ~19% from H
    with reverts("CohortRiskOff"):  # only trades into the base asset pass
        book.execute(roles.keeper, "USDC", "WETH", size_bps=1000)
    receipt = transact(vault.fn.tripBreaker(), roles.outsider)  # anyone
    assert log_names(vault, receipt) == ["RiskOffEntered"]
    weth = deployment.token("WETH").address
    held = vault.holdings(weth)
    receipt = transact(vault.fn.derisk(weth, 5000), roles.outsider)  # anyone, at an oracle-bounded price
    (sold,) = vault.events(receipt, "LiquiditySold")
    assert sold["reason"] == 1 and sold["amountIn"] == held // 2
    assert sold["amountOut"] >= sold["oracleAmountOut"] * 99 // 100
    book.execute(roles.keeper, "WETH", "USDC", size_bps=5000)  # the manager may still de-risk too
    with reverts("CohortNotOwner"):
        transact(vault.fn.resetRiskOff(), roles.outsider)
    receipt = transact(vault.fn.resetRiskOff(), roles.owner)  # governance resets
    assert log_names(vault, receipt) == ["RiskOffExited"]
    book.execute(roles.keeper, "USDC", "WETH", size_bps=500)  # risk-on again


def test_moving_the_pool_30pct_then_depositing_or_settling_gives_no_profit(w3: Web3, chain: DevChain,
                                                                          deployment: mf.Manifest, vault: Vault,
                                                                          funded: SignalBook, roles: Roles,
                                                                          v3) -> None:
    funded.execute(roles.keeper, "USDC", "WETH", size_bps=5000)
    leaver = roles.investors[1]
    shares = deposit(w3, deployment, vault, leaver, 50_000 * USDC)
    vault.request_redeem(shares, leaver)
    chain.increase_time(2 * DAY)
    market = Market(w3, deployment, v3)
    market.move("WETH", 30)  # manipulate the spot price
    devnet.fund(w3, deployment, "USDC", roles.investors[2], 100_000 * USDC)
    with reverts("CohortPriceDeviation"):
        vault.deposit(100_000 * USDC, roles.investors[2])
    with reverts("CohortPriceDeviation"):
        vault.settle_redemptions(roles.keeper)
    market.move("WETH", -23)  # and back: nothing happened at the manipulated price
    vault.settle_redemptions(roles.keeper)


def _hook_vault(w3: Web3, deployment: mf.Manifest, roles: Roles):
    token = deploy(w3, project_artifact("HookToken"), sender=roles.deployer)
    from cohort.protocol import vault_params

    params = list(vault_params(deployment, VaultConfig(assets=()), owner=roles.owner, manager=roles.manager.address,
                               guardian=roles.guardian, fee_recipient=roles.fee_recipient, keepers=[roles.keeper]))
    params[0], params[1], params[2] = token.address, "Hook vault", "cHOOK"
    factory = w3.eth.contract(address=deployment.cohort.factory, abi=project_artifact("VaultFactory").abi)
    address = call(factory.functions.vaultAddress(tuple(params), b"\x07" * 32, roles.owner))
    transact(factory.functions.createVault(tuple(params), b"\x07" * 32), roles.owner, gas=12_000_000)
    return token, Vault(w3, address)


def test_reentrancy_through_a_token_callback_sees_a_consistent_state(w3: Web3, chain: DevChain,
                                                                     deployment: mf.Manifest, roles: Roles) -> None:
    token, vault = _hook_vault(w3, deployment, roles)
    hook = deploy(w3, project_artifact("Reenterer"), sender=roles.deployer)
    investor = roles.investors[0]
    transact(token.functions.mint(investor, 10**12), investor)
    transact(token.functions.approve(vault.address, 2**256 - 1), investor)
    transact(vault.fn.deposit(100 * USDC, investor), investor)
    transact(token.functions.setHook(hook.address), investor)
    reentry = vault.contract.encode_abi("deposit", [1 * USDC, hook.address])
    for attempt in (reentry, vault.contract.encode_abi("accrueFees", []),
                    vault.contract.encode_abi("requestRedeem", [1, hook.address, hook.address])):
        with chain.isolated():
            transact(hook.functions.arm(vault.address, attempt), investor)
            receipt = transact(vault.fn.deposit(50 * USDC, investor), investor)  # the hook runs mid-transfer
            assert call(hook.functions.attempted())
            error = bytes(call(hook.functions.lastError()))
            assert error[:4] == Web3.keccak(text="ReentrancyGuardReentrantCall()")[:4]
            # mid-transfer the vault had accrued its fees but neither counted the incoming assets nor
            # minted the new shares: what the hook saw is exactly the state the deposit priced at
            (accrued,) = vault.events(receipt, "FeesAccrued")
            assert call(hook.functions.seenTotalAssets()) == accrued["nav"]
            assert call(hook.functions.seenTotalSupply()) == accrued["supply"]
            assert call(hook.functions.seenConvert()) == 10**18 * (accrued["nav"] + 1) // (accrued["supply"] + 10**6)
    # claims pay out through the hooked token too, and a re-entry there is refused as well
    shares = vault.balance_of(investor)
    vault.request_redeem(shares, investor)
    chain.increase_time(3 * DAY)
    vault.settle_redemptions(roles.keeper)
    transact(hook.functions.arm(vault.address, vault.contract.encode_abi("redeem", [1, investor, investor])), investor)
    vault.claim(investor)
    assert bytes(call(hook.functions.lastError()))[:4] == Web3.keccak(text="ReentrancyGuardReentrantCall()")[:4]
