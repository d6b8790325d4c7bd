"""Ownership queries: the whole tenant's ownership for a snapshot, or a few accounts straight from SQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.tables import AccountRow, AssignmentRow, PlanRow, RepRow, TenantRow, TerritoryRow


@dataclass(frozen=True)
class OwnershipRow:
    account_id: uuid.UUID
    external_id: str
    account_name: str
    role: str | None
    rep_id: uuid.UUID | None
    rep_name: str | None
    rep_email: str | None
    territory_id: uuid.UUID | None
    territory_name: str | None
    since: datetime | None


def _query(tenant_id: uuid.UUID, plan_id: uuid.UUID | None) -> sa.Select:
    owner = sa.and_(
        AssignmentRow.account_id == AccountRow.id,
        AssignmentRow.plan_id == plan_id,
        AssignmentRow.valid_to.is_(None),
    )
    return (
        sa.select(
            AccountRow.id.label("account_id"),
            AccountRow.external_id,
            AccountRow.name.label("account_name"),
            AssignmentRow.role,
            RepRow.id.label("rep_id"),
            RepRow.name.label("rep_name"),
            RepRow.email.label("rep_email"),
            TerritoryRow.id.label("territory_id"),
            TerritoryRow.name.label("territory_name"),
            AssignmentRow.valid_from.label("since"),
        )
        .select_from(AccountRow)
        .outerjoin(AssignmentRow, owner)
        .outerjoin(RepRow, RepRow.id == AssignmentRow.rep_id)
        .outerjoin(TerritoryRow, TerritoryRow.id == AssignmentRow.territory_id)
        .where(AccountRow.tenant_id == tenant_id, AccountRow.deleted_at.is_(None))
    )


async def read_state(engine: AsyncEngine, tenant_id: uuid.UUID) -> tuple[int, uuid.UUID | None]:
    """The tenant's ownership version and active plan, read before the data they label."""
    async with engine.connect() as conn:
        version = (
            await conn.execute(sa.select(TenantRow.ownership_version).where(TenantRow.id == tenant_id))
        ).scalar_one()
        plan_id = (
            await conn.execute(
                sa.select(PlanRow.id).where(PlanRow.tenant_id == tenant_id, PlanRow.state == "active")
            )
        ).scalar_one_or_none()
    return int(version), plan_id


async def load_all(
    engine: AsyncEngine, tenant_id: uuid.UUID, plan_id: uuid.UUID | None
) -> list[OwnershipRow]:
    async with engine.connect() as conn:
        result = await conn.execute(_query(tenant_id, plan_id))
        return [OwnershipRow(*r) for r in result]


async def load_some(
    engine: AsyncEngine, tenant_id: uuid.UUID, external_ids: Sequence[str]
) -> tuple[uuid.UUID | None, list[OwnershipRow]]:
    async with engine.connect() as conn:
        plan_id = (
            await conn.execute(
                sa.select(PlanRow.id).where(PlanRow.tenant_id == tenant_id, PlanRow.state == "active")
            )
        ).scalar_one_or_none()
        result = await conn.execute(
            _query(tenant_id, plan_id).where(AccountRow.external_id.in_(list(external_ids)))
        )
        return plan_id, [OwnershipRow(*r) for r in result]
