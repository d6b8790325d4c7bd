"""Ownership lookup: who owns account X, one at a time or up to 1,000 per call."""

import uuid
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Query, Request, Response

from api.errors import problem_for
from api.ratelimit import API, LOOKUP
from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, problem_responses
from api.services import accounts, history
from api.services.common import IsoAwareDatetime
from api.services.context import authenticate_header
from api.services.history import OwnershipHistoryPage
from api.services.ownership import Freshness, OwnershipLookup, OwnershipLookupResult, OwnershipRead, encode
from domain.errors import DomainError
from domain.model import Role

router = APIRouter(prefix="/v1", tags=["ownership"])
LOOKUP_DESCRIPTION = """Answered from memory, never older than the last commit. Headers: `Ownership-Seq`, the
change-log position the answer reflects, and `Ownership-Age`, seconds since it was known to be current: 0,
unless the database cannot be reached, when lookups go on answering from memory (keys confirmed within the
key cache window) and every other call answers 503 with `Retry-After`; `Ownership-Source`, `index` (from
memory) or `database` (read from SQL: with `as_of`, or while this process builds its index, as after a plan
switch). `why` says why the rep owns the
account (the cause and the rule or reason). With `as_of`, the owner at that time, read from the change log.
"""


def _json(data: object, fresh: Freshness) -> Response:
    return Response(encode(data), media_type="application/json", headers=fresh.headers())


_ROLES = {r.value: r for r in Role}
_PREFIX = "/v1/ownership/"


async def serve_lookup(app: Any, scope: dict, send: Any) -> bool:
    """GET /v1/ownership/{external_id} in front of FastAPI's routing, middleware and parameter machinery:
    the hot path (docs/change-stream.md, lookups). It answers only the common request, a current lookup
    by a valid key; anything else (as_of, an invalid role or id, a database error) returns False before
    anything is sent, and the documented route below answers it, with the same validation and problems.
    """
    external_id = scope["path"][len(_PREFIX) :]
    if not external_id or "/" in external_id or "\x00" in external_id or len(external_id) > 255:
        return False
    role = Role.AE
    if scope["query_string"]:
        query = parse_qs(scope["query_string"].decode("latin-1"), keep_blank_values=True)  # as_of= is a 422
        if "as_of" in query or len(query.get("role", ())) > 1:
            return False
        if "role" in query:
            found = _ROLES.get(query["role"][0])
            if found is None:
                return False
            role = found
    authorization = request_id = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"x-request-id":
            request_id = value.decode("latin-1")[:64]
    headers = [(b"x-request-id", (request_id or uuid.uuid4().hex).encode("latin-1"))]
    ctx = app.state.ctx
    try:
        p = await authenticate_header(ctx, authorization, outage_ok=True, budget=LOOKUP)
        data, fresh = await ctx.ownership.lookup_one(p, external_id, role)
    except DomainError as exc:
        response = problem_for(exc)
        response.raw_headers.extend(headers)
        await response(scope, _no_body, send)
        return True
    except Exception:  # a database error, say: the full stack answers (a 503 with Retry-After)
        return False
    body = encode(data)
    headers += [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in fresh.headers().items()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return True


async def _no_body() -> dict:
    return {"type": "http.request", "body": b"", "more_body": False}


def is_lookup(scope: dict) -> bool:
    return scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith(_PREFIX)


@router.get(
    "/ownership/{external_id:path}/timeline",
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
    return await history.account_history(ctx, p, account.id, page_size, page_token)


# an external id may hold '/' (this route, declared after the timeline, takes the rest of the path)
@router.get(
    "/ownership/{external_id:path}",
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
        IsoAwareDatetime | None, Query(description="answer as of this time (ISO 8601 with a time zone)")
    ] = None,
) -> Response:
    # The hot path: no dependency chain; the key is read the same way get_principal reads it.
    ctx = request.app.state.ctx
    current = as_of is None  # a current lookup spends the lookup budget; one as of a date reads the log
    authorization = request.headers.get("authorization")
    p = await authenticate_header(ctx, authorization, outage_ok=current, budget=LOOKUP if current else API)
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
