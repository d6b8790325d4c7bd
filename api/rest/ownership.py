"""Ownership lookup: who owns account X, one at a time or up to 1,000 per call."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.routing import Route

from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, problem_responses
from api.services.context import authenticate_header
from api.services.ownership import encode
from api.services.schemas import OwnershipLookup, OwnershipLookupResult, OwnershipRead
from domain.errors import FieldError, ValidationFailed
from domain.model import Role

router = APIRouter(prefix="/v1", tags=["ownership"])


def _json(data: object) -> Response:
    return Response(encode(data), media_type="application/json")


_ROLES = {r.value: r for r in Role}


async def fast_get_ownership(request: Request) -> Response:
    """GET /v1/ownership/{external_id} without FastAPI's parameter machinery (the hot path).

    Mounted ahead of the documented route below, which stays the OpenAPI description; it validates the
    same things the documented route does and answers the same problems.
    """
    external_id = request.path_params["external_id"]
    role = _ROLES.get(request.query_params.get("role", "AE"))
    if role is None or len(external_id) > 255:
        field = "role" if role is None else "external_id"
        message = f"role must be one of {', '.join(_ROLES)}" if role is None else "at most 255 characters"
        raise ValidationFailed("the request has invalid fields", [FieldError(field, "invalid", message)])
    ctx = request.app.state.ctx
    p = await authenticate_header(ctx, request.headers.get("authorization"))
    return _json(await ctx.ownership.lookup_one(p, external_id, role))


def fast_routes() -> list[Route]:
    return [Route("/v1/ownership/{external_id}", fast_get_ownership, methods=["GET"])]


@router.get(
    "/ownership/{external_id}",
    name="get_ownership",
    openapi_extra={"security": [{"HTTPBearer": []}]},
    summary="Who owns this account (by external id) in the active plan",
    response_model=OwnershipRead,
    responses=problem_responses(404, *AUTH_ERRORS),
)
async def get_ownership(
    request: Request,
    external_id: Annotated[str, Path(max_length=255)],
    role: Annotated[Role, Query()] = Role.AE,
) -> Response:
    # The hot path: no dependency chain; the key is read the same way get_principal reads it.
    ctx = request.app.state.ctx
    p = await authenticate_header(ctx, request.headers.get("authorization"))
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
