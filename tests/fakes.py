"""An in-memory unit of work implementing domain.ports, for service tests without a database.

`FakeDatabase` holds the entities of every tenant, the committed change log and the settings; a
`FakeUnitOfWork` works on a snapshot of it and writes the snapshot back at commit (one writer at a time,
as the tests run), so leaving it without a commit changes nothing. Entities are replaced on every write,
never changed in place, and handed out as copies. The two unique indexes of the database (one active plan
per tenant, one current owner per plan, account and role) are checked at each write, as the database does.
`FakeContext` stands for api.services.context.AppContext: a clock and `uow(tenant)`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace, TracebackType
from typing import Any, Generic, TypeVar
from uuid import UUID

from domain.changes import Change, ChangeKind
from domain.errors import ConcurrentChange, Conflict, FieldError
from domain.model import (
    Account,
    Activity,
    Assignment,
    AssignmentReason,
    Opportunity,
    OpportunityStatus,
    Plan,
    PlanState,
    Rep,
    Role,
    Territory,
)
from persistence.assigning import BOUNDARY_COLUMNS

T = TypeVar("T")

TABLES = ("accounts", "reps", "plans", "territories", "assignments", "activities", "opportunities")


class FixedClock:
    def __init__(self, at: datetime = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)):
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at


class FakeDatabase:
    def __init__(self) -> None:
        self.tables: dict[str, dict[UUID, Any]] = {name: {} for name in TABLES}
        self.scores: dict[UUID, tuple[int | None, float | None]] = {}  # account -> (tier, potential)
        self.settings: dict[UUID, tuple[dict[str, Any], int]] = {}  # tenant -> (overrides, version)
        self.log: list[tuple[UUID, int, Change]] = []  # committed: (tenant, seq, change)
        self.policies: dict[UUID, list[Any]] = {}  # tenant -> saved engagement policies, oldest first

    def changes(self, tenant_id: UUID, kind: ChangeKind | None = None) -> list[Change]:
        return [c for t, _, c in self.log if t == tenant_id and (kind is None or c.kind == kind)]


def _conflict(message: str, field: str, code: str) -> Conflict:
    return Conflict(message, [FieldError(field, code, message)], code=code)


class FakeRepository(Generic[T]):
    table: str
    entity: type
    equality_filters: Mapping[str, str] = {}

    def __init__(self, uow: FakeUnitOfWork):
        self.uow = uow

    @property
    def rows(self) -> dict[UUID, Any]:
        return self.uow.tables[self.table]

    def visible(self, entity: Any) -> bool:
        return bool(entity.tenant_id == self.uow.tenant_id)

    def mine(self) -> list[Any]:
        return [e for e in self.rows.values() if self.visible(e)]

    async def get(self, entity_id: UUID) -> T | None:
        entity = self.rows.get(entity_id)
        return dataclasses.replace(entity) if entity is not None and self.visible(entity) else None

    async def get_many(self, ids: Sequence[UUID]) -> list[T]:
        return [e for e in [await self.get(i) for i in ids] if e is not None]

    async def add(self, entity: T) -> T:
        values: dict[str, Any] = {"tenant_id": self.uow.tenant_id}
        for stamp in ("created_at", "updated_at"):
            if getattr(entity, stamp, False) is None:
                values[stamp] = self.uow.now()
        stored: Any = dataclasses.replace(entity, **values)  # type: ignore[type-var]
        if stored.id in self.rows:
            raise Conflict("the change conflicts with stored data", code="conflict")
        self.rows[stored.id] = stored
        self.uow.check_constraints()
        copy: T = dataclasses.replace(stored)
        return copy

    async def update(self, entity_id: UUID, changes: Mapping[str, Any]) -> T:
        current = self.rows[entity_id]
        values = dict(changes)
        if hasattr(current, "updated_at"):
            values["updated_at"] = self.uow.now()
        if hasattr(current, "version"):
            values["version"] = current.version + 1
        self.rows[entity_id] = dataclasses.replace(current, **values)
        self.uow.check_constraints()
        return dataclasses.replace(self.rows[entity_id])

    async def delete(self, entity_id: UUID, version: int | None = None) -> None:
        entity = self.rows.get(entity_id)
        if version is not None and (entity is None or entity.version != version):
            raise ConcurrentChange("changed meanwhile")
        if entity is not None and entity.tenant_id == self.uow.tenant_id:
            del self.rows[entity_id]

    def matches(self, entity: Any, filters: Mapping[str, Any]) -> bool:
        return all(
            getattr(entity, self.equality_filters[name]) == value
            for name, value in filters.items()
            if value is not None and name in self.equality_filters
        )

    async def list(self, filters: Mapping[str, Any], after: UUID | None, limit: int) -> Sequence[T]:
        found = [e for e in self.mine() if self.matches(e, filters) and (after is None or e.id > after)]
        return [dataclasses.replace(e) for e in sorted(found, key=lambda e: e.id)[:limit]]


class FakeAccountRepository(FakeRepository[Account]):
    table, entity = "accounts", Account
    equality_filters = {n: n for n in ("segment", "stage", "parent_id", "external_id")}

    def visible(self, entity: Any) -> bool:
        return super().visible(entity) and entity.deleted_at is None

    def matches(self, entity: Any, filters: Mapping[str, Any]) -> bool:
        if not super().matches(entity, filters):
            return False
        owned = {"territory_id": "territory_id", "owner_id": "rep_id", "role": "role"}
        wanted = {owned[k]: v for k, v in filters.items() if k in owned and v is not None}
        if not wanted:
            return True
        return any(
            a.account_id == entity.id
            and a.plan_id == filters["plan_id"]
            and a.valid_to is None
            and all(getattr(a, k) == v for k, v in wanted.items())
            for a in self.uow.tables["assignments"].values()
        )

    async def get_by_external_id(self, external_id: str) -> Account | None:
        return next((dataclasses.replace(a) for a in self.mine() if a.external_id == external_id), None)

    async def get_any_by_external_id(self, external_id: str) -> Account | None:
        for a in self.rows.values():
            if a.tenant_id == self.uow.tenant_id and a.external_id == external_id:
                return dataclasses.replace(a)
        return None

    async def ancestor_links(self, account_id: UUID) -> dict[UUID, UUID | None]:
        links: dict[UUID, UUID | None] = {}
        node: UUID | None = account_id
        while node is not None and node not in links and node in self.rows:
            links[node] = self.rows[node].parent_id
            node = links[node]
        return links


class FakeRepRepository(FakeRepository[Rep]):
    table, entity = "reps", Rep
    equality_filters = {n: n for n in ("role", "ramp_status", "home_region", "external_id", "email")}

    def matches(self, entity: Any, filters: Mapping[str, Any]) -> bool:
        active = filters.get("active")
        return super().matches(entity, filters) and (active is None or (entity.end_date is None) == active)

    async def record_departure(
        self, rep_id: UUID, last_day: Any, interim_rep_id: UUID | None, at: Any
    ) -> None:
        self.uow.departures[rep_id] = (last_day, interim_rep_id, at)

    async def withdraw_departure(self, rep_id: UUID) -> bool:
        return self.uow.departures.pop(rep_id, None) is not None


class FakePlanRepository(FakeRepository[Plan]):
    table, entity = "plans", Plan
    equality_filters = {"state": "state"}

    async def active(self) -> Plan | None:
        return next((dataclasses.replace(p) for p in self.mine() if p.state == PlanState.ACTIVE), None)


class FakeTerritoryRepository(FakeRepository[Territory]):
    table, entity = "territories", Territory
    equality_filters = {"plan_id": "plan_id", "parent_id": "parent_id", "owner_id": "primary_rep_id"}
    equality_filters |= {"type": "type"}


class FakeAssignmentRepository(FakeRepository[Assignment]):
    table, entity = "assignments", Assignment
    equality_filters = {"plan_id": "plan_id", "account_id": "account_id", "territory_id": "territory_id"}
    equality_filters |= {"owner_id": "rep_id", "role": "role"}

    def matches(self, entity: Any, filters: Mapping[str, Any]) -> bool:
        current = filters.get("current", True)
        return super().matches(entity, filters) and (not current or entity.valid_to is None)

    def current(self, **where: Any) -> list[Assignment]:
        return [
            a for a in self.mine() if a.valid_to is None and all(getattr(a, k) == v for k, v in where.items())
        ]

    async def current_owner(self, plan_id: UUID, account_id: UUID, role: str) -> Assignment | None:
        found = self.current(plan_id=plan_id, account_id=account_id, role=str(role))
        return dataclasses.replace(found[0]) if found else None

    async def count_current(self, **where: Any) -> int:
        return len(self.current(**where))

    async def close_current(self, now: Any, **where: Any) -> int:
        ended = self.current(**where)
        for a in ended:
            self.rows[a.id] = dataclasses.replace(a, valid_to=now)
        return len(ended)


class FakeActivityRepository(FakeRepository[Activity]):
    table, entity = "activities", Activity
    equality_filters = {"account_id": "account_id", "owner_id": "rep_id", "kind": "kind"}


class FakeOpportunityRepository(FakeRepository[Opportunity]):
    table, entity = "opportunities", Opportunity
    equality_filters = {"account_id": "account_id", "owner_id": "rep_id", "status": "status"}


class FakeHistoryStore:
    def __init__(self, uow: FakeUnitOfWork):
        self.uow = uow

    async def plan_owners(self, plan_id: Any, account_id: Any = None) -> Sequence[Any]:
        where = {"plan_id": plan_id} | ({} if account_id is None else {"account_id": account_id})
        return sorted(self.uow.assignments.current(**where), key=lambda a: a.id)

    def _owner_changes(self) -> list[tuple[int, Change]]:
        return [
            (seq, c)
            for t, seq, c in self.uow.db.log
            if t == self.uow.tenant_id and c.kind == ChangeKind.OWNER
        ]

    async def account_history(self, account_id: Any, before: int | None, limit: int) -> list[dict[str, Any]]:
        rows = [
            dataclasses.asdict(c) | {"seq": seq, "tenant_id": self.uow.tenant_id}
            for seq, c in reversed(self._owner_changes())
            if c.subject_id == account_id and (before is None or seq < before)
        ]
        return rows[:limit]

    async def moved_accounts(self, since: datetime, until: datetime, role: str) -> int:
        return len(
            {
                c.subject_id
                for _, c in self._owner_changes()
                if c.role == role and since <= c.valid_from < until and c.from_rep_id != c.to_rep_id
            }
        )

    async def live_accounts(self) -> int:
        return len(self.uow.accounts.mine())


class FakeAssigningStore:
    def __init__(self, uow: FakeUnitOfWork):
        self.uow = uow

    async def writes_while_deciding(self) -> bool:
        return True  # the fake has no writer to hold: it writes as it goes, as PostgreSQL does

    def _current(self, plan_id: Any) -> list[Assignment]:
        return sorted(self.uow.assignments.current(plan_id=plan_id), key=lambda a: a.id)

    async def plan_territories(self, plan_id: Any) -> list[Any]:
        return [
            SimpleNamespace(
                **{
                    k: getattr(t, k)
                    for k in ("id", "name", "priority", "boundary", "primary_rep_id", "quota")
                }
            )
            for t in sorted(self.uow.territories.mine(), key=lambda t: t.name)
            if t.plan_id == plan_id
        ]

    async def accounts_for_rules(
        self, plan_id: Any, role: str, size: int, fields: Any = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        accounts = sorted(self.uow.accounts.mine(), key=lambda a: a.id)
        owners = {a.account_id: a for a in self._current(plan_id) if a.role == role}
        for start in range(0, len(accounts), size):
            rows = []
            for a in accounts[start : start + size]:
                o = owners.get(a.id)
                rows.append(
                    {"id": a.id, **{k: getattr(a, k) for k in BOUNDARY_COLUMNS}}
                    | {"tier": self.uow.db.scores.get(a.id, (None, None))[0]}
                    | {
                        "owner_assignment_id": o and o.id,
                        "owner_territory_id": o and o.territory_id,
                        "owner_rep_id": o and o.rep_id,
                        "owner_locked": o and o.locked,
                        "owner_valid_from": o and o.valid_from,
                    }
                )
            yield rows

    async def chunks_with_evidence(
        self,
        plan_id: Any,
        role: str,
        size: int,
        fields: Any,
        windows: Sequence[datetime],
        kinds: Sequence[str],
    ) -> AsyncIterator[tuple[list[dict[str, Any]], dict[datetime, Any]]]:
        async for chunk in self.accounts_for_rules(plan_id, role, size, fields):
            low, high = chunk[0]["id"], chunk[-1]["id"]
            yield (
                chunk,
                {since: await self.relationship_evidence(low, high, since, kinds) for since in windows},
            )

    async def relationship_evidence(
        self, low: Any, high: Any, since: datetime, kinds: Sequence[str]
    ) -> tuple[dict[tuple[Any, Any], tuple[int, datetime | None]], dict[tuple[Any, Any], int]]:
        touches: dict[tuple[Any, Any], tuple[int, datetime | None]] = {}
        for a in self.uow.activities.mine():
            if low <= a.account_id <= high and a.rep_id is not None and str(a.kind) in kinds:
                count, last = touches.get((a.account_id, a.rep_id), (0, None))
                later = a.occurred_at if last is None or a.occurred_at > last else last
                touches[(a.account_id, a.rep_id)] = (count + (a.occurred_at >= since), later)
        sourced: dict[tuple[Any, Any], int] = {}
        for o in self.uow.opportunities.mine():
            won = (
                o.status == OpportunityStatus.WON and o.closed_on is not None and o.closed_on >= since.date()
            )
            if (
                low <= o.account_id <= high
                and o.rep_id is not None
                and (o.status == OpportunityStatus.OPEN or won)
            ):
                sourced[(o.account_id, o.rep_id)] = sourced.get((o.account_id, o.rep_id), 0) + 1
        return touches, sourced

    async def end_assignments(self, ids: Sequence[Any], now: datetime) -> None:
        rows = self.uow.tables["assignments"]
        for i in ids:
            if rows[i].tenant_id == self.uow.tenant_id:
                rows[i] = dataclasses.replace(rows[i], valid_to=now)

    async def add_assignments(self, rows: list[dict[str, Any]]) -> None:
        table = self.uow.tables["assignments"]
        for r in rows:
            table[r["id"]] = Assignment(
                **(r | {"role": Role(r["role"]), "reason": AssignmentReason(r["reason"])})
            )
        self.uow.check_constraints()

    async def territory_rows(self, plan_id: Any) -> list[dict[str, Any]]:
        return [dataclasses.asdict(t) for t in self.uow.territories.mine() if t.plan_id == plan_id]

    async def add_territories(self, rows: list[dict[str, Any]]) -> None:
        table = self.uow.tables["territories"]
        for r in rows:
            assert r["parent_id"] is None or r["parent_id"] in table, "a parent is added before its children"
            table[r["id"]] = Territory(**r)

    async def current_assignments(self, plan_id: Any, size: int) -> AsyncIterator[list[dict[str, Any]]]:
        current = self._current(plan_id)
        for start in range(0, len(current), size):
            yield [dataclasses.asdict(a) for a in current[start : start + size]]

    async def add_plan(self, row: dict[str, Any]) -> None:
        self.uow.tables["plans"][row["id"]] = Plan(**(row | {"state": PlanState(row["state"])}))
        self.uow.check_constraints()

    async def book_for_balancing(self, plan_id: Any, role: str) -> list[Any]:
        accounts = {a.id: a for a in self.uow.accounts.mine()}
        return [
            SimpleNamespace(
                assignment_id=a.id,
                account_id=a.account_id,
                rep_id=a.rep_id,
                territory_id=a.territory_id,
                locked=a.locked,
                account_name=accounts[a.account_id].name,
                parent_id=accounts[a.account_id].parent_id,
                industry=accounts[a.account_id].industry,
                region=accounts[a.account_id].region,
                segment=accounts[a.account_id].segment,
                tier=self.uow.db.scores.get(a.account_id, (None, None))[0],
                potential=self.uow.db.scores.get(a.account_id, (None, None))[1],
            )
            for a in self._current(plan_id)
            if a.role == role and a.account_id in accounts
        ]

    async def parent_links(self) -> dict[Any, Any]:
        return {
            a.id: a.parent_id
            for a in self.uow.tables["accounts"].values()
            if a.tenant_id == self.uow.tenant_id and a.parent_id is not None
        }

    async def active_reps(self) -> list[Any]:
        return [
            SimpleNamespace(
                id=r.id,
                name=r.name,
                role=r.role,
                ramp_status=r.ramp_status,
                expertise=r.expertise,
                capacity=r.capacity,
            )
            for r in self.uow.reps.mine()
            if r.end_date is None
        ]

    async def accounts_with_open_pipeline(self, account_ids: Sequence[Any]) -> set[Any]:
        wanted = set(account_ids)
        return {
            o.account_id
            for o in self.uow.opportunities.mine()
            if o.status == OpportunityStatus.OPEN and o.account_id in wanted
        }


class FakeEngagementStore:
    """`uow.engagement`: the tenant's saved policies (FakeDatabase.policies)."""

    def __init__(self, uow: FakeUnitOfWork):
        self.uow = uow

    def _saved(self) -> list[Any]:
        return self.uow.db.policies.setdefault(self.uow.tenant_id, [])

    async def current(self) -> Any | None:
        return self._saved()[-1] if self._saved() else None

    async def version(self, version: int) -> Any | None:
        return next((r for r in self._saved() if r.version == version), None)

    async def save(self, version: int, body: dict[str, Any], note: str | None, at: datetime) -> None:
        self._saved().append(SimpleNamespace(version=version, body=body, note=note, saved_at=at))


