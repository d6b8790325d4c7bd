"""Tenant-scoped SQL repositories: rows map to domain dataclasses by field name, every query is scoped to
the tenant, and integrity errors become conflicts that name the field. Each feature's repository is in
persistence/<feature>.py; the unit of work that holds them is persistence/unit_of_work.py."""

from __future__ import annotations

import dataclasses
import enum
import functools
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from domain import model
from domain.errors import Code, ConcurrentChange, Conflict, FieldError
from persistence.tables import (
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

    async def delete(self, entity_id: UUID, version: int | None = None) -> None:
        """Delete the row; given the version it was read at, only if no one has changed it since."""
        self._rows.pop(entity_id, None)
        stmt = sa.delete(self.row).where(self.row.tenant_id == self.tenant_id, self.row.id == entity_id)
        if version is not None:
            stmt = stmt.where(self.row.version == version)
        result = await self.session.execute(stmt)
        if version is not None and not result.rowcount:
            raise ConcurrentChange.meanwhile("this record")

    async def _flush(self) -> None:
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise translate_integrity_error(exc)
        except StaleDataError:
            raise ConcurrentChange.meanwhile("this record")

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


@dataclasses.dataclass(frozen=True)
class Unique:
    """A unique rule the database keeps, as a conflict that names the field at fault."""

    columns: str  # what SQLite names instead of the constraint: "table.column, table.column"
    field: str
    code: str
    detail: str
    message: str


_EXTERNAL_ID = ("external_id", Code.DUPLICATE_EXTERNAL_ID)
# constraint name (PostgreSQL names it) -> the rule
UNIQUE_RULES: dict[str, Unique] = {
    **{
        f"uq_{table}_tenant_id_external_id": Unique(
            f"{table}.tenant_id, {table}.external_id",
            *_EXTERNAL_ID,
            f"another {what} already has this external id",
            "external id already in use",
        )
        for table, what in (
            ("accounts", "account"),
            ("reps", "rep"),
            ("activities", "activity"),
            ("opportunities", "opportunity"),
        )
    },
    "uq_plans_one_active_per_tenant": Unique(
        "plans.tenant_id",
        "state",
        Code.ACTIVE_PLAN_EXISTS,
        "a tenant has at most one active plan",
        "another plan is already active",
    ),
    "uq_assignments_one_current_owner": Unique(
        "assignments.plan_id, assignments.account_id, assignments.role",
        "role",
        Code.OWNER_EXISTS,
        "the account already has an owner of record for this role in this plan",
        "an owner for this role already exists",
    ),
    "uq_disputes_one_live_claim": Unique(
        "disputes.tenant_id, disputes.account_id, disputes.role, disputes.claimant_rep_id",
        "claimant_rep_id",
        Code.DISPUTE_EXISTS,
        "the claimant's claim on this account for this role is already open",
        "a dispute of this claimant on this account stands",
    ),
    "uq_territories_plan_id_name": Unique(
        "territories.plan_id, territories.name",
        "name",
        Code.DUPLICATE_NAME,
        "a territory with this name already exists in the plan",
        "name already in use in this plan",
    ),
}
_BY_COLUMNS = {rule.columns: rule for rule in UNIQUE_RULES.values()}


def violated_rule(exc: IntegrityError) -> Unique | None:
    """The unique rule an integrity error broke: by constraint name (PostgreSQL, through asyncpg), or by the
    columns SQLite's message names ("UNIQUE constraint failed: accounts.tenant_id, accounts.external_id")."""
    orig = exc.orig
    for source in (orig, getattr(orig, "__cause__", None)):
        name = getattr(source, "constraint_name", None)
        if name:
            return UNIQUE_RULES.get(name)
    text = str(orig)
    prefix = "UNIQUE constraint failed: "
    return _BY_COLUMNS.get(text[len(prefix) :].strip()) if text.startswith(prefix) else None


def translate_integrity_error(exc: IntegrityError) -> Conflict:
    """An integrity error as a 409 with a stable code: the field a unique rule names, or `conflict`."""
    rule = violated_rule(exc)
    if rule is None:
        return Conflict("the change conflicts with stored data", code=Code.CONFLICT)
    return Conflict(rule.detail, [FieldError(rule.field, rule.code, rule.message)], code=rule.code)
