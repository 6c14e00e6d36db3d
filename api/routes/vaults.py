"""Vaults: list, detail, NAV and price-per-share history, the redemption queue."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import FromBlock, PageDep, SessionDep, ToBlock, VaultDep
from api.schemas.common import ERRORS, Page
from api.schemas.vaults import EpochOut, NavPointOut, VaultDetail, VaultSummary
from api.services import vaults as service

router = APIRouter(prefix="/vaults", tags=["vaults"], responses=ERRORS)


@router.get("", response_model=Page[VaultSummary], summary="Every indexed vault")
def list_vaults(session: SessionDep, page: PageDep) -> Page[VaultSummary]:
    return service.list_vaults(session, page.limit, page.offset)


@router.get("/{vault}", response_model=VaultDetail,
            summary="Parameters, NAV, price per share, high-water mark, supply, holdings, AUM and fee totals")
def get_vault(vault: VaultDep) -> VaultDetail:
    return service.vault_detail(vault)


@router.get("/{vault}/history", response_model=Page[NavPointOut], summary="NAV and price-per-share history")
def nav_history(vault: VaultDep, session: SessionDep, page: PageDep, from_block: FromBlock = None,
                to_block: ToBlock = None,
                kind: Annotated[Literal["fees", "settlement"] | None, Query(description="Only this kind.")] = None,
                ) -> Page[NavPointOut]:
    return service.nav_history(session, vault.address, kind, from_block, to_block, page.limit, page.offset)


@router.get("/{vault}/redemptions", response_model=Page[EpochOut], summary="The redemption epochs")
def redemptions(vault: VaultDep, session: SessionDep, page: PageDep) -> Page[EpochOut]:
    return service.epochs(session, vault.address, page.limit, page.offset)
