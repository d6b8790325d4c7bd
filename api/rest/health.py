"""Liveness and readiness."""

from dataclasses import asdict

from fastapi import APIRouter

from api.errors import problem_for
from api.rest.deps import CtxDep
from api.services import health
from api.services.health import NotReady

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
async def readyz(ctx: CtxDep) -> dict[str, str | None]:
    try:
        return asdict(await health.readiness(ctx))
    except NotReady as exc:
        return problem_for(exc)  # type: ignore[return-value]
