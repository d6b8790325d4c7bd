"""What every use case receives: the engine, a unit-of-work factory, the caller, the clock."""

from __future__ import annotations

import os
import socket
import typing
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from domain.defaults import TenantSettings, apply_overrides
from domain.errors import Code, DomainError, FieldError, Unavailable, ValidationFailed
from domain.model import Scope
from domain.ports import SetBasedUnitOfWork, UnitOfWork
from persistence.changes import ACTOR
from persistence.db import Engine, SessionFactory
from persistence.unit_of_work import SqlUnitOfWork


@dataclass(frozen=True)
class Principal:
    tenant_id: UUID
    scopes: frozenset[str]
    key_id: UUID | None = None
    ownership_version: int | None = 0  # the change-log head read with the key; None during an outage

    def require(self, scope: Scope) -> None:
        if scope.value not in self.scopes and Scope.ADMIN.value not in self.scopes:
            raise Forbidden(f"this key lacks the {scope.value!r} scope")


class Unauthorized(DomainError):
    code = Code.UNAUTHORIZED


class Forbidden(DomainError):
    code = Code.FORBIDDEN


async def authenticate_header(
    ctx: AppContext, authorization: str | None, outage_ok: bool = False, budget: str = "api"
) -> Principal:
    """`Authorization: Bearer KEY` -> the caller, with its tenant's change-log head. With `outage_ok`
    (lookups), a key the database confirmed within the cache window is accepted while it cannot be
    reached, with no head (the caller answers from memory and says how old that is). A valid key's
    request is counted against its rate limit `budget` ("api", or "lookup"; api/ratelimit.py), once per
    request, and refused past it (RateLimited, a 429)."""
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("send an API key as 'Authorization: Bearer KEY'")
    try:
        record = await ctx.keys.read(key.strip())
    except Unavailable:
        record = ctx.keys.cached(key.strip()) if outage_ok else None
        if record is None:
            raise
    if record is None:
        raise Unauthorized("the API key is not valid")
    if ctx.limiter is not None:
        await ctx.limiter.admit(record.key_id, budget)
    ACTOR.set(str(record.key_id))
    return Principal(record.tenant_id, record.scopes, record.key_id, record.ownership_version)


def worker_name() -> str:
    """Names the process doing background work, in the rows it takes (host, pid, a random tail)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class AppContext:
    engine: Engine
    session_factory: SessionFactory
    clock: Any = field(default_factory=SystemClock)
    ownership: Any = None  # api.services.ownership.OwnershipService, set by the app factory
    keys: Any = None  # persistence.keyprobe.KeyProbe, set by the app factory
    limiter: Any = None  # api.ratelimit.RateLimiter, set by the app factory; None: no rate limits
    operations: Any = None  # api.services.runner.Runner: the long-running work this process runs
    deliverer: Any = None  # api.services.delivery.Deliverer, when this process delivers webhooks
    flights: dict = field(default_factory=dict)  # runs in flight in this process (api/services/runner.py)
    # whether this process runs the worker (`worker_in_process`): if not, the rescoring after an import is
    # queued for the `territory worker` processes rather than run here (api/services/scoring.py)
    runs_worker: bool = True

    def uow(self, tenant_id: UUID) -> SetBasedUnitOfWork:
        committed = None if self.ownership is None else self.ownership.committed
        return SqlUnitOfWork(self.session_factory, tenant_id, committed)


async def tenant_settings(uow: UnitOfWork) -> TenantSettings:
    return apply_overrides(await uow.tenant_settings())


async def versioned_settings(uow: UnitOfWork) -> tuple[TenantSettings, int]:
    """The tenant's effective settings and their version (answers name the version they used)."""
    overrides, version = await uow.settings_record()
    return apply_overrides(overrides), version


def changes_from(update: BaseModel, create_model: type[BaseModel]) -> dict[str, Any]:
    """The fields a PATCH body sent; null is refused for fields the create model does not allow null."""
    changes = update.model_dump(exclude_unset=True)
    errors = []
    for name, value in changes.items():
        info = create_model.model_fields.get(name)
        if value is None and info is not None and type(None) not in typing.get_args(info.annotation):
            errors.append(FieldError(name, Code.NULL_NOT_ALLOWED, f"{name} cannot be null"))
    if errors:
        raise ValidationFailed("invalid fields", errors)
    return changes
