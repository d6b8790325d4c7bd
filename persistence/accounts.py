"""SQL of accounts: the repository (by id, by external id, the parent chain, the list's filters)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from domain import model
from persistence.repositories import SqlRepository
from persistence.tables import (
    AccountRow,
    AssignmentRow,
    OpportunityRow,
)


class SqlAccountRepository(SqlRepository[model.Account]):
    row = AccountRow
    entity = model.Account
    equality_filters = {
        "segment": "segment",
        "stage": "stage",
        "parent_id": "parent_id",
        "external_id": "external_id",
    }

    def scoped(self) -> sa.Select:
        return super().scoped().where(AccountRow.deleted_at.is_(None))

    async def get_by_external_id(self, external_id: str) -> model.Account | None:
        result = await self.session.execute(self.scoped().where(AccountRow.external_id == external_id))
        row = result.scalar_one_or_none()
        return None if row is None else self.to_domain(row)

    async def get_any_by_external_id(self, external_id: str) -> model.Account | None:
        """Including soft-deleted accounts (their external id stays reserved)."""
        result = await self.session.execute(
            sa.select(AccountRow).where(
                AccountRow.tenant_id == self.tenant_id, AccountRow.external_id == external_id
            )
        )
        row = result.scalar_one_or_none()
        return None if row is None else self.to_domain(row)

    async def open_opportunities(self, account_ids: Collection[UUID]) -> list[Any]:
        """The open opportunities of these accounts (id, external_id, account_id, rep_id, amount, stage,
        created_on), by account, largest first: one query."""
        o = OpportunityRow.__table__.c
        stmt = (
            sa.select(o.id, o.external_id, o.account_id, o.rep_id, o.amount, o.stage, o.created_on)
            .where(o.tenant_id == self.tenant_id, o.status == "open", o.account_id.in_(set(account_ids)))
            .order_by(o.account_id, o.amount.desc(), o.id)
        )
        return list((await self.session.execute(stmt)).all())

    async def ancestor_links(self, account_id: UUID) -> dict[UUID, UUID | None]:
        """child -> parent for the account and all its ancestors (one recursive query, any depth)."""
        table = AccountRow.__table__
        start = (
            sa.select(table.c.id, table.c.parent_id)
            .where(table.c.tenant_id == self.tenant_id, table.c.id == account_id)
            .cte("chain", recursive=True)
        )
        up = table.alias("up")
        chain = start.union(sa.select(up.c.id, up.c.parent_id).join(start, up.c.id == start.c.parent_id))
        return {
            r.id: r.parent_id for r in await self.session.execute(sa.select(chain.c.id, chain.c.parent_id))
        }

    def apply_filters(self, stmt: sa.Select, filters: Mapping[str, Any]) -> sa.Select:
        stmt = super().apply_filters(stmt, filters)
        owned = {k: filters.get(k) for k in ("territory_id", "owner_id", "role")}
        if any(v is not None for v in owned.values()):
            cond = [
                AssignmentRow.account_id == AccountRow.id,
                AssignmentRow.plan_id == filters["plan_id"],
                AssignmentRow.valid_to.is_(None),
            ]
            if owned["territory_id"] is not None:
                cond.append(AssignmentRow.territory_id == owned["territory_id"])
            if owned["owner_id"] is not None:
                cond.append(AssignmentRow.rep_id == owned["owner_id"])
            if owned["role"] is not None:
                cond.append(AssignmentRow.role == str(owned["role"]))
            stmt = stmt.where(sa.exists().where(*cond))
        return stmt

    async def owned_by(
        self,
        column: str,
        owner_ids: Collection[UUID],
        plan_id: UUID,
        role: str | None,
        after: UUID | None,
        limit: int,
    ) -> dict[UUID, list[model.Account]]:
        """Up to `limit` live accounts of each owner, by account id after `after`, whose current assignment
        in the plan (of the role, if given) names the owner in `column` (rep_id or territory_id): one
        query for all the owners, each account once per owner."""
        owner = getattr(AssignmentRow, column)
        pairs = sa.select(owner.label("owner"), AssignmentRow.account_id).where(
            AssignmentRow.tenant_id == self.tenant_id,
            AssignmentRow.plan_id == plan_id,
            AssignmentRow.valid_to.is_(None),
            owner.in_(set(owner_ids)),
        )
        if role is not None:
            pairs = pairs.where(AssignmentRow.role == str(role))
        owned = pairs.distinct().subquery()
        ranked = (
            sa.select(
                AccountRow,
                owned.c.owner.label("_owner"),
                sa.func.row_number().over(partition_by=owned.c.owner, order_by=AccountRow.id).label("_n"),
            )
            .join(owned, owned.c.account_id == AccountRow.id)
            .where(AccountRow.tenant_id == self.tenant_id, AccountRow.deleted_at.is_(None))
        )
        if after is not None:
            ranked = ranked.where(AccountRow.id > after)
        sub = ranked.subquery()
        account = sa.orm.aliased(AccountRow, sub)
        stmt = sa.select(account, sub.c._owner).where(sub.c._n <= limit).order_by(sub.c._owner, sub.c.id)
        found: dict[UUID, list[model.Account]] = {}
        for row, owner_id in await self.session.execute(stmt):
            found.setdefault(owner_id, []).append(self.to_domain(row))
        return found
