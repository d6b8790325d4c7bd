"""Ownership reads: the whole tenant for a snapshot, or a few accounts, straight from SQL.

Each read is a few simple indexed queries combined in Python, so the answer never depends on the planner
choosing well for a multi-way outer join (right after a bulk load, table statistics may be missing).
Ids are returned as the driver gives them (asyncpg has its own UUID type); the api encodes them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from persistence.tables import AccountRow, AssignmentRow, PlanRow, RepRow, TenantRow, TerritoryRow

ACCOUNTS = AccountRow.__table__
ASSIGNMENTS = AssignmentRow.__table__
REPS = RepRow.__table__
TERRITORIES = TerritoryRow.__table__
CHUNK = 1_000


@dataclass
class OwnershipData:
    """Current ownership in the active plan, indexed for lookups by external id.

    Kept compact because a snapshot holds a whole tenant: one tuple per account, and rep, territory and
    timestamp objects shared between the accounts that point at the same one.
    """

    plan_id: Any
    # external id -> (account id, account name, ((role, rep id, territory id, since), ...))
    accounts: dict[str, tuple[Any, str, tuple[tuple[str, Any, Any, datetime], ...]]] = field(
        default_factory=dict
    )
    reps: dict[Any, tuple[str, str]] = field(default_factory=dict)  # rep id -> (name, email)
    territories: dict[Any, str] = field(default_factory=dict)  # territory id -> name


async def _active_plan(conn: AsyncConnection, tenant_id: uuid.UUID) -> Any:
    stmt = sa.select(PlanRow.id).where(PlanRow.tenant_id == tenant_id, PlanRow.state == "active")
    return (await conn.execute(stmt)).scalar_one_or_none()


async def _load(
    conn: AsyncConnection, tenant_id: uuid.UUID, plan_id: Any, accounts: Sequence[Any]
) -> OwnershipData:
    data = OwnershipData(plan_id)
    owners: dict[Any, list[tuple[str, Any, Any, datetime]]] = {}
    if plan_id is not None and accounts:
        stmt = sa.select(
            ASSIGNMENTS.c.account_id,
            ASSIGNMENTS.c.role,
            ASSIGNMENTS.c.rep_id,
            ASSIGNMENTS.c.territory_id,
            ASSIGNMENTS.c.valid_from,
        ).where(
            ASSIGNMENTS.c.tenant_id == tenant_id,
            ASSIGNMENTS.c.plan_id == plan_id,
            ASSIGNMENTS.c.valid_to.is_(None),
        )
        if len(accounts) <= CHUNK:
            stmt = stmt.where(ASSIGNMENTS.c.account_id.in_([a[0] for a in accounts]))
        shared: dict[Any, Any] = {}  # one object per distinct rep id, territory id and timestamp
        for account_id, role, rep_id, territory_id, since in (await conn.execute(stmt)).all():
            owner = (
                role,
                shared.setdefault(rep_id, rep_id),
                shared.setdefault(territory_id, territory_id),
                shared.setdefault(since, since),
            )
            owners.setdefault(account_id, []).append(owner)
        rep_ids = {o[1] for found in owners.values() for o in found}
        territory_ids = {o[2] for found in owners.values() for o in found} - {None}
        if rep_ids:
            stmt = sa.select(REPS.c.id, REPS.c.name, REPS.c.email).where(REPS.c.tenant_id == tenant_id)
            if len(rep_ids) <= CHUNK:
                stmt = stmt.where(REPS.c.id.in_(rep_ids))
            data.reps = {shared.get(r[0], r[0]): (r[1], r[2]) for r in (await conn.execute(stmt)).all()}
        if territory_ids:
            stmt = sa.select(TERRITORIES.c.id, TERRITORIES.c.name).where(TERRITORIES.c.plan_id == plan_id)
            if len(territory_ids) <= CHUNK:
                stmt = stmt.where(TERRITORIES.c.id.in_(territory_ids))
            data.territories = {shared.get(t[0], t[0]): t[1] for t in (await conn.execute(stmt)).all()}
    none: tuple = ()
    data.accounts = {
        ext: (account_id, name, tuple(owners[account_id]) if account_id in owners else none)
        for account_id, ext, name in accounts
    }
    return data


def _accounts(tenant_id: uuid.UUID) -> sa.Select:
    return sa.select(ACCOUNTS.c.id, ACCOUNTS.c.external_id, ACCOUNTS.c.name).where(
        ACCOUNTS.c.tenant_id == tenant_id, ACCOUNTS.c.deleted_at.is_(None)
    )


async def read_version(engine: AsyncEngine, tenant_id: uuid.UUID) -> int:
    async with engine.connect() as conn:
        stmt = sa.select(TenantRow.ownership_version).where(TenantRow.id == tenant_id)
        return int((await conn.execute(stmt)).scalar_one())


async def load_all(engine: AsyncEngine, tenant_id: uuid.UUID) -> OwnershipData:
    async with engine.connect() as conn:
        plan_id = await _active_plan(conn, tenant_id)
        return await _load(conn, tenant_id, plan_id, (await conn.execute(_accounts(tenant_id))).all())


async def load_some(engine: AsyncEngine, tenant_id: uuid.UUID, external_ids: Sequence[str]) -> OwnershipData:
    async with engine.connect() as conn:
        plan_id = await _active_plan(conn, tenant_id)
        stmt = _accounts(tenant_id).where(ACCOUNTS.c.external_id.in_(list(external_ids)))
        return await _load(conn, tenant_id, plan_id, (await conn.execute(stmt)).all())
