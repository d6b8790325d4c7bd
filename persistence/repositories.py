"""Tenant-scoped SQL repositories and the unit of work; rows map to domain dataclasses by field name."""

from __future__ import annotations

import dataclasses
import enum
import functools
import typing
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Generic, TypeVar
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from domain import model
from domain.changes import Change
from domain.errors import Code, Conflict, FieldError
from persistence import changes as change_log
from persistence.assigning import AssigningStore
from persistence.bulk import ImportStore
from persistence.capacity import CapacityStore
from persistence.coverage import CoverageStore
from persistence.equity import EquityStore
from persistence.events import EventStore
from persistence.history import HistoryStore
from persistence.operations import OperationStore
from persistence.reports import ReportStore
from persistence.scoring import ScoringStore
from persistence.tables import (
    AccountRow,
    ActivityRow,
    AssignmentRow,
    OpportunityRow,
    PlanRow,
    RepRow,
    TenantRow,
    TerritoryRow,
    utcnow,
)

T = TypeVar("T")


@functools.cache
def _field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


@functools.cache
def _enum_fields(cls: type) -> dict[str, type[enum.Enum]]:
    """Fields of a domain dataclass whose type is an enum (or an optional enum)."""
    found: dict[str, type[enum.Enum]] = {}
    hints = typing.get_type_hints(cls, vars(model))
    for f in dataclasses.fields(cls):
        for candidate in (hints[f.name], *typing.get_args(hints[f.name])):
            if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
                found[f.name] = candidate
    return found


class SqlRepository(Generic[T]):
    row: type
    entity: type
    # filter name -> column name, for plain equality filters
    equality_filters: Mapping[str, str] = {}

    def __init__(self, session: AsyncSession, tenant_id: UUID):
        self.session = session
        self.tenant_id = tenant_id
        # once per class, not per unit of work (get_type_hints cost 1.6 ms a write)
        self._fields = _field_names(self.entity)
        self._enums = _enum_fields(self.entity)
        # rows read in this unit of work, by id: an update after a get does not read the row again (the
        # session would hand back the same object, its loaded values untouched, after a second query)
        self._rows: dict[Any, Any] = {}

    def to_domain(self, row: Any) -> T:
        values = {}
        for name in self._fields:
            value = getattr(row, name)
            if value is not None and name in self._enums:
                value = self._enums[name](value)
            values[name] = value
        return self.entity(**values)

    def _row_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {k: (v.value if isinstance(v, enum.Enum) else v) for k, v in values.items()}

    def scoped(self) -> sa.Select:
        return sa.select(self.row).where(self.row.tenant_id == self.tenant_id)

    async def get(self, entity_id: UUID) -> T | None:
        row = await self._get_row(entity_id)
        return None if row is None else self.to_domain(row)

    async def _get_row(self, entity_id: UUID) -> Any:
        result = await self.session.execute(self.scoped().where(self.row.id == entity_id))
        row = result.scalar_one_or_none()
        if row is not None:
            self._rows[entity_id] = row
        return row

    async def add(self, entity: T) -> T:
        values = self._row_values(dataclasses.asdict(entity))  # type: ignore[call-overload]
        values["tenant_id"] = self.tenant_id
        now = utcnow()
        for stamp in ("created_at", "updated_at"):
            if stamp in values and values[stamp] is None:
                values[stamp] = now
        row = self.row(**values)
        self.session.add(row)
        await self._flush()
        return self.to_domain(row)

    async def update(self, entity_id: UUID, changes: Mapping[str, Any]) -> T:
        row = self._rows.get(entity_id) or await self._get_row(entity_id)
        for key, value in self._row_values(changes).items():
            setattr(row, key, value)
        if hasattr(row, "updated_at"):
            row.updated_at = utcnow()
        await self._flush()
        return self.to_domain(row)

    async def delete(self, entity_id: UUID) -> None:
        self._rows.pop(entity_id, None)
        await self.session.execute(
            sa.delete(self.row).where(self.row.tenant_id == self.tenant_id, self.row.id == entity_id)
        )

    async def _flush(self) -> None:
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise translate_integrity_error(exc)

    def apply_filters(self, stmt: sa.Select, filters: Mapping[str, Any]) -> sa.Select:
        for name, value in filters.items():
            if value is None:
                continue
            column = self.equality_filters.get(name)
            if column is not None:
                value = value.value if isinstance(value, enum.Enum) else value
                stmt = stmt.where(getattr(self.row, column) == value)
        return stmt

    async def list(self, filters: Mapping[str, Any], after: UUID | None, limit: int) -> Sequence[T]:
        stmt = self.apply_filters(self.scoped(), filters)
        if after is not None:
            stmt = stmt.where(self.row.id > after)
        stmt = stmt.order_by(self.row.id).limit(limit)
        result = await self.session.execute(stmt)
        return [self.to_domain(r) for r in result.scalars().all()]

    async def get_many(self, ids: Sequence[UUID]) -> list[T]:
        if not ids:
            return []
        result = await self.session.execute(self.scoped().where(self.row.id.in_(list(ids))))
        return [self.to_domain(r) for r in result.scalars().all()]


