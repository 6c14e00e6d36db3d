"""The local devnet: WETH9, Uniswap V3 and V2 from npm artifacts, test tokens and deep pools.

`bootstrap` is idempotent: given a manifest that matches the chain (same chain id, same
genesis block, code at every address, liquidity in every pool) it reuses what is there and
deploys only what is missing. The Cohort layer (oracle, adapters, factory, vaults) is added on
top by `cohort.protocol.ensure_protocol`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from web3 import Web3
from web3.contract import Contract

from cohort import manifest as mf
from cohort.artifacts import project_artifact, uniswap_artifact
from cohort.deploy import at, deploy, has_code
from cohort.dev.anvil import DevChain
from cohort.tx import call, transact
from cohort.uniswap import (
    UniswapV2,
    UniswapV3,
    create_v2_pair,
    create_v3_pool,
    deploy_v2,
    deploy_v3,
    sort_tokens,
)

# TWAP windows up to this long can be read as soon as the devnet is up.
HISTORY_SECONDS = 2 * 3600


@dataclass(frozen=True)
class Market:
    base: str
    quote: str
    fee: int
    price: Fraction  # whole quote tokens per whole base token
    v3_base: int  # whole tokens of liquidity in the V3 pool
    v3_quote: int
    v2_base: int  # and in the V2 pair
    v2_quote: int


TEST_TOKENS = {"USDC": ("USD Coin (Cohort test)", 6), "WBTC": ("Wrapped BTC (Cohort test)", 8),
               "LINK": ("Chainlink (Cohort test)", 18)}
MARKETS = (
    Market("WETH", "USDC", 3000, Fraction(3000), 20_000, 60_000_000, 5_000, 15_000_000),
    Market("WBTC", "USDC", 3000, Fraction(60000), 500, 30_000_000, 100, 6_000_000),
    Market("WBTC", "WETH", 3000, Fraction(20), 500, 10_000, 100, 2_000),
    Market("LINK", "USDC", 3000, Fraction(15), 1_000_000, 15_000_000, 200_000, 3_000_000),
)


def _log(progress: Callable[[str], None] | None, msg: str) -> None:
    if progress:
        progress(msg)


def _base_layer_intact(w3: Web3, m: mf.Manifest) -> bool:
    addresses = [m.weth9, *(t.address for t in m.tokens.values()),
                 m.uniswap_v3.factory, m.uniswap_v3.swap_router, m.uniswap_v3.quoter_v2,
                 m.uniswap_v3.position_manager, m.uniswap_v2.factory, m.uniswap_v2.router02]
    if not all(has_code(w3, a) for a in addresses):
        return False
    if len(m.uniswap_v3.pools) < len(MARKETS) or len(m.uniswap_v2.pairs) < len(MARKETS):
        return False
    for pool in m.uniswap_v3.pools.values():
        if not has_code(w3, pool.address) or call(at(w3, "UniswapV3Pool", pool.address).functions.liquidity()) == 0:
            return False
    return True


def load_matching(w3: Web3, path: Path) -> mf.Manifest | None:
    """The manifest at `path` if it describes this very chain, else None."""
    if not path.exists():
        return None
    try:
        m = mf.load(path)
    except mf.ManifestError:
        return None
    genesis = w3.eth.get_block(0)["hash"].to_0x_hex()
    if m.chain_id != w3.eth.chain_id or m.genesis_hash != genesis:
        return None
    return m


def bootstrap(w3: Web3, path: Path, *, network: str = "local", rpc_url: str = "",
              progress: Callable[[str], None] | None = None) -> mf.Manifest:
    """Bring the market layer up on `w3` (reusing a matching manifest) and save it to `path`."""
    existing = load_matching(w3, path)
    if existing is not None and _base_layer_intact(w3, existing):
        _log(progress, f"reusing the markets recorded in {path}")
        return existing

    dev = DevChain(w3)
    deployer = dev.dev_accounts()[0]
    dev.set_balance(deployer, 10**9 * 10**18)
    _log(progress, "deploying WETH9 and test tokens")
    weth = deploy(w3, uniswap_artifact("WETH9"), sender=deployer)
    tokens: dict[str, Contract] = {"WETH": weth}
    for symbol, (name, token_decimals) in TEST_TOKENS.items():
        tokens[symbol] = deploy(w3, project_artifact("TestToken"), name, symbol, token_decimals, sender=deployer)

    _log(progress, "deploying Uniswap V3 (factory, SwapRouter, QuoterV2, positions) and V2 (factory, Router02)")
    v3 = deploy_v3(w3, weth.address, deployer)
    v2 = deploy_v2(w3, weth.address, deployer)

    decimals = {s: int(call(t.functions.decimals())) for s, t in tokens.items()}
    need = {s: 0 for s in tokens}
    for mk in MARKETS:
        need[mk.base] += mk.v3_base + mk.v2_base
        need[mk.quote] += mk.v3_quote + mk.v2_quote
    transact(weth.functions.deposit(), deployer, value=need["WETH"] * 10**18)
    for symbol, token in tokens.items():
        if symbol != "WETH":
            transact(token.functions.mint(deployer, need[symbol] * 10**decimals[symbol]), deployer)

    pools: dict[str, mf.V3PoolInfo] = {}
    pairs: dict[str, mf.V2PairInfo] = {}
    for mk in MARKETS:
        base, quote = tokens[mk.base], tokens[mk.quote]
        _log(progress, f"creating {mk.base}/{mk.quote} pools at {float(mk.price):g} {mk.quote}")
        pool = create_v3_pool(v3, base, quote, mk.fee, mk.price, mk.v3_base * 10**decimals[mk.base],
                              mk.v3_quote * 10**decimals[mk.quote], deployer)
        t0, t1 = sort_tokens(base.address, quote.address)
        pools[f"{mk.base}/{mk.quote}/{mk.fee}"] = mf.V3PoolInfo(address=pool.address, token0=t0, token1=t1, fee=mk.fee)
        pair = create_v2_pair(v2, base, quote, mk.v2_base * 10**decimals[mk.base],
                              mk.v2_quote * 10**decimals[mk.quote], deployer)
        pairs[f"{mk.base}/{mk.quote}"] = mf.V2PairInfo(address=pair.address, token0=t0, token1=t1)

    # Give the pools an oracle history, so TWAPs over windows up to HISTORY_SECONDS answer.
    dev.increase_time(HISTORY_SECONDS)
    dev.mine(2)

    manifest = mf.Manifest(
        network=network,
        chain_id=w3.eth.chain_id,
        rpc_url=rpc_url,
        genesis_hash=w3.eth.get_block(0)["hash"].to_0x_hex(),
        deployer=deployer,
        weth9=weth.address,
        tokens={s: mf.TokenInfo(address=t.address, symbol=s, decimals=decimals[s]) for s, t in tokens.items()},
        uniswap_v3=mf.UniswapV3Info(factory=v3.factory.address, swap_router=v3.router.address,
                                    quoter_v2=v3.quoter.address, position_manager=v3.position_manager.address,
                                    position_descriptor=v3.descriptor, pools=pools),
        uniswap_v2=mf.UniswapV2Info(factory=v2.factory.address, router02=v2.router.address, pairs=pairs),
    )
    mf.save(manifest, path)
    _log(progress, f"markets recorded in {path}")
    return manifest


def v3_from_manifest(w3: Web3, m: mf.Manifest) -> UniswapV3:
    u = m.uniswap_v3
    return UniswapV3.at(w3, u.factory, u.swap_router, u.quoter_v2, u.position_manager)


def v2_from_manifest(w3: Web3, m: mf.Manifest) -> UniswapV2:
    return UniswapV2(at(w3, "UniswapV2Factory", m.uniswap_v2.factory),
                     at(w3, "UniswapV2Router02", m.uniswap_v2.router02))


def token(w3: Web3, m: mf.Manifest, symbol: str) -> Contract:
    """A manifest token bound with the ERC-20 ABI (WETH9's ABI for WETH)."""
    name = "WETH9" if symbol == "WETH" else "TestToken"
    return at(w3, name, m.token(symbol).address)


def fund(w3: Web3, m: mf.Manifest, symbol: str, to: str, amount: int) -> None:
    """Devnet faucet: give `to` `amount` wei of a manifest token."""
    dev = DevChain(w3)
    t = token(w3, m, symbol)
    if symbol == "WETH":
        funder = dev.dev_accounts()[0]
        dev.set_balance(funder, 10**9 * 10**18)
        transact(t.functions.deposit(), funder, value=amount)
        transact(t.functions.transfer(to, amount), funder)
    else:
        transact(t.functions.mint(to, amount), to if to in dev.dev_accounts() else dev.dev_accounts()[0])
