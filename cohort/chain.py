"""Connections to a chain: a Web3 on a JSON-RPC URL (signing with local accounts), waiting for a
node, and the chain's clock."""

from __future__ import annotations

import time

from eth_account.signers.local import LocalAccount
from web3 import HTTPProvider, Web3
from web3.middleware import SignAndSendRawMiddlewareBuilder

DEFAULT_RPC = "http://127.0.0.1:8545"
DEVNET_CHAIN_ID = 31337


def connect(rpc_url: str = DEFAULT_RPC, *, accounts: tuple[LocalAccount, ...] = (),
            timeout: float = 30.0) -> Web3:
    """A Web3 on `rpc_url`. Local accounts, if given, sign `send_transaction` calls."""
    provider = HTTPProvider(rpc_url, request_kwargs={"timeout": timeout},
                            cache_allowed_requests=True)
    w3 = Web3(provider)
    for account in accounts:
        w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(account), layer=0)
    return w3


def chain_now(w3: Web3) -> int:
    """The timestamp the next block will carry, about: the pending block's (an idle anvil's latest
    block may be an hour old, and the devnet's clock runs ahead of the wall clock), else the
    later of the latest block's and the wall clock."""
    try:
        return int(w3.eth.get_block("pending")["timestamp"])
    except Exception:  # a node without a pending block
        return max(int(w3.eth.get_block("latest")["timestamp"]), int(time.time()))


def rpc_alive(rpc_url: str) -> bool:
    try:
        connect(rpc_url, timeout=1.0).eth.chain_id  # noqa: B018 - a probe
        return True
    except Exception:
        return False
