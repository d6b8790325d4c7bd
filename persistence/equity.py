"""Equity reads (docs/domain.md, "Equity"): a plan's book grouped for the equity metrics, the average won deal
by segment, and the accounts whose owner differs between two plans."""

from __future__ import annotations

from typing import Any, NamedTuple
from uuid import UUID

import sqlalchemy as sa

from persistence.assigning import owned_book, plan_territories
from persistence.coverage import ACCOUNTS, ASSIGNMENTS, COVERAGE, OPPORTUNITIES, SCORES
from persistence.stores import Store


class BookGroup(NamedTuple):
    """The plan's current owners' accounts of one (territory, rep, tier, segment, ICP fit)."""

    territory_id: Any
    rep_id: Any
    tier: int | None
    segment: str | None
    icp_fit: bool | None
    accounts: int
    potential: float
    pipeline: float


class EquityStore(Store):
    """Equity reads of the unit of work's tenant (`uow.equity`)."""

    async def book_groups(self, plan_id: UUID, role: str) -> list[BookGroup]:
        """The plan's book for `role` in groups: accounts, potential, open pipeline."""
        a, s, acc, c = ASSIGNMENTS.c, SCORES.c, ACCOUNTS.c, COVERAGE.c
        stmt = (
            owned_book(
                a.territory_id,
                a.rep_id,
                s.tier,
                acc.segment,
                s.icp_fit,
                sa.func.count().label("accounts"),
                sa.func.coalesce(sa.func.sum(s.potential), 0.0).label("potential"),
                sa.func.coalesce(sa.func.sum(c.open_pipeline), 0.0).label("pipeline"),
                tenant_id=self.tenant_id,
                plan_id=plan_id,
                role=role,
            )
            .outerjoin(COVERAGE, c.account_id == a.account_id)
            .group_by(a.territory_id, a.rep_id, s.tier, acc.segment, s.icp_fit)
        )
        rows = await (await self.connection()).execute(stmt)
        return [BookGroup(*r[:5], int(r[5]), float(r[6]), float(r[7])) for r in rows]

    async def average_won_deal(self) -> dict[Any, float]:
        """The average amount of the tenant's won opportunities, by account segment."""
        o, acc = OPPORTUNITIES.c, ACCOUNTS.c
        stmt = (
            sa.select(acc.segment, sa.func.avg(o.amount))
            .select_from(OPPORTUNITIES.join(ACCOUNTS, acc.id == o.account_id))
            .where(o.tenant_id == self.tenant_id, o.status == "won")
            .group_by(acc.segment)
        )
        return {row[0]: float(row[1]) for row in await (await self.connection()).execute(stmt)}

    async def plan_territories(self, plan_id: UUID) -> list[Any]:
        """The plan's territories (id, name, quota, ...), by name."""
        return await plan_territories(await self.connection(), self.tenant_id, plan_id)

    async def plan_moves(self, a: UUID, b: UUID, role: str, limit: int) -> tuple[list[dict[str, Any]], int]:
        """The live accounts whose owner of record for `role` differs between plans a and b, highest
        potential first (`limit` of them), and how many there are."""
        x, y = ASSIGNMENTS.alias("x"), ASSIGNMENTS.alias("y")
        acc, s = ACCOUNTS.c, SCORES.c

        def current(t: Any, plan_id: UUID) -> Any:
            return sa.and_(
                t.c.account_id == acc.id, t.c.plan_id == plan_id, t.c.role == role, t.c.valid_to.is_(None)
            )

        # a move is a change of owner of record; the same rep under a renamed or copied territory is not one
        differs = x.c.rep_id.is_distinct_from(y.c.rep_id)
        base = (
            ACCOUNTS.outerjoin(x, current(x, a))
            .outerjoin(y, current(y, b))
            .outerjoin(SCORES, s.account_id == acc.id)
        )
        scope = [acc.tenant_id == self.tenant_id, acc.deleted_at.is_(None), differs]
        stmt = (
            sa.select(
                acc.id,
                acc.external_id,
                acc.name,
                s.tier,
                s.potential,
                x.c.territory_id.label("from_territory"),
                x.c.rep_id.label("from_rep"),
                x.c.reason.label("from_reason"),
                y.c.territory_id.label("to_territory"),
                y.c.rep_id.label("to_rep"),
                y.c.reason.label("to_reason"),
                y.c.note.label("to_note"),
            )
            .select_from(base)
            .where(*scope)
            .order_by(s.potential.desc().nulls_last(), acc.id)
            .limit(limit)
        )
        count = sa.select(sa.func.count()).select_from(base).where(*scope)
        conn = await self.connection()
        moves = [dict(m) for m in (await conn.execute(stmt)).mappings()]
        return moves, int((await conn.execute(count)).scalar_one())
