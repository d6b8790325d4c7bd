"""The unit of work: one session and one transaction for one tenant, its repositories and stores, and
the change log written at commit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from domain.changes import Change
from domain.errors import ConcurrentChange
from persistence import changes as change_log
from persistence.accounts import SqlAccountRepository
from persistence.assigning import AssigningStore
from persistence.assignments import SqlAssignmentRepository
from persistence.capacity import CapacityStore
from persistence.coverage import CoverageStore
from persistence.disputes import DisputeStore
from persistence.engagement import EngagementStore
from persistence.equity import EquityStore
from persistence.events import EventStore
from persistence.history import HistoryStore
from persistence.idempotency import IdempotencyStore
from persistence.imports import ImportStore
from persistence.operations import OperationStore
from persistence.plans import SqlPlanRepository
from persistence.reports import ReportStore
from persistence.repositories import translate_integrity_error
from persistence.reps import SqlRepRepository
from persistence.scoring import ScoringStore
from persistence.segment_changes import SegmentChangeStore
from persistence.tables import (
    TenantRow,
)
from persistence.territories import SqlTerritoryRepository


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
        self.capacity = CapacityStore(self)
        self.coverage = CoverageStore(self)
        self.engagement = EngagementStore(self)
        self.disputes = DisputeStore(self)
        self.segment_changes = SegmentChangeStore(self)
        self.equity = EquityStore(self)
        self.imports = ImportStore(self)
        self.reports = ReportStore(self)
        self.scoring = ScoringStore(self)
        self.events = EventStore(self.connection, self.tenant_id)
        self.operations = OperationStore(self.connection, self.tenant_id)
        self.assigning = AssigningStore(self)
        self.history = HistoryStore(self)
        self.idempotency = IdempotencyStore(self)
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

    async def replace_settings(self, overrides: dict, version: int) -> int:
        """Store new overrides in place of those read at `version`; the version goes up by one. Answers the
        new version (ConcurrentChange: someone changed them since)."""
        result = await self.session.execute(
            sa.update(TenantRow)
            .where(TenantRow.id == self.tenant_id, TenantRow.settings_version == version)
            .values(settings=overrides, settings_version=version + 1)
        )
        if not result.rowcount:
            raise ConcurrentChange.meanwhile("the settings")
        return version + 1

    async def tenant_settings(self) -> dict:
        result = await self.session.execute(
            sa.select(TenantRow.settings).where(TenantRow.id == self.tenant_id)
        )
        return result.scalar_one_or_none() or {}
