"""The app factory: engine, context and caches live here; the routes come from api.rest and api.graphql."""

from __future__ import annotations

import gc
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncEngine

from api.config import AppSettings
from api.edge import header, install_edge
from api.errors import GRAPHQL_PATH, install_error_handlers
from api.ratelimit import COUNTED, Quota, make_limiter
from api.rest import (
    accounts,
    assignments,
    capacity,
    coverage,
    disputes,
    engagement,
    equity,
    events,
    health,
    history,
    imports,
    keys,
    operations,
    ownership,
    plans,
    rebalancing,
    reports,
    reps,
    scoring,
    segment_changes,
    territories,
)
from api.rest import settings as settings_routes
from api.rest.deps import RATE_LIMIT_HEADERS
from api.rest.keys import SECRET_PATHS
from api.services.context import AppContext
from api.services.ownership import OwnershipService
from api.services.runner import Runner
from api.services.worker import Worker
from persistence.db import make_engine, make_session_factory, stop_own_processes
from persistence.keyprobe import KeyProbe

STATIC = Path(__file__).parent / "static"

DESCRIPTION = """Territory Engine: scoring, coverage, balanced territories and ownership, as a service.

Authenticate with `Authorization: Bearer KEY` (create a key with `territory tenants create NAME`).
Every error is RFC 9457 `application/problem+json` with a stable `code` and per-field `errors`.
Lists are cursor-paginated: pass `next_page_token` back as `page_token`.
"""


# every tag an operation carries, described (tests/contract/test_generated_client.py holds that)
OPENAPI_TAGS: list[dict[str, str]] = [
    {"name": "ownership", "description": "Who owns an account: the hot path"},
    {"name": "accounts", "description": "Companies we sell to or might"},
    {"name": "reps", "description": "People who cover accounts"},
    {"name": "territories", "description": "Named books of business inside a plan"},
    {"name": "plans", "description": "Territory designs: draft, active, archived"},
    {"name": "assignments", "description": "Owners of record, with history"},
    {"name": "import", "description": "Bulk import and export (JSON or CSV)"},
    {
        "name": "settings",
        "description": "The tenant's numbers: scoring, tiers, coverage, capacity",
    },
    {"name": "scoring", "description": "Scores, potential, tiers and capacity, explained"},
    {"name": "coverage", "description": "Covered or why not; overlaps; monthly review lists"},
    {
        "name": "engagement",
        "description": "Rules of engagement: the written, ordered policy that decides owners",
    },
    {
        "name": "reports",
        "description": "Coverage review, weekly metrics, quarterly review, territory plan, dispute log",
    },
    {"name": "events", "description": "Events from the change log: a feed and webhooks"},
    {"name": "keys", "description": "The tenant's API keys: list, create, revoke, rotate"},
    {"name": "health", "description": "Liveness and readiness"},
    {"name": "operations", "description": "Long-running work (optimising a plan): poll, list, cancel"},
]


class TerritoryApp(FastAPI):
    """FastAPI with the ownership lookup served in front of its stack (api.rest.ownership.serve_lookup)."""

    cors = False  # a browser's lookup (it sends Origin) goes through the stack, for its CORS headers
    limited = False  # rate limits are on: every HTTP request is counted once, its answer says where it stands

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if not self.limited or scope["type"] != "http":
            return await self._answer(scope, receive, send)
        counted: list[Quota | None] = []
        token = COUNTED.set(counted)
        try:
            await self._answer(scope, receive, _with_quota(send, counted))
        finally:
            COUNTED.reset(token)

    async def _answer(self, scope: dict, receive: Any, send: Any) -> None:
        if (
            ownership.is_lookup(scope)
            and not (self.cors and header(scope, b"origin"))
            and await ownership.serve_lookup(self, scope, send)
        ):
            return
        await super().__call__(scope, receive, send)


def _with_quota(send: Any, counted: list[Quota | None]) -> Any:
    """The answer with the RateLimit-Policy and RateLimit fields of the request's count, if it was counted."""

    async def sending(message: dict) -> None:
        if message["type"] == "http.response.start" and counted and counted[0] is not None:
            message["headers"] = [*message.get("headers", ()), *counted[0].headers()]
        await send(message)

    return sending


def _prepare_routes(routes: list[Any]) -> None:
    """FastAPI (0.16x) prepares an included router's routes at the first request that reaches it, 0.1 s
    in all here: do it at start-up, so that it does not land on a request (older versions have nothing
    to prepare)."""
    for route in routes:
        prepare = getattr(route, "effective_candidates", None)
        if callable(prepare):
            _prepare_routes(prepare())
            getattr(route, "effective_low_priority_routes", list)()


IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "send a retry with the same key to get the first answer again (for 24 hours) and change "
    "nothing: the answer carries `Idempotent-Replayed: true`; the key with another request is a 422, a "
    "retry while the first still runs a 409",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def _idempotency_keys(spec: dict[str, Any]) -> dict[str, Any]:
    """Every POST under /v1 takes an Idempotency-Key (api.edge.Idempotency), but those whose answer holds a
    secret (api.rest.keys.SECRET_PATHS)."""
    for path, item in spec.get("paths", {}).items():
        if path.startswith("/v1/") and "post" in item and not re.match(SECRET_PATHS, path):
            item["post"].setdefault("parameters", []).append(IDEMPOTENCY_PARAMETER)
    return spec


def _problem_media_types(spec: dict[str, Any]) -> dict[str, Any]:
    """Error answers are documented as application/problem+json, which is what they are; an operation that
    takes a JSON body answers 415 to a body sent under another type (api/errors.py)."""
    for path in spec.get("paths", {}).values():
        for op in path.values():
            responses = op.get("responses", {})
            if "application/json" in op.get("requestBody", {}).get("content", {}) and "415" not in responses:
                responses["415"] = {
                    "description": "Unsupported media type",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
                }
            for status, response in responses.items():
                content = response.get("content", {})
                if status[0] in "45" and "application/json" in content:
                    content["application/problem+json"] = content.pop("application/json")
    return spec


def _with_schemas(spec: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """Schemas that routes name by $ref in openapi_extra, added to the components (one FastAPI made under
    the same name must be the same schema)."""
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in schemas.items():
        if components.setdefault(name, schema) != schema:
            raise RuntimeError(f"two schemas named {name} in the contract")
    return spec


def create_app(settings: AppSettings | None = None, engine: AsyncEngine | None = None) -> FastAPI:
    settings = settings or AppSettings()
    engine = engine or make_engine(settings.database_url)
    ctx = AppContext(engine=engine, session_factory=make_session_factory(engine))
    ctx.ownership = OwnershipService(
        engine,
        use_snapshots=settings.ownership_snapshots,
        rebuild_interval=settings.ownership_rebuild_interval,
        memory_budget_mb=settings.ownership_memory_mb,
        catch_up_limit=settings.ownership_catch_up_limit,
        listen_url=settings.listen_database_url,
    )
    ctx.keys = KeyProbe(
        engine.url.render_as_string(hide_password=False), settings.key_cache_seconds, engine=engine
    )
    ctx.operations = Runner()
    ctx.runs_worker = settings.worker_in_process
    ctx.limiter = make_limiter(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        worker = (
            Worker(ctx, retry_scale=settings.webhook_retry_scale, listen_url=settings.listen_database_url)
            if settings.worker_in_process
            else None
        )
        if worker is not None:
            worker.start()
        _prepare_routes(app.router.routes)
        gc.collect()
        gc.freeze()  # the app's own objects: see OwnershipService._build
        yield
        if worker is not None:
            await worker.stop()
        await ctx.operations.close()
        await ctx.ownership.close()
        stop_own_processes()  # the index build process: its semaphores were reported leaked at SIGTERM
        await ctx.keys.close()
        if ctx.limiter is not None:
            await ctx.limiter.close()
        await engine.dispose()

    app = TerritoryApp(
        title="Territory Engine",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=lambda route: route.name,
    )
    app.state.ctx = ctx
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(ownership.router)
    app.include_router(health.router)
    app.include_router(imports.router)  # before /{id} routes: /v1/accounts/export is not an id
    app.include_router(equity.router)  # likewise /v1/plans/compare
    for feature in (assignments, history, rebalancing, accounts, reps, territories, plans):
        app.include_router(feature.router)
    app.include_router(settings_routes.router)
    app.include_router(scoring.router)
    app.include_router(capacity.router)
    app.include_router(coverage.router)
    app.include_router(engagement.router)
    app.include_router(disputes.router)
    app.include_router(segment_changes.router)
    app.include_router(reports.router)
    app.include_router(operations.router)
    app.include_router(events.router)
    app.include_router(keys.router)

    from api.graphql.schema import graphql_router

    app.include_router(graphql_router(), prefix=GRAPHQL_PATH, include_in_schema=False)

    app.mount("/static/swagger", StaticFiles(directory=STATIC / "swagger"), name="swagger")
    app.mount("/static/graphiql", StaticFiles(directory=STATIC / "graphiql"), name="graphiql")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Territory Engine API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png",
            # the key entered under Authorize is kept in the browser's storage across reloads
            swagger_ui_parameters={"persistAuthorization": True},
        )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=OPENAPI_TAGS,
            )
            spec.setdefault("components", {})["headers"] = RATE_LIMIT_HEADERS
            app.openapi_schema = _idempotency_keys(
                _problem_media_types(_with_schemas(spec, imports.row_schemas()))
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.cors = bool(settings.cors_origins)
    app.limited = ctx.limiter is not None
    install_edge(app, settings)
    return app
