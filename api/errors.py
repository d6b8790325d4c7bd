"""The one table from errors to HTTP status, problem type and GraphQL code, and the problem+json handlers."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.ratelimit import RateLimited
from api.services.context import Forbidden, Unauthorized
from api.services.health import NotReady
from api.services.imports import InvalidFile
from api.services.pagination import InvalidPageToken
from domain.errors import (
    Code,
    ConcurrentChange,
    Conflict,
    DomainError,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    RuleViolation,
    Unavailable,
    ValidationFailed,
)
from persistence.db import is_busy, is_retryable, is_unavailable
from persistence.repositories import translate_integrity_error

log = logging.getLogger("territory")

PROBLEM_BASE = "https://territory-engine.dev/problems/"
PROBLEM_JSON = "application/problem+json"


class BadRequest(DomainError):
    """Malformed input that is not a field problem: bad JSON, bad CSV, a wrong content type."""

    code = Code.BAD_REQUEST


class PayloadTooLarge(DomainError):
    code = Code.PAYLOAD_TOO_LARGE


class UnsupportedMediaType(DomainError):
    code = Code.UNSUPPORTED_MEDIA_TYPE


# error class -> (HTTP status, title). The code comes from the error itself (a stable string).
ERROR_TABLE: dict[type[DomainError], tuple[int, str]] = {
    BadRequest: (400, "Bad request"),
    InvalidFile: (400, "Bad request"),
    InvalidPageToken: (400, "Invalid page token"),
    Unauthorized: (401, "Unauthorized"),
    Forbidden: (403, "Forbidden"),
    NotFound: (404, "Not found"),
    Conflict: (409, "Conflict"),
    PreconditionFailed: (412, "Precondition failed"),
    PayloadTooLarge: (413, "Payload too large"),
    UnsupportedMediaType: (415, "Unsupported media type"),
    ValidationFailed: (422, "Validation failed"),
    RuleViolation: (422, "Rule violation"),
    PreconditionRequired: (428, "Precondition required"),
    RateLimited: (429, "Too many requests"),
    NotReady: (503, "Service not ready"),
    Unavailable: (503, "Service unavailable"),
}
RETRY_AFTER_SECONDS = 5

# what a database that cannot be reached raises (persistence.db.is_unavailable tells which of them mean that)
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    DBAPIError,
    OSError,  # ConnectionRefusedError, TimeoutError, socket.gaierror
    asyncpg.PostgresError,  # PostgresConnectionError, CannotConnectNowError
    asyncpg.InterfaceError,
)


def status_for(exc: DomainError) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls in ERROR_TABLE:
            return ERROR_TABLE[cls]
    return 500, "Internal error"


def problem(
    status: int,
    title: str,
    detail: str,
    code: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {
        "type": PROBLEM_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "errors": errors or [],
    }
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _refusal_headers(exc: DomainError, status: int) -> dict[str, str] | None:
    """401 says how to authenticate; 429 and 503 say when to send it again."""
    retry_after = exc.retry_after_seconds or (RETRY_AFTER_SECONDS if status == 503 else None)
    if retry_after:
        return {"Retry-After": str(retry_after)}
    return {"WWW-Authenticate": "Bearer"} if status == 401 else None


def problem_for(exc: DomainError) -> Response:
    status, title = status_for(exc)
    headers = _refusal_headers(exc, status)
    return problem(status, title, exc.detail, exc.code, [e.as_dict() for e in exc.errors], headers)


GRAPHQL_PATH = "/graphql"


def graphql_problem(exc: DomainError) -> Response:
    """A refusal before a GraphQL operation runs (no or a bad key, the key's rate limit spent, the database
    unreachable while checking it) in GraphQL's shape, so a GraphQL client reads an `errors` entry with
    `extensions.code`; the HTTP status and headers are REST's (401 with WWW-Authenticate, 429 and 503 with
    Retry-After)."""
    status, _ = status_for(exc)
    extensions = {"code": exc.code, "status": status, "errors": [e.as_dict() for e in exc.errors]}
    if exc.retry_after_seconds:
        extensions["retry_after_seconds"] = exc.retry_after_seconds
    body = {"data": None, "errors": [{"message": exc.detail, "extensions": extensions}]}
    return Response(
        orjson.dumps(body),
        status_code=status,
        headers=_refusal_headers(exc, status),
        media_type="application/json",
    )


def _is_json(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def field_path(loc: Any) -> str:
    """A field's path as every error names it: `rules[0].days` (the domain's validation spells positions so;
    pydantic's `loc` gives ("rules", 0, "days"))."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def field_errors_from_pydantic(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        loc = [x for x in err.get("loc", ()) if x not in ("body", "query", "path", "header")]
        kind = err.get("type", "invalid")
        code = {"extra_forbidden": Code.UNKNOWN_FIELD, "missing": Code.REQUIRED}.get(kind, kind)
        message = err.get("msg", "invalid value")
        if kind == "extra_forbidden":
            message = "unknown or read-only field"
        out.append({"field": field_path(loc), "code": code, "message": message})
    return out


