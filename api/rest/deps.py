"""Dependencies of every route: the app context and the authenticated caller."""

from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import ERROR_TABLE
from api.services.common import Problem
from api.services.context import AppContext, Principal, authenticate_header

bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer te_...`")


def get_ctx(request: Request) -> AppContext:
    return request.app.state.ctx


async def get_principal(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    return await authenticate_header(request.app.state.ctx, request.headers.get("authorization"))


CtxDep = Annotated[AppContext, Depends(get_ctx)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem+json answers a route can give."""
    titles = {status: title for status, title in ERROR_TABLE.values()}
    titles.setdefault(500, "Internal error")
    return {
        status: {
            "model": Problem,
            "description": titles.get(status, "Error"),
        }
        for status in statuses
    }


# every /v1 operation can answer these: malformed JSON, no or bad key, missing scope, a body too large,
# invalid fields, and (never on purpose) an internal error
T = TypeVar("T")


def located(response: Response, path: str, entity: T) -> T:
    """A created (201) or accepted (202) answer says where the new resource is (RFC 9110 Location)."""
    response.headers["Location"] = path
    return entity


def created(status: int = 201, what: str = "the new resource") -> dict[int | str, dict[str, Any]]:
    """The OpenAPI entry of a 201 (or 202) answer with its Location header."""
    return {
        status: {"headers": {"Location": {"description": f"the URL of {what}", "schema": {"type": "string"}}}}
    }


AUTH_ERRORS = (400, 401, 403, 413, 422, 500)
