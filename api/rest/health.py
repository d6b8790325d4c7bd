"""Liveness and readiness."""

import sqlalchemy as sa
from fastapi import APIRouter, Request

from api.errors import NotReady, problem_for
from persistence.db import current_revision, head_revision

router = APIRouter(tags=["health"])


@router.get("/healthz", name="healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    name="readyz",
    summary="The database is reachable and migrated to head",
    responses={503: {"description": "Service not ready", "model": None}},
)
async def readyz(request: Request) -> dict[str, str | None]:
    engine = request.app.state.ctx.engine
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
        revision = await current_revision(engine)
    except Exception as exc:  # any failure to reach the database means not ready
        return problem_for(NotReady(f"the database is not reachable: {type(exc).__name__}"))  # type: ignore
    head = head_revision()
    if revision != head:
        return problem_for(
            NotReady(f"migrations are at {revision}, head is {head}; run 'territory db upgrade'")
        )  # type: ignore
    return {"status": "ready", "revision": revision}
