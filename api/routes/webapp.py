"""The web app's own endpoints (under /app): its configuration, vault comparison, an investor's
equity curve and statement, signal drafts, and the relay of signed signals to the keeper. The
pages themselves are static files (api/web) that read the REST resources like any client."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field
from sqlalchemy import select

from api import models
from api.deps import MAX_PAGE, InvestorDep, SessionDep, StateDep, VaultDep
from api.errors import KeeperUnavailable, ManifestMissing
from api.schemas.common import ADDRESS_PATTERN, ERRORS, Address, DecimalStr, Schema
from api.schemas.vaults import VaultDetail
from api.services import vaults as vault_service
from api.services import webapp as service
from api.services.context import VaultContext, load_vault
from cohort import manifest as mf
from cohort.chain import connect
from cohort.errors import ManifestError
from cohort.onchain import SizeMode

router = APIRouter(prefix="/app", tags=["web app"], responses=ERRORS)


@cache
def _manifest(path: str) -> mf.Manifest | None:
    try:
        return mf.load(path)
    except (ManifestError, OSError):
        return None


class VaultCompared(Schema):
    detail: VaultDetail
    share_decimals: int
    inception_price_per_share: str | None = Field(description="The first deposit's price (1e18 = one asset per share).")
    return_since_inception: DecimalStr | None = Field(description="A fraction: 0.05 is +5%.")
    max_drawdown: DecimalStr | None = Field(description="The deepest fall from a running peak, a fraction.")


class SignalDraftIn(Schema):
    vault: Address
    token_in: Address
    token_out: Address
    size_mode: int = Field(ge=min(SizeMode).value, le=max(SizeMode).value,
                           description=f"{SizeMode.HOLDINGS.value}: a fraction of the vault's tokenIn; "
                                       f"{SizeMode.NAV.value}: of NAV.")
    size_bps: int = Field(ge=1, le=10_000)
    limit_price: DecimalStr = Field(description="Least tokenOut per tokenIn, in whole tokens.")
    max_slippage_bps: int = Field(ge=0, le=10_000)
    valid_for_s: int = Field(default=3600, ge=60, le=30 * 86_400)


class SignalDraftOut(Schema):
    typed_data: dict[str, Any] = Field(description="What eth_signTypedData_v4 signs.")
    signal: dict[str, Any] = Field(description="The signal's JSON (cohort.signals).")
    digest: str
    description: str = Field(description="The trade in plain words.")


@router.get("/config", summary="What the web app needs: chain, keeper relay, ABIs, the EIP-712 type, tokens")
def config(session: SessionDep, state: StateDep) -> dict[str, Any]:
    settings = state.settings
    manifest = _manifest(str(settings.manifest_path()))
    indexer = session.get(models.IndexerState, 1)
    chain_id = indexer.chain_id if indexer else (manifest.chain_id if manifest else None)
    return service.app_config(manifest, chain_id, settings.keeper_url)


def _compared(session: SessionDep, ctx: VaultContext) -> VaultCompared:
    perf = service.performance(service.price_series(session, ctx))
    return VaultCompared(
        detail=vault_service.vault_detail(ctx), share_decimals=service.share_decimals(ctx),
        inception_price_per_share=str(perf.inception_pps) if perf else None,
        return_since_inception=service.fraction(perf.return_since_inception) if perf else None,
        max_drawdown=service.fraction(perf.max_drawdown) if perf else None)


@router.get("/vaults", response_model=list[VaultCompared], summary="Every vault with its return and drawdown")
def compare_vaults(session: SessionDep, state: StateDep) -> list[VaultCompared]:
    return [_compared(session, load_vault(session, state.chain, state.contexts, summary.address))
            for summary in vault_service.list_vaults(session, MAX_PAGE, 0).items]


@router.get("/vaults/{vault}", response_model=VaultCompared, summary="One vault with its return and drawdown")
def compare_vault(vault: VaultDep, session: SessionDep, state: StateDep) -> VaultCompared:
    return _compared(session, vault)


@router.get("/vaults/{vault}/investors/{investor}/equity",
            summary="The investor's equity (position value + claimable) at every NAV point and every move of theirs")
def equity(vault: VaultDep, investor: InvestorDep, session: SessionDep, state: StateDep) -> list[dict[str, Any]]:
    points = session.scalars(select(models.NavPoint.block_number).where(models.NavPoint.vault == vault.address)).all()
    own = [int(r["block"]) for r in _statement(vault, investor, session, state)]
    blocks = [b for b in (*points, *own, vault.head.block_number) if b >= min(own, default=vault.head.block_number)]
    return service.equity_curve(connect(state.settings.rpc_url), vault.address, investor, blocks)


def _statement(vault: VaultDep, investor: str, session: SessionDep, state: StateDep) -> list[dict[str, str]]:
    return service.statement_rows(session, vault, investor, service.share_decimals(vault))


@router.get("/vaults/{vault}/investors/{investor}/statement",
            summary="The investor's statement: dates and amounts in human units")
def statement(vault: VaultDep, investor: InvestorDep, session: SessionDep, state: StateDep) -> list[dict[str, str]]:
    return _statement(vault, investor, session, state)


@router.get("/vaults/{vault}/investors/{investor}/statement.csv", response_class=Response,
            summary="The investor's statement as CSV", responses={200: {"content": {"text/csv": {}}}})
def statement_csv(vault: VaultDep, investor: InvestorDep, session: SessionDep, state: StateDep) -> Response:
    body = service.statement_csv(_statement(vault, investor, session, state))
    name = f"{vault.address}-{investor}-statement.csv"
    return Response(body, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/signals/draft", response_model=SignalDraftOut,
             summary="A trade signal's typed data for the manager's wallet, and the trade in plain words")
def draft(body: SignalDraftIn, session: SessionDep, state: StateDep) -> SignalDraftOut:
    manifest = _manifest(str(state.settings.manifest_path()))
    if manifest is None:
        raise ManifestMissing("no deployment manifest: a signal cannot name its route")
    ctx = load_vault(session, state.chain, state.contexts, body.vault)
    d = service.draft_signal(connect(state.settings.rpc_url), manifest, ctx, body.token_in, body.token_out,
                             body.size_mode, body.size_bps, body.limit_price, body.max_slippage_bps, body.valid_for_s)
    return SignalDraftOut(typed_data=d.typed_data, signal=d.signal, digest=d.digest, description=d.description)


async def _relay(state: Any, method: str, path: str, content: bytes | None = None,
                 params: dict[str, Any] | None = None) -> JSONResponse:
    url = state.settings.keeper_url
    if not url:
        raise KeeperUnavailable("this API knows no keeper (set API_KEEPER_URL)")
    try:
        async with httpx.AsyncClient(timeout=state.settings.keeper_timeout + 5) as client:
            answer = await client.request(method, url.rstrip("/") + path, content=content, params=params,
                                          headers={"content-type": "application/json"})
    except httpx.HTTPError as exc:
        raise KeeperUnavailable(f"the keeper at {url} did not answer: {exc}") from None
    try:
        body = answer.json()
    except ValueError:
        body = {"error": "bad_answer", "detail": answer.text[:300]}
    return JSONResponse(body, status_code=answer.status_code)


# The relay is the page's way to the keeper (same origin); the keeper's own API documents signals.
@router.post("/keeper/signals", include_in_schema=False,
             summary="Relay a signed signal to the keeper (its answer, as is)")
async def relay_signal(request: Request, state: StateDep) -> JSONResponse:
    return await _relay(state, "POST", "/signals", content=await request.body())


@router.get("/keeper/signals", include_in_schema=False, summary="The keeper's signals for a vault, newest first")
async def relayed_signals(state: StateDep, vault: Annotated[str, Query(pattern=ADDRESS_PATTERN)],
                          limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> JSONResponse:
    return await _relay(state, "GET", "/signals", params={"vault": vault, "limit": limit})


@router.get("/keeper/signals/{signal_id}", include_in_schema=False, summary="A relayed signal's state at the keeper")
async def relayed_signal(signal_id: int, state: StateDep,
                         wait: Annotated[float, Query(ge=0, le=30)] = 0) -> JSONResponse:
    return await _relay(state, "GET", f"/signals/{signal_id}", params={"wait": wait} if wait else None)