def database_error(exc: BaseException) -> DomainError | None:
    """What a database exception means to a client, the same over REST and GraphQL: a unique rule no use
    case checked first (409 naming it), a serialization failure or deadlock, or SQLite's write lock held
    by another write past its timeout (409 concurrent_change, send it again), a database that cannot be
    reached (503); None for anything else (a bug)."""
    if isinstance(exc, IntegrityError):
        return translate_integrity_error(exc)
    if is_retryable(exc):
        return ConcurrentChange(
            "another change to the same data ran at the same time; nothing was written: send it again"
        )
    if is_busy(exc):
        return ConcurrentChange(
            "another write held the database for longer than it waits (a long run, such as a rescoring); "
            "nothing was written: send it again"
        )
    if is_unavailable(exc):
        return Unavailable("the database cannot be reached; retry")
    return None


def _unavailable(request: Request, exc: Exception) -> Response:
    log.warning("database unavailable on %s %s: %r", request.method, request.url.path, exc)
    return problem_for(Unavailable("the database cannot be reached; retry"))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        if request.url.path.rstrip("/") == GRAPHQL_PATH:
            return graphql_problem(exc)
        return problem_for(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return problem(400, "Bad request", "the body is not valid JSON", "malformed_json")
        sent = request.headers.get("content-type", "")
        if sent and not _is_json(sent) and any(tuple(e.get("loc", ())) == ("body",) for e in errors):
            # a JSON body sent under another type (curl -d sends application/x-www-form-urlencoded)
            return problem_for(
                UnsupportedMediaType(
                    f"the body must be JSON, sent with Content-Type: application/json (not {sent})"
                )
            )
        return problem(
            422,
            "Validation failed",
            "the request has invalid fields",
            "validation_failed",
            field_errors_from_pydantic(errors),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        code = {404: Code.NOT_FOUND, 405: Code.METHOD_NOT_ALLOWED, 401: Code.UNAUTHORIZED}.get(
            exc.status_code, Code.HTTP_ERROR
        )
        return problem(exc.status_code, str(exc.detail), str(exc.detail), code, headers=exc.headers)

    async def _database(request: Request, exc: Exception) -> Response:
        """The classes a lost database surfaces as, answered 503 here: Starlette hands `Exception` to its
        last-resort middleware, which re-raises after answering, so uvicorn logs an unhandled exception
        and drops the client's connection. Anything else of these classes goes on to `_unexpected`."""
        meant = database_error(exc)
        if meant is None:
            raise exc
        if isinstance(meant, Unavailable):
            return _unavailable(request, exc)
        return problem_for(meant)

    for cls in DATABASE_ERRORS:
        app.add_exception_handler(cls, _database)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        if is_unavailable(exc):  # wrapped in something else: answered, but the connection is dropped
            return _unavailable(request, exc)
        if isinstance(exc, RecursionError):  # a body nested thousands deep (JSON, GraphQL variables)
            return problem_for(BadRequest("the body is nested too deeply to read"))
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(
            500, "Internal error", "an unexpected error occurred; it has been logged", "internal_error"
        )
