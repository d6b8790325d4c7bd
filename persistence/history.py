"""Ownership history, read from the change log: an account's owner changes, the owners of a plan (what an
activation compares), and the accounts that changed hands in a window (the movement rate)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

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
    """Accounts whose owner (the rep) for the role changed at least once in [since, until); a change of
    territory alone, such as every account's when a plan copy is activated, is not a move."""
    c = CHANGES.c
    stmt = sa.select(sa.func.count(sa.distinct(c.subject_id))).where(
        c.tenant_id == tenant_id,
        c.kind == "owner",
        c.role == role,
        c.valid_from >= since,
        c.valid_from < until,
        c.from_rep_id.is_distinct_from(c.to_rep_id),
    )
    return int((await db.execute(stmt)).scalar_one())