class FakeUnitOfWork:
    def __init__(self, db: FakeDatabase, tenant_id: UUID, clock: Any = None):
        self.db = db
        self.tenant_id = tenant_id
        self.clock = clock or FixedClock()
        self.commits = 0

    def now(self) -> datetime:
        return self.clock.now()

    async def __aenter__(self) -> FakeUnitOfWork:
        # entities are replaced, never changed in place: a copy of each table is a snapshot
        self.tables = {name: dict(rows) for name, rows in self.db.tables.items()}
        self.settings = self.db.settings.get(self.tenant_id, ({}, 1))
        self.changes: list[Change] = []
        self.departures: dict[UUID, Any] = self.db.__dict__.setdefault("departures", {})
        self.accounts = FakeAccountRepository(self)
        self.reps = FakeRepRepository(self)
        self.plans = FakePlanRepository(self)
        self.territories = FakeTerritoryRepository(self)
        self.assignments = FakeAssignmentRepository(self)
        self.activities = FakeActivityRepository(self)
        self.opportunities = FakeOpportunityRepository(self)
        self.assigning = FakeAssigningStore(self)
        self.history = FakeHistoryStore(self)
        self.engagement = FakeEngagementStore(self)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.rollback()

    def check_constraints(self) -> None:
        """The database's unique indexes: one active plan per tenant, one current owner of record."""
        active = [p.tenant_id for p in self.tables["plans"].values() if p.state == PlanState.ACTIVE]
        if len(active) != len(set(active)):
            raise _conflict("a tenant has at most one active plan", "state", "active_plan_exists")
        owners = [
            (a.plan_id, a.account_id, str(a.role))
            for a in self.tables["assignments"].values()
            if a.valid_to is None
        ]
        if len(owners) != len(set(owners)):
            raise _conflict("the account already has an owner of record", "role", "owner_exists")

    def record(self, *changes: Change) -> None:
        self.changes.extend(changes)

    async def commit(self) -> None:
        self.check_constraints()
        self.db.tables = {name: dict(rows) for name, rows in self.tables.items()}
        self.db.settings[self.tenant_id] = self.settings
        head = max((seq for _, seq, _ in self.db.log), default=0)
        self.db.log += [(self.tenant_id, head + i, c) for i, c in enumerate(self.changes, 1)]
        self.changes = []
        self.commits += 1

    async def rollback(self) -> None:
        self.tables = {name: dict(rows) for name, rows in self.db.tables.items()}
        self.settings = self.db.settings.get(self.tenant_id, ({}, 1))
        self.changes = []

    async def settings_record(self) -> tuple[dict[str, Any], int]:
        return dict(self.settings[0]), self.settings[1]

    async def replace_settings(self, overrides: dict[str, Any], version: int) -> int:
        if version != self.settings[1]:
            raise ConcurrentChange("changed meanwhile")
        self.settings = (dict(overrides), self.settings[1] + 1)
        return self.settings[1]

    async def tenant_settings(self) -> dict[str, Any]:
        return dict(self.settings[0])


class FakeContext:
    """What the services take as `ctx`: a clock and a unit of work per tenant, over one FakeDatabase."""

    def __init__(self, db: FakeDatabase | None = None, clock: FixedClock | None = None):
        self.db = db or FakeDatabase()
        self.clock = clock or FixedClock()

    def uow(self, tenant_id: UUID) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.db, tenant_id, self.clock)

    async def seed(self, tenant_id: UUID, *entities: Any) -> None:
        """Store entities as they are (ids, states, dates), committed."""
        async with self.uow(tenant_id) as uow:
            for e in entities:
                table = next(n for n in TABLES if getattr(uow, n).entity is type(e))
                uow.tables[table][e.id] = e
            uow.check_constraints()
            await uow.commit()
