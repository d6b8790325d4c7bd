"""Tenant settings (admin scope): the scoring model, bands, tiers, coverage model, capacity, windows."""

from fastapi import APIRouter, Response

from api.rest.deps import (
    AUTH_ERRORS,
    NOT_MODIFIED,
    PRECONDITION_ERRORS,
    CtxDep,
    IfMatchDep,
    IfNoneMatchDep,
    PrincipalDep,
    problem_responses,
    unchanged,
    versioned,
    with_etag,
)
from api.services import settings as service
from api.services.settings import SettingsRead, SettingsUpdate

router = APIRouter(prefix="/v1", tags=["settings"])


@router.get(
    "/settings",
    name="get_settings",
    response_model=SettingsRead,
    summary="The tenant's settings",
    responses=problem_responses(*AUTH_ERRORS) | with_etag() | NOT_MODIFIED,
)
async def get_settings(
    held: IfNoneMatchDep, p: PrincipalDep, ctx: CtxDep, response: Response
) -> SettingsRead | Response:
    found = await service.get_settings(ctx, p)
    return unchanged(held, found.version) or versioned(response, found.version, found)


@router.put(
    "/settings",
    name="replace_settings",
    response_model=SettingsRead,
    summary="Replace the tenant's overrides; invalid settings are refused and the old stay in force",
    responses=problem_responses(409, *PRECONDITION_ERRORS, *AUTH_ERRORS) | with_etag(),
)
async def replace_settings(
    body: SettingsUpdate, precondition: IfMatchDep, p: PrincipalDep, ctx: CtxDep, response: Response
) -> SettingsRead:
    found = await service.replace_settings(ctx, p, body.overrides, precondition)
    return versioned(response, found.version, found)
