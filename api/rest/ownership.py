"""Ownership lookup: who owns account X, one at a time or up to 1,000 per call."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.routing import Route

from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, problem_responses
from api.services import accounts, history
from api.services.context import authenticate_header
from api.services.ownership import Freshness, encode
from api.services.schemas import OwnershipHistoryPage, OwnershipLookup, OwnershipLookupResult, OwnershipRead
from domain.errors import FieldError, ValidationFailed
from domain.model import Role

router = APIRouter(prefix="/v1", tags=["ownership"])
LOOKUP_DESCRIPTION = """Answered from memory, never older than the last commit. Headers: `Ownership-Seq`, the
change-log position the answer reflects, and `Ownership-Age`, seconds since it was known to be current: 0,
unless the database cannot be reached, when lookups go on answering from memory (keys confirmed within the
key cache window) and every other call answers 503 with `Retry-After`. `why` says why the rep owns the
account (the cause and the rule or reason). With `as_of`, the owner at that time, read from the change log.
"""


def _json(data: object, fresh: Freshness) -> Response:
    return Response(encode(data), media_type="application/json", headers=fresh.headers())


def _as_of(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise ValidationFailed(
            "the request has invalid fields",
            [
                FieldError(
                    "as_of", "invalid", "an ISO 8601 date-time with a time zone, e.g. 2026-03-31T00:00:00Z"
                )
            ],
        )
    return when


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
    as_of = _as_of(request.query_params.get("as_of"))
    ctx = request.app.state.ctx
    p = await authenticate_header(ctx, request.headers.get("authorization"), outage_ok=as_of is None)
    return _json(*await ctx.ownership.lookup_one(p, external_id, role, as_of))


def fast_routes() -> list[Route]:
    return [Route("/v1/ownership/{external_id}", fast_get_ownership, methods=["GET"])]


@router.get(
    "/ownership/{external_id}",
    name="get_ownership",
    openapi_extra={"security": [{"HTTPBearer": []}]},
    summary="Who owns this account (by external id) in the active plan, and why; or as of a past date",
    description=LOOKUP_DESCRIPTION,
    response_model=OwnershipRead,
    responses=problem_responses(404, 503, *AUTH_ERRORS),
)
async def get_ownership(
    request: Request,
    external_id: Annotated[str, Path(max_length=255)],
    role: Annotated[Role, Query()] = Role.AE,
    as_of: Annotated[
        datetime | None, Query(description="answer as of this time (ISO 8601 with a time zone)")
    ] = None,
) -> Response:
    # The hot path: no dependency chain; the key is read the same way get_principal reads it.
    ctx = request.app.state.ctx
    p = await authenticate_header(ctx, request.headers.get("authorization"), outage_ok=as_of is None)
    return _json(*await ctx.ownership.lookup_one(p, external_id, role, as_of))


@router.post(
    "/ownership/lookup",
    name="lookup_ownership",
    summary="Owners of up to 1,000 accounts, in the order asked; unknown ids are marked not_found",
    description=LOOKUP_DESCRIPTION,
    response_model=OwnershipLookupResult,
    responses=problem_responses(400, 503, *AUTH_ERRORS),
)
async def lookup_ownership(request: Request, body: OwnershipLookup) -> Response:
    ctx = request.app.state.ctx
    outage_ok = body.as_of is None
    p = await authenticate_header(ctx, request.headers.get("authorization"), outage_ok=outage_ok)
    answers, fresh = await ctx.ownership.lookup_with_freshness(p, body.external_ids, body.role, body.as_of)
    return _json({"results": answers}, fresh)


@router.get(
    "/ownership/{external_id}/timeline",
    name="get_ownership_timeline",
    summary="Every owner change of an account (by external id), newest first, with cause and reason",
    response_model=OwnershipHistoryPage,
    responses=problem_responses(404, *AUTH_ERRORS),
)
async def get_ownership_timeline(
    external_id: Annotated[str, Path(max_length=255)],
    p: PrincipalDep,
    ctx: CtxDep,
    page_size: Annotated[int | None, Query(ge=1, le=500)] = None,
    page_token: str | None = None,
) -> OwnershipHistoryPage:
    account = await accounts.get_account_by_external_id(ctx, p, external_id)
    page = await history.account_history(ctx, p, account.id, page_size, page_token)
    return OwnershipHistoryPage.model_validate(page)