def translate_integrity_error(exc: IntegrityError) -> Conflict:
    text = str(exc.orig).lower()
    if "external_id" in text:
        return Conflict(
            "another record already has this external id",
            [FieldError("external_id", Code.DUPLICATE_EXTERNAL_ID, "external id already in use")],
            code=Code.DUPLICATE_EXTERNAL_ID,
        )
    if "one_active" in text or "plans.tenant_id" in text:
        return Conflict(
            "a tenant has at most one active plan",
            [FieldError("state", Code.ACTIVE_PLAN_EXISTS, "another plan is already active")],
            code=Code.ACTIVE_PLAN_EXISTS,
        )
    if "one_current_owner" in text or "assignments.plan_id" in text:
        return Conflict(
            "the account already has an owner of record for this role in this plan",
            [FieldError("role", Code.OWNER_EXISTS, "an owner for this role already exists")],
            code=Code.OWNER_EXISTS,
        )
    if "plan_id_name" in text or "territories.plan_id" in text:
        return Conflict(
            "a territory with this name already exists in the plan",
            [FieldError("name", Code.DUPLICATE_NAME, "name already in use in this plan")],
            code=Code.DUPLICATE_NAME,
        )
    return Conflict("the change conflicts with stored data", code=Code.CONFLICT)


class SqlAccountRepository(SqlRepository[model.Account]):
    row = AccountRow
    entity = model.Account
    equality_filters = {
        "segment": "segment",
        "stage": "stage",
        "parent_id": "parent_id",
        "external_id": "external_id",
    }

    def scoped(self) -> sa.Select:
        return super().scoped().where(AccountRow.deleted_at.is_(None))

    async def get_by_external_id(self, external_id: str) -> model.Account | None:
        result = await self.session.execute(self.scoped().where(AccountRow.external_id == external_id))
        row = result.scalar_one_or_none()
        return None if row is None else self.to_domain(row)

    async def get_any_by_external_id(self, external_id: str) -> model.Account | None:
        """Including soft-deleted accounts (their external id stays reserved)."""
        result = await self.session.execute(
            sa.select(AccountRow).where(
                AccountRow.tenant_id == self.tenant_id, AccountRow.external_id == external_id
            )
        )
        row = result.scalar_one_or_none()
        return None if row is None else self.to_domain(row)

    async def ancestor_links(self, account_id: UUID) -> dict[UUID, UUID | None]:
        """child -> parent for the account and all its ancestors (one recursive query, any depth)."""
        table = AccountRow.__table__
        start = (
            sa.select(table.c.id, table.c.parent_id)
            .where(table.c.tenant_id == self.tenant_id, table.c.id == account_id)
            .cte("chain", recursive=True)
        )
        up = table.alias("up")
        chain = start.union(sa.select(up.c.id, up.c.parent_id).join(start, up.c.id == start.c.parent_id))
        return {
            r.id: r.parent_id for r in await self.session.execute(sa.select(chain.c.id, chain.c.parent_id))
        }

    def apply_filters(self, stmt: sa.Select, filters: Mapping[str, Any]) -> sa.Select:
        stmt = super().apply_filters(stmt, filters)
        owned = {k: filters.get(k) for k in ("territory_id", "owner_id", "role")}
        if any(v is not None for v in owned.values()):
            cond = [
                AssignmentRow.account_id == AccountRow.id,
                AssignmentRow.plan_id == filters["plan_id"],
                AssignmentRow.valid_to.is_(None),
            ]
            if owned["territory_id"] is not None:
                cond.append(AssignmentRow.territory_id == owned["territory_id"])
            if owned["owner_id"] is not None:
                cond.append(AssignmentRow.rep_id == owned["owner_id"])
            if owned["role"] is not None:
                cond.append(AssignmentRow.role == str(owned["role"]))
            stmt = stmt.where(sa.exists().where(*cond))
        return stmt

    async def owned_by(
        self,
        column: str,
        owner_ids: Collection[UUID],
        plan_id: UUID,
        role: str | None,
        after: UUID | None,
        limit: int,
    ) -> dict[UUID, list[model.Account]]:
        """Up to `limit` live accounts of each owner, by account id after `after`, whose current assignment
        in the plan (of the role, if given) names the owner in `column` (rep_id or territory_id): one
        query for all the owners, each account once per owner."""
        owner = getattr(AssignmentRow, column)
        pairs = sa.select(owner.label("owner"), AssignmentRow.account_id).where(
            AssignmentRow.tenant_id == self.tenant_id,
            AssignmentRow.plan_id == plan_id,
            AssignmentRow.valid_to.is_(None),
            owner.in_(set(owner_ids)),
        )
        if role is not None:
            pairs = pairs.where(AssignmentRow.role == str(role))
        owned = pairs.distinct().subquery()
        ranked = (
            sa.select(
                AccountRow,
                owned.c.owner.label("_owner"),
                sa.func.row_number().over(partition_by=owned.c.owner, order_by=AccountRow.id).label("_n"),
            )
            .join(owned, owned.c.account_id == AccountRow.id)
            .where(AccountRow.tenant_id == self.tenant_id, AccountRow.deleted_at.is_(None))
        )
        if after is not None:
            ranked = ranked.where(AccountRow.id > after)
        sub = ranked.subquery()
        account = sa.orm.aliased(AccountRow, sub)
        stmt = sa.select(account, sub.c._owner).where(sub.c._n <= limit).order_by(sub.c._owner, sub.c.id)
        found: dict[UUID, list[model.Account]] = {}
        for row, owner_id in await self.session.execute(stmt):
            found.setdefault(owner_id, []).append(self.to_domain(row))
        return found


