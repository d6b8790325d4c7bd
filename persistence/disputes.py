"""Disputes: their rows, and the evidence about an account the engine gathers itself: touches and
sourced opportunities per rep (owners, territories and reps come from their own repositories)."""

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
    DisputeRow,
    OpportunityRow,
    next_version,
)

DISPUTES = DisputeRow.__table__
ACTIVITIES = ActivityRow.__table__
OPPORTUNITIES = OpportunityRow.__table__
ACCOUNTS = AccountRow.__table__


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

    async def engaged_by(self, account_id: UUID, since: datetime, kinds: Sequence[str]) -> int:
        """The account's meaningful touches since `since`, by any rep."""
        c = ACTIVITIES.c
        stmt = sa.select(sa.func.count()).where(
            c.tenant_id == self.tenant_id,
            c.account_id == account_id,
            c.kind.in_(list(kinds)),
            c.occurred_at >= since,
        )
        return int((await (await self.connection()).execute(stmt)).scalar_one())

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
