"""Dependencies of every route: the app context and the authenticated caller."""

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import ERROR_TABLE
from api.services.context import AppContext, Principal, Unauthorized
from api.services.schemas import Problem
from persistence.tenants import authenticate

bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer te_...`")


def get_ctx(request: Request) -> AppContext:
    return request.app.state.ctx


async def get_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("send an API key as 'Authorization: Bearer KEY'")
    record = await authenticate(request.app.state.ctx.engine, credentials.credentials)
    if record is None:
        raise Unauthorized("the API key is not valid")
    return Principal(record.tenant_id, record.scopes, record.key_id, record.ownership_version)


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


AUTH_ERRORS = (401, 403, 422, 500)
