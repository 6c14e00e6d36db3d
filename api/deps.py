"""Dependencies, as `Annotated` aliases the routes declare (FastAPI full-stack template style)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

from eth_utils import to_checksum_address
from fastapi import Depends, Path, Query, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.errors import BadInput
from api.schemas.common import ADDRESS_PATTERN
from api.services.chain import ChainReader
from api.services.context import ContextCache, VaultContext, load_vault
from api.settings import Settings

MAX_PAGE = 1_000
MAX_BLOCK = 2**62
MAX_OFFSET = 2**31
MAX_ID = 2**63 - 1  # ids are SQL BIGINTs


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    chain: ChainReader
    contexts: ContextCache
    inline_reads: bool = False  # SQLite: cached-context reads may run on the event loop (routes/investors)


# Dependencies that do no I/O are `async`: FastAPI runs them on the event loop instead of
# sending each one to the thread pool (the MAM view is latency-sensitive).
async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.cohort
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_session(state: StateDep) -> Iterator[Session]:
    with state.sessions() as session:
        try:
            yield session
        finally:
            session.rollback()  # read-only: end the snapshot


SessionDep = Annotated[Session, Depends(get_session)]


@lru_cache(maxsize=65_536)
def _eip55(value: str) -> str:
    return str(to_checksum_address(value))  # a keccak per call: the MAM view's hot path asks twice


def checksum_address(value: str, what: str) -> str:
    """EIP-55 form of `value`; a mixed-case address with a wrong checksum is refused."""
    try:
        address = _eip55(value)
    except ValueError:
        raise BadInput(f"{what} {value!r} is not an address") from None
    if value != value.lower() and value[2:] != value[2:].upper() and value != address:
        raise BadInput(f"{what} {value!r} has an invalid EIP-55 checksum (expected {address})")
    return address


VaultPath = Annotated[str, Path(pattern=ADDRESS_PATTERN, description="The vault's address.",
                                examples=["0x0000000000000000000000000000000000000001"])]
InvestorPath = Annotated[str, Path(pattern=ADDRESS_PATTERN, description="The investor's (controller's) address.",
                                   examples=["0x0000000000000000000000000000000000000002"])]


def get_vault(vault: VaultPath, session: SessionDep, state: StateDep) -> VaultContext:
    return load_vault(session, state.chain, state.contexts, checksum_address(vault, "vault"))


VaultDep = Annotated[VaultContext, Depends(get_vault)]


async def get_investor(investor: InvestorPath) -> str:
    return checksum_address(investor, "investor")


InvestorDep = Annotated[str, Depends(get_investor)]


@dataclass(frozen=True)
class Pagination:
    limit: int
    offset: int


async def get_pagination(state: StateDep,
                   limit: Annotated[int | None, Query(ge=1, le=MAX_PAGE, description="Items per page.")] = None,
                   offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")] = 0,
                   ) -> Pagination:
    size = state.settings.default_page_size if limit is None else limit
    return Pagination(limit=min(size, state.settings.max_page_size, MAX_PAGE), offset=offset)


PageDep = Annotated[Pagination, Depends(get_pagination)]
FromBlock = Annotated[int | None, Query(ge=0, le=MAX_BLOCK, description="First block (inclusive).")]
ToBlock = Annotated[int | None, Query(ge=0, le=MAX_BLOCK, description="Last block (inclusive).")]
