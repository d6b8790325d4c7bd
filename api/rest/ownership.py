"""Ownership lookup: who owns account X, one at a time or up to 1,000 per call."""

from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Query, Response

from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, problem_responses
from api.services.schemas import OwnershipLookup, OwnershipLookupResult, OwnershipRead
from domain.model import Role

router = APIRouter(prefix="/v1", tags=["ownership"])


def _json(data: object) -> Response:
    return Response(orjson.dumps(data, default=str, option=orjson.OPT_UTC_Z), media_type="application/json")


@router.get(
    "/ownership/{external_id}",
    name="get_ownership",
    summary="Who owns this account (by external id) in the active plan",
    response_model=OwnershipRead,
    responses=problem_responses(404, *AUTH_ERRORS),
)
async def get_ownership(
    external_id: Annotated[str, Path(max_length=255)],
    p: PrincipalDep,
    ctx: CtxDep,
    role: Annotated[Role, Query()] = Role.AE,
) -> Response:
    return _json(await ctx.ownership.lookup_one(p, external_id, role))


@router.post(
    "/ownership/lookup",
    name="lookup_ownership",
    summary="Owners of up to 1,000 accounts, in the order asked; unknown ids are marked not_found",
    response_model=OwnershipLookupResult,
    responses=problem_responses(400, *AUTH_ERRORS),
)
async def lookup_ownership(body: OwnershipLookup, p: PrincipalDep, ctx: CtxDep) -> Response:
    return _json({"results": await ctx.ownership.lookup(p, body.external_ids, body.role)})
