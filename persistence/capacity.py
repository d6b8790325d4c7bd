"""Capacity inputs: the last scoring run's tiers and potentials, and the active reps' ramp statuses."""

from __future__ import annotations

import sqlalchemy as sa

from domain.capacity import CapacityAccount
from domain.model import RampStatus
from persistence.scoring import ACCOUNTS, SCORES
from persistence.stores import Store
from persistence.tables import RepRow

REPS = RepRow.__table__


class CapacityStore(Store):
    """`uow.capacity`."""

    async def inputs(self) -> tuple[list[CapacityAccount], list[tuple[RampStatus, float | None]]]:
        """Every scored live account (id, segment, tier, potential); the ramp status and own capacity of
        each active rep."""
        conn = await self.connection()
        accounts = await conn.execute(
            sa.select(SCORES.c.account_id, ACCOUNTS.c.segment, SCORES.c.tier, SCORES.c.potential)
            .select_from(SCORES.join(ACCOUNTS, ACCOUNTS.c.id == SCORES.c.account_id))
            .where(SCORES.c.tenant_id == self.tenant_id, ACCOUNTS.c.deleted_at.is_(None))
        )
        found = [CapacityAccount(r[0], r[1], int(r[2]), float(r[3])) for r in accounts]
        ramps = await conn.execute(
            sa.select(REPS.c.ramp_status, REPS.c.capacity).where(
                REPS.c.tenant_id == self.tenant_id, REPS.c.end_date.is_(None)
            )
        )
        return found, [(RampStatus(r[0]), r[1]) for r in ramps]
