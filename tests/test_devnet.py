"""The foundation: compiler front, devnet, and real Uniswap swaps, quotes and TWAPs."""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

from web3 import Web3

from cohort import manifest as mf
from cohort.artifacts import REPO_ROOT, project_artifact
from cohort.chain import connect
from cohort.deploy import has_code
from cohort.dev import devnet
from cohort.dev.anvil import DevChain, pid_alive
from cohort.dev.stack import Anvil
from cohort.tx import call, transact
from cohort.uniswap import MAX_UINT256, UniswapV2, UniswapV3, price_from_tick

SOLC_FRONT = REPO_ROOT / "scripts" / "solc" / "solc-v0.8.28"


def test_compiler_front_reports_the_pinned_version() -> None:
    out = subprocess.run([str(SOLC_FRONT), "--version"], capture_output=True, text=True, check=True)
    assert "Version: 0.8.28+commit.7893614a" in out.stdout


def test_compiler_front_compiles_an_openzeppelin_import() -> None:
    source = ('// SPDX-License-Identifier: MIT\npragma solidity 0.8.28;\n'
              'import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";\n'
              'import {ERC20, IERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";\n'
              'contract V is ERC4626 { constructor(IERC20 a) ERC20("v", "v") ERC4626(a) {} }\n')
    standard_json = {"language": "Solidity", "sources": {"V.sol": {"content": source}},
                     "settings": {"outputSelection": {"*": {"*": ["evm.bytecode.object"]}}}}
    out = subprocess.run([str(SOLC_FRONT), "--standard-json"], input=json.dumps(standard_json),
                         capture_output=True, text=True, check=True,
                         cwd=REPO_ROOT / "node_modules")
    result = json.loads(out.stdout)  # stdout is pure JSON: nothing printed before it
    errors = [e for e in result.get("errors", []) if e["severity"] == "error"]
    assert errors == []
    assert len(result["contracts"]["V.sol"]["V"]["evm"]["bytecode"]["object"]) > 1000


def test_ape_build_holds_a_contract_importing_openzeppelin() -> None:
    token = project_artifact("TestToken")
    names = {item.get("name") for item in token.abi}
    assert {"transfer", "approve", "decimals", "mint"} <= names
    assert len(token.bytecode) > 1000


def test_devnet_is_up_with_code_at_every_address(w3: Web3, markets: mf.Manifest) -> None:
    addresses = [markets.weth9, markets.uniswap_v3.factory, markets.uniswap_v3.swap_router,
                 markets.uniswap_v3.quoter_v2, markets.uniswap_v3.position_manager,
                 markets.uniswap_v3.position_descriptor, markets.uniswap_v2.factory,
                 markets.uniswap_v2.router02, *(t.address for t in markets.tokens.values()),
                 *(p.address for p in markets.uniswap_v3.pools.values()),
                 *(p.address for p in markets.uniswap_v2.pairs.values())]
    assert all(has_code(w3, a) for a in addresses)
    assert {t.decimals for t in markets.tokens.values()} == {6, 8, 18}
    assert markets.chain_id == w3.eth.chain_id


def test_manifest_round_trips_through_its_documented_format(markets: mf.Manifest, manifest_path: Path) -> None:
    raw = json.loads(manifest_path.read_text())
    assert raw["format"] == mf.FORMAT
    assert "uniswapV3" in raw and "swapRouter" in raw["uniswapV3"]  # camelCase on disk
    loaded = mf.load(manifest_path)  # other suites may have added the Cohort layer since
    assert (loaded.tokens, loaded.uniswap_v3, loaded.uniswap_v2) == (
        markets.tokens, markets.uniswap_v3, markets.uniswap_v2)
    assert mf.Manifest.model_validate(json.loads(loaded.model_dump_json(by_alias=True))) == loaded


def test_bootstrap_twice_reuses_everything(w3: Web3, markets: mf.Manifest, manifest_path: Path) -> None:
    block = w3.eth.block_number
    again = devnet.bootstrap(w3, manifest_path, rpc_url=markets.rpc_url)
    assert w3.eth.block_number == block  # nothing was sent
    assert again.uniswap_v3 == markets.uniswap_v3 and again.tokens == markets.tokens


