"""Dependencies of every route: the app context and the authenticated caller."""

from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import ERROR_TABLE
from api.services.common import Problem
from api.services.context import AppContext, Principal, authenticate_header
from domain.preconditions import Precondition

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
            **({"headers": RATE_LIMIT_HEADER_REFS} if status == 429 else {}),
        }
        for status in statuses
    }


# a 429 `rate_limited` (api/ratelimit.py): the key spent its budget for the window. The headers are
# described once, in components.headers (api/app.py adds them), and referred to by every 429.
RATE_LIMIT_HEADERS = {
    "Retry-After": {"description": "seconds until the key's window ends", "schema": {"type": "integer"}},
    "RateLimit-Policy": {
        "description": 'the budget: `"api";q=600;w=60` is 600 requests a key per 60 seconds '
        "(draft-ietf-httpapi-ratelimit-headers); every counted answer carries it",
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": 'where the key stands: `"api";r=0;t=42`, r requests left, t seconds until the window '
        "ends; every counted answer carries it",
        "schema": {"type": "string"},
    },
}
RATE_LIMIT_HEADER_REFS = {name: {"$ref": f"#/components/headers/{name}"} for name in RATE_LIMIT_HEADERS}


# every /v1 operation can answer these: malformed JSON, no or bad key, missing scope, a body too large,
# invalid fields, the key's rate limit spent, and (never on purpose) an internal error
T = TypeVar("T")


def located(response: Response, path: str, entity: T) -> T:
    """A created (201) or accepted (202) answer says where the new resource is (RFC 9110 Location)."""
    response.headers["Location"] = path
    return entity


def created(
    status: int = 201, what: str = "the new resource", versioned: bool = False
) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI entry of a 201 (or 202) answer with its Location header (and ETag, when `versioned`)."""
    headers = {"Location": {"description": f"the URL of {what}", "schema": {"type": "string"}}}
    return {status: {"headers": headers | (ETAG_HEADER if versioned else {})}}


AUTH_ERRORS = (400, 401, 403, 413, 422, 429, 500)


# -- versions: ETag, If-Match, If-None-Match (docs/http.md, "Versions") ---------------------------------

GZIP_SUFFIX = "-gzip"  # a compressed answer's strong ETag names its encoding (api/edge.py, Compression)


def etag(version: int) -> str:
    """The strong entity tag of a resource at `version`."""
    return f'"{version}"'


def _precondition(value: str | None, weak_too: bool) -> Precondition | None:
    """The versions an If-Match / If-None-Match list names (None: no header), or any version for `*`. A
    weak tag (W/"3") names nothing under strong comparison (If-Match); a tag not of ours names nothing."""
    if value is None:
        return None
    versions: set[int] = set()
    for item in value.split(","):
        tag = item.strip()
        if tag == "*":
            return Precondition(any_version=True)
        if tag.startswith("W/"):
            if not weak_too:
                continue
            tag = tag[2:]
        if len(tag) < 2 or tag[0] != '"' or tag[-1] != '"':
            continue
        inner = tag[1:-1].removesuffix(GZIP_SUFFIX)
        if inner.isascii() and inner.isdigit() and len(inner) <= 18:
            versions.add(int(inner))
    return Precondition(frozenset(versions))


def if_match(
    value: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description='the ETag this change was made against (e.g. `"3"`), or `*`: if the resource has '
            "changed since, the answer is 412 and nothing is written",
        ),
    ] = None,
) -> Precondition | None:
    return _precondition(value, weak_too=False)


IfMatchDep = Annotated[Precondition | None, Depends(if_match)]


def if_none_match(
    value: Annotated[
        str | None,
        Header(
            alias="If-None-Match",
            description="the ETag you hold: while the resource is still at that version the answer is 304 "
            "with no body",
        ),
    ] = None,
) -> Precondition | None:
    return _precondition(value, weak_too=True)


IfNoneMatchDep = Annotated[Precondition | None, Depends(if_none_match)]


def versioned(response: Response, version: int, entity: T) -> T:
    """An answer that carries one resource says its version (ETag)."""
    response.headers["ETag"] = etag(version)
    return entity


def unchanged(held: Precondition | None, version: int) -> Response | None:
    """304 Not Modified when the client already holds this version (If-None-Match), else None."""
    if held is not None and held.holds(version):
        return Response(status_code=304, headers={"ETag": etag(version)})
    return None


ETAG_HEADER = {
    "ETag": {"description": "the resource's version (If-Match takes it)", "schema": {"type": "string"}}
}


def with_etag(status: int = 200) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI entry of an answer that carries a resource's ETag."""
    return {status: {"headers": ETAG_HEADER}}


NOT_MODIFIED = {
    304: {"description": "Not modified: you hold this version (If-None-Match)", "headers": ETAG_HEADER}
}
PRECONDITION_ERRORS = (412, 428)