class SqlRepRepository(SqlRepository[model.Rep]):
    row = RepRow
    entity = model.Rep
    equality_filters = {
        "role": "role",
        "ramp_status": "ramp_status",
        "home_region": "home_region",
        "external_id": "external_id",
        "email": "email",
    }

    def apply_filters(self, stmt: sa.Select, filters: Mapping[str, Any]) -> sa.Select:
        stmt = super().apply_filters(stmt, filters)
        if filters.get("active") is True:
            stmt = stmt.where(RepRow.end_date.is_(None))
        elif filters.get("active") is False:
            stmt = stmt.where(RepRow.end_date.is_not(None))
        return stmt


class SqlPlanRepository(SqlRepository[model.Plan]):
    row = PlanRow
    entity = model.Plan
    equality_filters = {"state": "state"}

    async def active(self) -> model.Plan | None:
        result = await self.session.execute(
            self.scoped().where(PlanRow.state == model.PlanState.ACTIVE.value)
        )
        row = result.scalar_one_or_none()
        return None if row is None else self.to_domain(row)


class SqlTerritoryRepository(SqlRepository[model.Territory]):
    row = TerritoryRow
    entity = model.Territory
    equality_filters = {
        "plan_id": "plan_id",
        "parent_id": "parent_id",
        "owner_id": "primary_rep_id",
        "type": "type",
    }


class SqlAssignmentRepository(SqlRepository[model.Assignment]):
    row = AssignmentRow
    entity = model.Assignment
    equality_filters = {
        "plan_id": "plan_id",
        "account_id": "account_id",
        "territory_id": "territory_id",
        "owner_id": "rep_id",
        "role": "role",
    }

    def apply_filters(self, stmt: sa.Select, filters: Mapping[str, Any]) -> sa.Select:
        stmt = super().apply_filters(stmt, filters)
        if filters.get("current", True):
            stmt = stmt.where(AssignmentRow.valid_to.is_(None))
        return stmt

    async def current_owner(self, plan_id: UUID, account_id: UUID, role: str) -> model.Assignment | None:
        result = await self.session.execute(
            self.scoped().where(
                AssignmentRow.plan_id == plan_id,
                AssignmentRow.account_id == account_id,
                AssignmentRow.role == str(role),
                AssignmentRow.valid_to.is_(None),
            )
        )
        row = result.scalar_one_or_none()
        return None if row is None else self.to_domain(row)

    async def current_of(
        self, plan_ids: Collection[UUID], account_ids: Collection[UUID]
    ) -> list[model.Assignment]:
        """The current assignments, of every role, of these accounts in these plans: one query."""
        result = await self.session.execute(
            self.scoped().where(
                AssignmentRow.plan_id.in_(set(plan_ids)),
                AssignmentRow.account_id.in_(set(account_ids)),
                AssignmentRow.valid_to.is_(None),
            )
        )
        return [self.to_domain(r) for r in result.scalars()]

    async def count_current(self, **where: Any) -> int:
        stmt = (
            sa.select(sa.func.count())
            .select_from(AssignmentRow)
            .where(AssignmentRow.tenant_id == self.tenant_id, AssignmentRow.valid_to.is_(None))
        )
        for key, value in where.items():
            stmt = stmt.where(getattr(AssignmentRow, key) == value)
        return int((await self.session.execute(stmt)).scalar_one())

    async def close_current(self, now: Any, **where: Any) -> int:
        """End the current assignments matching `where` (history is kept, never overwritten)."""
        stmt = sa.update(AssignmentRow).where(
            AssignmentRow.tenant_id == self.tenant_id, AssignmentRow.valid_to.is_(None)
        )
        for key, value in where.items():
            stmt = stmt.where(getattr(AssignmentRow, key) == value)
        result = await self.session.execute(stmt.values(valid_to=now))
        return int(result.rowcount or 0)


