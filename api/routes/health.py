"""Liveness and indexer lag."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import SessionDep, StateDep
from api.schemas.health import Health
from api.services import health as service

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Node reachability and indexer lag")
def health(session: SessionDep, state: StateDep) -> Health:
    return service.health(session, state.chain, state.settings.confirmations)
