"""The HTTP edge: what every request passes before a route. Its request id; the body limit; the methods a
path takes (405 with `Allow`, HEAD answered as GET without the body) and no NUL character in a path or a
query; compression; CORS (docs/http.md)."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from typing import Any

from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware

from api.errors import BadRequest, PayloadTooLarge, problem, problem_for
from api.rest.deps import GZIP_SUFFIX
from api.services import idempotency
from api.services.context import authenticate_header
from domain.errors import Code, DomainError, FieldError, ValidationFailed
from persistence.changes import REQUEST_ID

# what a browser app on another origin may send and read (CORS)
CORS_REQUEST_HEADERS = [
    "authorization",
    "content-type",
    "x-request-id",
    "idempotency-key",
    "if-match",
    "if-none-match",
]
CORS_EXPOSED_HEADERS = [
    "x-request-id",
    "retry-after",
    "location",
    "www-authenticate",
    "idempotent-replayed",
    "etag",
    "ratelimit",
    "ratelimit-policy",
]


def header(scope: dict, name: bytes) -> bytes:
    """A request header's value (its first), b"" when it was not sent; `name` in lower case."""
    return next((v for k, v in scope.get("headers", ()) if k == name), b"")


class RequestId:
    """Every request has an id: the caller's `X-Request-Id` (up to 64 characters) or a new one. It is
    echoed in the answer and recorded with every change the request makes (the change log)."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = header(scope, b"x-request-id")
        request_id = given.decode("latin-1")[:64] if given else uuid.uuid4().hex
        REQUEST_ID.set(request_id)

        async def with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        return await self.app(scope, receive, with_id)


class BodyLimit:
    """Refuses bodies larger than the limit with 413, before anything is read into a handler."""

    def __init__(self, app: Any, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                response = problem_for(PayloadTooLarge(f"the body is larger than {self.limit} bytes"))
                return await response(scope, receive, send)
        seen = 0

        async def limited() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise PayloadTooLarge(f"the body is larger than {self.limit} bytes")
            return message

        return await self.app(scope, limited, send)


def _routes(routes: list[Any]) -> Iterator[Any]:
    """Every route of the app, the included routers' too (FastAPI includes them lazily)."""
    for route in routes:
        inner = getattr(route, "effective_candidates", None)
        if callable(inner):
            yield from _routes(inner())
        elif getattr(route, "methods", None) and getattr(route, "path_regex", None) is not None:
            yield route


def _uuid_params(route: Any) -> list[str]:
    dependant = getattr(route, "dependant", None)
    params = getattr(dependant, "path_params", None) or []
    return [p.alias for p in params if getattr(p.field_info, "annotation", None) is uuid.UUID]


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _nul_in(scope: dict) -> str | None:
    """'path' or 'query' when that part of the request holds a NUL character (PostgreSQL cannot store or
    compare one), else None."""
    if "\x00" in scope["path"]:
        return "path"
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        return "query"
    return None


class Methods:
    """The methods a path takes, from the routes that match it: another method is a 405 naming them in
    `Allow` (RFC 9110), and HEAD is answered as GET without the body. A route whose id is a UUID matches
    only a UUID, so `PATCH /v1/accounts/import` is a 405 (the path takes POST), not a 422 about an
    account id; a path no route matches goes on to the router (404, or 422 for an id that is not one)."""

    def __init__(self, app: Any, router: Any):
        self.app = app
        self.router = router
        self._table: list[tuple[re.Pattern[str], frozenset[str], list[str]]] | None = None

    def _allowed(self, path: str) -> set[str]:
        if self._table is None:
            self._table = [
                (r.path_regex, frozenset(r.methods), _uuid_params(r)) for r in _routes(self.router.routes)
            ]
        allowed: set[str] = set()
        exact: set[str] = set()  # a path a route names literally takes only its methods (lookup is not an id)
        for regex, methods, ids in self._table:
            found = regex.match(path)
            if found is not None and all(_is_uuid(found.group(name)) for name in ids):
                allowed |= methods
                if not found.groupdict():
                    exact |= methods
        allowed = exact or allowed
        if "GET" in allowed:
            allowed.add("HEAD")
        return allowed

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        where = _nul_in(scope)
        if where is not None:
            refused = ValidationFailed(
                "a request's path and query cannot hold a NUL character",
                [FieldError(where, Code.NUL_CHARACTER, "text cannot hold a NUL character")],
            )
            return await problem_for(refused)(scope, receive, send)
        method = scope["method"]
        allowed = self._allowed(scope["path"])
        if allowed and method not in allowed:
            answer = problem(
                405,
                "Method not allowed",
                f"{scope['path']} takes {', '.join(sorted(allowed))}",
                Code.METHOD_NOT_ALLOWED,
                headers={"Allow": ", ".join(sorted(allowed))},
            )
            return await answer(scope, receive, send)
        if method != "HEAD" or not allowed:
            return await self.app(scope, receive, send)

        async def headers_only(message: dict) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        return await self.app({**scope, "method": "GET"}, receive, headers_only)