class SqlActivityRepository(SqlRepository[model.Activity]):
    row = ActivityRow
    entity = model.Activity
    equality_filters = {"account_id": "account_id", "owner_id": "rep_id", "kind": "kind"}


class SqlOpportunityRepository(SqlRepository[model.Opportunity]):
    row = OpportunityRow
    entity = model.Opportunity
    equality_filters = {"account_id": "account_id", "owner_id": "rep_id", "status": "status"}


class SqlUnitOfWork:
    """One session and one transaction for one tenant; commit explicitly, rolled back otherwise."""

    def __init__(
        self,
        session_factory: async_sessionmaker,
        tenant_id: UUID,
        committed: Callable[[UUID, list[tuple[int, Change]]], None] | None = None,
    ):
        self.session_factory = session_factory
        self.tenant_id = tenant_id
        self.committed = committed  # told the changes of each commit, with their seqs, as they read back

    async def __aenter__(self) -> SqlUnitOfWork:
        self.session: AsyncSession = self.session_factory()
        self.changes: list[Change] = []
        self.accounts = SqlAccountRepository(self.session, self.tenant_id)
        self.reps = SqlRepRepository(self.session, self.tenant_id)
        self.plans = SqlPlanRepository(self.session, self.tenant_id)
        self.territories = SqlTerritoryRepository(self.session, self.tenant_id)
        self.assignments = SqlAssignmentRepository(self.session, self.tenant_id)
        self.activities = SqlActivityRepository(self.session, self.tenant_id)
        self.opportunities = SqlOpportunityRepository(self.session, self.tenant_id)
        self.capacity = CapacityStore(self)
        self.coverage = CoverageStore(self)
        self.equity = EquityStore(self)
        self.imports = ImportStore(self)
        self.reports = ReportStore(self)
        self.scoring = ScoringStore(self)
        self.events = EventStore(self.connection, self.tenant_id)
        self.operations = OperationStore(self.connection, self.tenant_id)
        self.assigning = AssigningStore(self)
        self.history = HistoryStore(self)
        return self

    async def connection(self) -> AsyncConnection:
        """The unit of work's connection, in its transaction: what the feature stores run their SQL on."""
        return await self.session.connection()

    async def __aexit__(self, *exc: Any) -> None:
        await self.session.rollback()
        await self.session.close()

    def record(self, *changes: Change) -> None:
        """Changes a lookup can see, or events to tell; written to the change log at commit, in the same
        transaction, with the tenant's version moved to the log's new head."""
        self.changes.extend(changes)

    async def commit(self) -> None:
        written: list[tuple[int, Change]] = []
        try:
            if self.changes:
                await self.session.flush()
                head = await change_log.append(self.session, self.tenant_id, self.changes)
                written = change_log.as_stored(head, self.changes)
                self.changes = []
            await self.session.commit()
        except IntegrityError as exc:
            await self.session.rollback()
            raise translate_integrity_error(exc)
        if written and self.committed is not None:
            self.committed(self.tenant_id, written)

    async def rollback(self) -> None:
        await self.session.rollback()

    def reader(self) -> AsyncConnection:
        """A connection of its own, outside this transaction (`async with`), for a long streaming read
        beside this transaction's writes."""
        return self.session_factory.kw["bind"].connect()

    async def settings_record(self) -> tuple[dict, int]:
        """The tenant's settings overrides and their version."""
        stmt = sa.select(TenantRow.settings, TenantRow.settings_version).where(TenantRow.id == self.tenant_id)
        row = (await self.session.execute(stmt)).one()
        return row.settings or {}, int(row.settings_version)

    async def replace_settings(self, overrides: dict) -> int:
        """Store new overrides; the version goes up by one. Answers the new version."""
        await self.session.execute(
            sa.update(TenantRow)
            .where(TenantRow.id == self.tenant_id)
            .values(settings=overrides, settings_version=TenantRow.settings_version + 1)
        )
        return (await self.settings_record())[1]

    async def tenant_settings(self) -> dict:
        result = await self.session.execute(
            sa.select(TenantRow.settings).where(TenantRow.id == self.tenant_id)
        )
        return result.scalar_one_or_none() or {}
