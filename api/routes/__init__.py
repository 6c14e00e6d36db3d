"""One router per resource."""

from fastapi import APIRouter

from api.routes import accounts, audit, health, investors, strategies, stream, trades, vaults, webapp

api_router = APIRouter()
for module in (health, vaults, trades, investors, accounts, audit, strategies, stream, webapp):
    api_router.include_router(module.router)

__all__ = ["api_router"]
