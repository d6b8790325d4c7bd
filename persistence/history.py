"""Ownership history: events written set-wise when a plan is activated, one by one when the active plan's
assignments change; read per account, and counted for the movement rate."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from persistence.tables import AssignmentRow, OwnershipEventRow, UTCDateTime

EVENTS = OwnershipEventRow.__table__
ASSIGNMENTS = AssignmentRow.__table__
COLUMNS = [
    "tenant_id",
    "account_id",
    "role",
    "plan_id",
    "from_rep_id",
    "to_rep_id",
    "from_territory_id",
    "to_territory_id",
    "reason",
    "note",
    "changed_at",
]


async def record_activation(
    db: Any, tenant_id: uuid.UUID, old_plan: Any | None, new_plan: Any, now: datetime
) -> None:
    """An event for every (account, role) whose owner differs between the old and the new active plan: the
    new assignment's reason, or `activation` for an owner the new plan drops. `db`: a connection or an
    async session, in the activation's transaction."""
    new, old = ASSIGNMENTS.alias("new"), ASSIGNMENTS.alias("old")

    def current(t: Any, plan: Any) -> list[Any]:
        return [t.c.tenant_id == tenant_id, t.c.plan_id == plan, t.c.valid_to.is_(None)]

    stamp = sa.literal(now, UTCDateTime())
    plan = sa.literal(new_plan, sa.Uuid())
    gained = (
        sa.select(
            new.c.tenant_id,
            new.c.account_id,
            new.c.role,
            plan,
            old.c.rep_id,
            new.c.rep_id,
            old.c.territory_id,
            new.c.territory_id,
            new.c.reason,
            new.c.note,
            stamp,
        )
        .select_from(
            new.outerjoin(
                old,
                sa.and_(
                    old.c.account_id == new.c.account_id, old.c.role == new.c.role, *current(old, old_plan)
                ),
            )
        )
        .where(*current(new, new_plan), old.c.rep_id.is_distinct_from(new.c.rep_id))
    )
    await db.execute(sa.insert(EVENTS).from_select(COLUMNS, gained))
    if old_plan is None:
        return
    lost = (
        sa.select(
            old.c.tenant_id,
            old.c.account_id,
            old.c.role,
            plan,
            old.c.rep_id,
            sa.null(),
            old.c.territory_id,
            sa.null(),
            sa.literal("activation"),
            sa.literal("no owner for this role in the activated plan"),
            stamp,
        )
        .select_from(
            old.outerjoin(
                new,
                sa.and_(
                    new.c.account_id == old.c.account_id, new.c.role == old.c.role, *current(new, new_plan)
                ),
            )
        )
        .where(*current(old, old_plan), new.c.id.is_(None))
    )
    await db.execute(sa.insert(EVENTS).from_select(COLUMNS, lost))


async def record(db: Any, **values: Any) -> None:
    await db.execute(sa.insert(EVENTS).values(**values))


async def account_history(
    db: Any, tenant_id: uuid.UUID, account_id: Any, after: int | None, limit: int
) -> list[dict[str, Any]]:
    """Newest first; `after`: the id of the last event of the previous page."""
    stmt = sa.select(EVENTS).where(EVENTS.c.tenant_id == tenant_id, EVENTS.c.account_id == account_id)
    if after is not None:
        stmt = stmt.where(EVENTS.c.id < after)
    rows = await db.execute(stmt.order_by(EVENTS.c.id.desc()).limit(limit))
    return [dict(r) for r in rows.mappings()]


async def moved_accounts(db: Any, tenant_id: uuid.UUID, since: datetime, until: datetime, role: str) -> int:
    """Accounts whose owner for the role changed at least once in [since, until)."""
    stmt = sa.select(sa.func.count(sa.distinct(EVENTS.c.account_id))).where(
        EVENTS.c.tenant_id == tenant_id,
        EVENTS.c.role == role,
        EVENTS.c.changed_at >= since,
        EVENTS.c.changed_at < until,
    )
    return int((await db.execute(stmt)).scalar_one())