def test_v3_swap_returns_exactly_what_quoterv2_quoted(w3: Web3, markets: mf.Manifest, v3: UniswapV3,
                                                     accounts: list[str]) -> None:
    trader = accounts[3]
    weth, usdc = markets.token("WETH").address, markets.token("USDC").address
    devnet.fund(w3, markets, "WETH", trader, 5 * 10**18)
    weth_c = devnet.token(w3, markets, "WETH")
    usdc_c = devnet.token(w3, markets, "USDC")
    transact(weth_c.functions.approve(v3.router.address, MAX_UINT256), trader)
    quoted = v3.quote_exact_input_single(weth, usdc, 3000, 5 * 10**18)
    before = call(usdc_c.functions.balanceOf(trader))
    out = v3.swap_exact_input_single(weth, usdc, 3000, 5 * 10**18, trader)
    assert out == quoted
    assert call(usdc_c.functions.balanceOf(trader)) - before == quoted
    assert 14_800 * 10**6 < quoted < 15_000 * 10**6  # 5 WETH at ~3000, less the 0.3% fee


def test_v3_multi_hop_quote_matches_swap(w3: Web3, markets: mf.Manifest, v3: UniswapV3, accounts: list[str]) -> None:
    from cohort.uniswap import encode_v3_path

    trader = accounts[4]
    wbtc, weth, usdc = (markets.token(s).address for s in ("WBTC", "WETH", "USDC"))
    devnet.fund(w3, markets, "WBTC", trader, 10**8)
    transact(devnet.token(w3, markets, "WBTC").functions.approve(v3.router.address, MAX_UINT256), trader)
    path = encode_v3_path([wbtc, weth, usdc], [3000, 3000])
    quoted = v3.quote_exact_input(path, 10**8)
    fn = v3.router.functions.exactInput((path, trader, 2**40, 10**8, quoted))
    before = call(devnet.token(w3, markets, "USDC").functions.balanceOf(trader))
    transact(fn, trader)
    assert call(devnet.token(w3, markets, "USDC").functions.balanceOf(trader)) - before == quoted


def test_v2_router02_swap_pays_get_amounts_out(w3: Web3, markets: mf.Manifest, v2: UniswapV2,
                                             accounts: list[str]) -> None:
    trader = accounts[5]
    weth, usdc = markets.token("WETH").address, markets.token("USDC").address
    devnet.fund(w3, markets, "USDC", trader, 10_000 * 10**6)
    usdc_c = devnet.token(w3, markets, "USDC")
    weth_c = devnet.token(w3, markets, "WETH")
    transact(usdc_c.functions.approve(v2.router.address, MAX_UINT256), trader)
    expected = call(v2.router.functions.getAmountsOut(10_000 * 10**6, [usdc, weth]))[-1]
    before = call(weth_c.functions.balanceOf(trader))
    swap = v2.router.functions.swapExactTokensForTokens(10_000 * 10**6, expected, [usdc, weth], trader, 2**40)
    transact(swap, trader)
    got = call(weth_c.functions.balanceOf(trader)) - before
    assert got == expected
    assert Fraction(got, 10**18) * 3000 > Fraction(9_900)  # ~3.3 WETH, less fee and impact


def test_v3_twap_follows_the_price_after_time_passes(w3: Web3, chain: DevChain, markets: mf.Manifest,
                                                     v3: UniswapV3, accounts: list[str]) -> None:
    trader = accounts[6]
    weth, usdc = markets.token("WETH").address, markets.token("USDC").address
    pool = v3.pool(weth, usdc, 3000)
    tick_before = call(pool.functions.slot0())[1]
    assert v3.twap_tick(pool, 1800) == tick_before  # no trade in the window: TWAP == spot

    devnet.fund(w3, markets, "USDC", trader, 3_000_000 * 10**6)  # buy ~1000 WETH: price up
    transact(devnet.token(w3, markets, "USDC").functions.approve(v3.router.address, MAX_UINT256), trader)
    v3.swap_exact_input_single(usdc, weth, 3000, 3_000_000 * 10**6, trader)
    tick_after = call(pool.functions.slot0())[1]
    assert tick_after != tick_before

    assert abs(v3.twap_tick(pool, 1800) - tick_before) <= 1  # right after: TWAP barely moved
    chain.increase_time(900)
    half = v3.twap_tick(pool, 1800)  # half the window at each tick
    assert abs(half - (tick_before + tick_after) / 2) <= 1
    chain.increase_time(1800)
    assert v3.twap_tick(pool, 1800) == tick_after
    t0_dec, t1_dec = (18, 6) if int(weth, 16) < int(usdc, 16) else (6, 18)
    price = price_from_tick(tick_after, t0_dec, t1_dec)
    weth_price = price if t0_dec == 18 else 1 / price
    assert 3000 < weth_price < 3400


def test_anvil_stops_without_leaving_a_process() -> None:
    node = Anvil()
    node.start()
    assert connect(node.rpc_url).eth.chain_id == 31337
    pid = node.process.pid if node.process else -1
    node.stop()
    assert not pid_alive(pid)
