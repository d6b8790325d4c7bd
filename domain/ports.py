"""Ports the use cases depend on; persistence implements them over SQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID

from domain.changes import Change
from domain.model import Account, Assignment, Plan, Rep, Territory

T = TypeVar("T")


class Clock(Protocol):
    def now(self) -> datetime: ...


class EntityRepository(Protocol[T]):
    async def get(self, entity_id: UUID) -> T | None: ...
    async def add(self, entity: T) -> T: ...
    async def update(self, entity_id: UUID, changes: Mapping[str, Any]) -> T: ...
    async def list(self, filters: Mapping[str, Any], after: UUID | None, limit: int) -> Sequence[T]: ...


class AccountRepository(EntityRepository[Account], Protocol):
    async def get_by_external_id(self, external_id: str) -> Account | None: ...
    async def ancestor_links(self, account_id: UUID) -> dict[UUID, UUID | None]: ...


class RepRepository(EntityRepository[Rep], Protocol): ...


class PlanRepository(EntityRepository[Plan], Protocol):
    async def active(self) -> Plan | None: ...


class TerritoryRepository(EntityRepository[Territory], Protocol): ...


class AssignmentRepository(EntityRepository[Assignment], Protocol):
    async def current_owner(self, plan_id: UUID, account_id: UUID, role: str) -> Assignment | None: ...


class UnitOfWork(Protocol):
    tenant_id: UUID
    accounts: AccountRepository
    reps: RepRepository
    plans: PlanRepository
    territories: TerritoryRepository
    assignments: AssignmentRepository

    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    def record(self, *changes: Change) -> None: ...
