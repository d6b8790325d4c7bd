"""Tenant settings (admin scope): the scoring model, bands, tiers, coverage model, capacity, windows."""

from fastapi import APIRouter

from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, problem_responses
from api.services import settings as service
from api.services.settings import SettingsRead, SettingsUpdate

router = APIRouter(prefix="/v1", tags=["settings"])


@router.get(
    "/settings",
    name="get_settings",
    response_model=SettingsRead,
    summary="The tenant's settings",
    responses=problem_responses(*AUTH_ERRORS),
)
async def get_settings(p: PrincipalDep, ctx: CtxDep) -> SettingsRead:
    return await service.get_settings(ctx, p)


@router.put(
    "/settings",
    name="replace_settings",
    response_model=SettingsRead,
    summary="Replace the tenant's overrides; invalid settings are refused and the old stay in force",
    responses=problem_responses(*AUTH_ERRORS),
)
async def replace_settings(body: SettingsUpdate, p: PrincipalDep, ctx: CtxDep) -> SettingsRead:
    return await service.replace_settings(ctx, p, body.overrides)