class Idempotency:
    """A POST under /v1 sent with an Idempotency-Key: the first answer is stored and sent again to every
    retry with that key (api.services.idempotency); anything else passes by."""

    def __init__(self, app: Any, owner: Any):
        self.app = app
        self.owner = owner  # the FastAPI app: its state holds the context

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        key = None  # None: not sent; b"" sent empty, which is refused (a 422), not ignored
        if scope["type"] == "http" and scope["method"] == "POST":
            sent = any(k == b"idempotency-key" for k, _ in scope.get("headers", ()))
            key = header(scope, b"idempotency-key") if sent else None
            if key is not None and scope["path"] == "/graphql":  # it would protect nothing there: say so
                refusal = BadRequest(
                    "the Idempotency-Key header is not read on /graphql (a document may hold several "
                    "mutations): give each mutation its idempotencyKey argument"
                )
                return await problem_for(refusal)(scope, receive, send)
            if not scope["path"].startswith("/v1/"):
                key = None
        if key is None:
            return await self.app(scope, receive, send)
        ctx = self.owner.state.ctx
        authorization = header(scope, b"authorization")
        try:
            principal = await authenticate_header(ctx, authorization.decode("latin-1"))
        except DomainError:
            return await self.app(scope, receive, send)  # the route answers the key's problem
        try:
            text = idempotency.check_key(key.decode("latin-1"))
            body = await _read_body(receive)
            fingerprint = hashlib.sha256(
                b"\n".join((scope["path"].encode(), scope.get("query_string", b""), body))
            ).hexdigest()
            first = await idempotency.begin(ctx, principal.tenant_id, text, fingerprint)
        except DomainError as exc:
            return await problem_for(exc)(scope, receive, send)
        if first is not None:
            return await _replay(first, scope, receive, send)
        answer = _Recorder(send)
        try:
            await self.app(scope, _replaying(body), answer.send)
        finally:
            await idempotency.finish(ctx, principal.tenant_id, text, answer.result())


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replaying(body: bytes) -> Any:
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


class _Recorder:
    """Passes the answer on while keeping a copy of it."""

    def __init__(self, send: Any):
        self._send = send
        self.status: int | None = None
        self.headers: dict[bytes, bytes] = {}
        self.chunks: list[bytes] = []
        self.complete = False

    async def send(self, message: dict) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.lower(): v for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))
            self.complete = not message.get("more_body", False)
        await self._send(message)

    def result(self) -> idempotency.Answer | None:
        if self.status is None or not self.complete:
            return None  # the request did not finish: nothing to replay
        content_type, location = self.headers.get(b"content-type"), self.headers.get(b"location")
        return idempotency.Answer(
            self.status,
            content_type.decode("latin-1") if content_type else None,
            location.decode("latin-1") if location else None,
            b"".join(self.chunks),
            retry=b"retry-after" in self.headers,
        )


async def _replay(first: idempotency.Answer, scope: dict, receive: Any, send: Any) -> None:
    headers = [(b"idempotent-replayed", b"true"), (b"content-length", str(len(first.body)).encode())]
    if first.content_type:
        headers.append((b"content-type", first.content_type.encode("latin-1")))
    if first.location:
        headers.append((b"location", first.location.encode("latin-1")))
    await send({"type": "http.response.start", "status": first.status, "headers": headers})
    await send({"type": "http.response.body", "body": first.body})


class Compression:
    """gzip for answers above a size (Starlette's). A compressed answer is another representation, so its
    strong ETag names the encoding ("3" becomes "3-gzip", RFC 9110 8.8.3); If-Match takes either."""

    def __init__(self, app: Any, minimum_size: int):
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.gzip(scope, receive, send)

        async def tagged(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers") or []
                if (b"content-encoding", b"gzip") in headers:
                    message["headers"] = [(k, _gzip_tag(v) if k == b"etag" else v) for k, v in headers]
            await send(message)

        return await self.gzip(scope, receive, tagged)


def _gzip_tag(tag: bytes) -> bytes:
    if tag.startswith(b'"') and tag.endswith(b'"') and len(tag) > 1:
        return tag[:-1] + GZIP_SUFFIX.encode() + b'"'
    return tag  # a weak tag stays as it is: weak comparison ignores the encoding


def install_edge(app: Any, settings: Any) -> None:
    """From the outside in: the request id, CORS (when origins are configured), compression, the methods,
    the body limit."""
    app.add_middleware(Idempotency, owner=app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(Methods, router=app.router)
    app.add_middleware(Compression, minimum_size=settings.compress_min_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_EXPOSED_HEADERS,
            max_age=settings.cors_max_age,
        )
    app.add_middleware(RequestId)
