"""Readiness: the database is reachable and migrated to the head this code expects."""

from __future__ import annotations

from dataclasses import dataclass

from api.services.context import AppContext
from domain.errors import Code, DomainError
from persistence.db import migration_state


class NotReady(DomainError):
    code = Code.NOT_READY


@dataclass(frozen=True)
class Readiness:
    status: str
    revision: str | None


async def readiness(ctx: AppContext) -> Readiness:
    """Ready, or NotReady saying why: the database cannot be reached, or its migrations are not at head."""
    try:
        revision, head = await migration_state(ctx.engine)
    except Exception as exc:  # any failure to reach the database means not ready
        raise NotReady(f"the database is not reachable: {type(exc).__name__}") from exc
    if revision != head:
        raise NotReady(f"migrations are at {revision}, head is {head}; run 'territory db upgrade'")
    return Readiness("ready", revision)
