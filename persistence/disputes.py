"""Disputes: their rows, and the evidence about an account the engine gathers itself (touches and
sourced opportunities per rep, the territories of the active plan, the owners)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from domain.errors import ConcurrentChange
from persistence.assigning import BOUNDARY_COLUMNS
from persistence.stores import Store
from persistence.tables import (
    AccountRow,
    ActivityRow,
    AssignmentRow,
    DisputeRow,
    OpportunityRow,
    PlanRow,
    RepRow,
    TerritoryRow,
    next_version,
)

DISPUTES = DisputeRow.__table__
ACTIVITIES = ActivityRow.__table__
OPPORTUNITIES = OpportunityRow.__table__
ASSIGNMENTS = AssignmentRow.__table__
TERRITORIES = TerritoryRow.__table__
REPS = RepRow.__table__
ACCOUNTS = AccountRow.__table__
PLANS = PlanRow.__table__


class DisputeStore(Store):
    """`uow.disputes`."""

    async def add(self, row: dict[str, Any]) -> None:
        await (await self.connection()).execute(sa.insert(DISPUTES).values(tenant_id=self.tenant_id, **row))

    async def get(self, dispute_id: UUID) -> Any | None:
        stmt = sa.select(DISPUTES).where(DISPUTES.c.tenant_id == self.tenant_id, DISPUTES.c.id == dispute_id)
        return (await (await self.connection()).execute(stmt)).mappings().first()

    async def update(self, dispute_id: UUID, version: int, values: dict[str, Any]) -> None:
        """Change a dispute read at `version` (ConcurrentChange: another request changed it since)."""
        d = DISPUTES.c
        result = await (await self.connection()).execute(
            sa.update(DISPUTES)
            .where(d.tenant_id == self.tenant_id, d.id == dispute_id, d.version == version)
            .values(**values, **next_version(DISPUTES))
        )
        if not result.rowcount:
            raise ConcurrentChange.meanwhile("the dispute")

    async def page(
        self,
        size: int,
        after: UUID | None,
        state: str | None,
        account_id: UUID | None,
        overdue_on: date | None,
    ) -> list[Any]:
        """Disputes by id; `overdue_on`: only those still open with a deadline before that day."""
        d = DISPUTES.c
        stmt = sa.select(DISPUTES).where(d.tenant_id == self.tenant_id)
        if state is not None:
            stmt = stmt.where(d.state == state)
        if account_id is not None:
            stmt = stmt.where(d.account_id == account_id)
        if overdue_on is not None:
            stmt = stmt.where(d.state == "open", d.due_on < overdue_on)
        if after is not None:
            stmt = stmt.where(d.id > after)
        return list((await (await self.connection()).execute(stmt.order_by(d.id).limit(size))).mappings())

    # ------------------------------------------------------------------ evidence

    async def account(self, account_id: UUID) -> Any | None:
        """The live account with the fields boundaries look at and its parent."""
        a = ACCOUNTS.c
        stmt = sa.select(a.id, a.parent_id, *(a[c] for c in BOUNDARY_COLUMNS)).where(
            a.tenant_id == self.tenant_id, a.id == account_id, a.deleted_at.is_(None)
        )
        return (await (await self.connection()).execute(stmt)).mappings().first()

    async def active_owner(self, account_id: UUID, role: str) -> Any | None:
        """The account's current assignment for the role in the active plan (id, plan_id, rep_id,
        territory_id, valid_from, version), or None."""
        a, p = ASSIGNMENTS.c, PLANS.c
        stmt = (
            sa.select(a.id, a.plan_id, a.rep_id, a.territory_id, a.valid_from, a.version, a.locked)
            .join_from(ASSIGNMENTS, PLANS, p.id == a.plan_id)
            .where(
                a.tenant_id == self.tenant_id,
                a.account_id == account_id,
                a.role == role,
                a.valid_to.is_(None),
                p.state == "active",
            )
        )
        return (await (await self.connection()).execute(stmt)).mappings().first()

    async def active_territories(self) -> list[Any]:
        """The active plan's territories (id, name, priority, boundary, primary_rep_id)."""
        t, p = TERRITORIES.c, PLANS.c
        stmt = (
            sa.select(t.id, t.name, t.priority, t.boundary, t.primary_rep_id)
            .join_from(TERRITORIES, PLANS, p.id == t.plan_id)
            .where(t.tenant_id == self.tenant_id, p.state == "active")
        )
        return list((await (await self.connection()).execute(stmt)).mappings())

    async def reps(self, rep_ids: Sequence[UUID]) -> dict[UUID, Any]:
        r = REPS.c
        stmt = sa.select(r.id, r.name, r.role, r.start_date, r.end_date).where(
            r.tenant_id == self.tenant_id, r.id.in_(list(rep_ids))
        )
        return {row.id: row for row in await (await self.connection()).execute(stmt)}

    async def touches(
        self, account_id: UUID, rep_ids: Sequence[UUID], since: datetime, kinds: Sequence[str]
    ) -> dict[UUID, tuple[int, datetime | None]]:
        """rep id -> (meaningful touches on the account since `since`, the rep's last meaningful touch)."""
        c = ACTIVITIES.c
        meaningful = c.kind.in_(list(kinds))
        stmt = (
            sa.select(
                c.rep_id,
                sa.func.count().filter(c.occurred_at >= since),
                sa.func.max(c.occurred_at),
            )
            .where(
                c.tenant_id == self.tenant_id,
                c.account_id == account_id,
                c.rep_id.in_(list(rep_ids)),
                meaningful,
            )
            .group_by(c.rep_id)
        )
        return {r[0]: (int(r[1]), r[2]) for r in await (await self.connection()).execute(stmt)}

    async def sourced(self, account_id: UUID, rep_ids: Sequence[UUID], since: date) -> dict[UUID, int]:
        """rep id -> the account's opportunities the rep brought: open ones, and ones won since `since`."""
        o = OPPORTUNITIES.c
        stmt = (
            sa.select(o.rep_id, sa.func.count())
            .where(
                o.tenant_id == self.tenant_id,
                o.account_id == account_id,
                o.rep_id.in_(list(rep_ids)),
                sa.or_(o.status == "open", sa.and_(o.status == "won", o.closed_on >= since)),
            )
            .group_by(o.rep_id)
        )
        return {r[0]: int(r[1]) for r in await (await self.connection()).execute(stmt)}
