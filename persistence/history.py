"""Ownership history, read from the change log: an account's owner changes, the owners of a plan (what an
activation compares), and the accounts that changed hands in a window (the movement rate)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from persistence.scoring import count_live
from persistence.tables import AssignmentRow, ChangeRow

CHANGES = ChangeRow.__table__
ASSIGNMENTS = AssignmentRow.__table__


async def plan_owners(db: Any, tenant_id: uuid.UUID, plan_id: Any, account_id: Any = None) -> list[Any]:
    """The plan's current owners (account_id, role, rep_id, territory_id, reason, note); one account's
    with `account_id`."""
    a = ASSIGNMENTS.c
    stmt = sa.select(a.account_id, a.role, a.rep_id, a.territory_id, a.reason, a.note).where(
        a.tenant_id == tenant_id, a.plan_id == plan_id, a.valid_to.is_(None)
    )
    if account_id is not None:
        stmt = stmt.where(a.account_id == account_id)
    return list((await db.execute(stmt)).all())


async def account_history(
    db: Any, tenant_id: uuid.UUID, account_id: Any, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """The account's owner changes, newest first; `before`: the seq of the last change of the previous
    page."""
    c = CHANGES.c
    stmt = sa.select(CHANGES).where(c.tenant_id == tenant_id, c.subject_id == account_id, c.kind == "owner")
    if before is not None:
        stmt = stmt.where(c.seq < before)
    rows = await db.execute(stmt.order_by(c.seq.desc()).limit(limit))
    return [dict(r) for r in rows.mappings()]


async def moved_accounts(db: Any, tenant_id: uuid.UUID, since: datetime, until: datetime, role: str) -> int:
    """Accounts that changed hands for the role in [since, until) (docs/domain.md, "Movement"): given to a
    rep other than the last rep who owned them. An account's first owner is not a move, nor is an owner
    ended with no successor, nor a change of territory alone (every account's when a plan copy is
    activated); an owner ended and another given later is one move."""
    c = CHANGES.c
    earlier = CHANGES.alias("earlier")
    e = earlier.c
    last_owner = (
        sa.select(e.to_rep_id)
        .where(
            e.tenant_id == c.tenant_id,
            e.subject_id == c.subject_id,
            e.role == c.role,
            e.kind == "owner",
            e.seq < c.seq,
            e.to_rep_id.is_not(None),
        )
        .order_by(e.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    stmt = sa.select(sa.func.count(sa.distinct(c.subject_id))).where(
        c.tenant_id == tenant_id,
        c.kind == "owner",
        c.role == role,
        c.valid_from >= since,
        c.valid_from < until,
        c.to_rep_id.is_not(None),
        last_owner.is_not(None),
        last_owner != c.to_rep_id,
    )
    return int((await db.execute(stmt)).scalar_one())


class HistoryStore:
    """`uow.history`: the reads above for the unit of work's tenant, in its transaction."""

    def __init__(self, uow: Any):
        self.uow = uow

    async def plan_owners(self, plan_id: Any, account_id: Any = None) -> list[Any]:
        # on the session, not its connection: it flushes pending writes first (activation reads the
        # owners of the plan it has just switched)
        return await plan_owners(self.uow.session, self.uow.tenant_id, plan_id, account_id)

    async def account_history(self, account_id: Any, before: int | None, limit: int) -> list[dict[str, Any]]:
        return await account_history(
            await self.uow.connection(), self.uow.tenant_id, account_id, before, limit
        )

    async def moved_accounts(self, since: datetime, until: datetime, role: str) -> int:
        return await moved_accounts(await self.uow.connection(), self.uow.tenant_id, since, until, role)

    async def live_accounts(self) -> int:
        """How many accounts the tenant has (not deleted): the movement rate's denominator."""
        return await count_live(await self.uow.connection(), self.uow.tenant_id)
