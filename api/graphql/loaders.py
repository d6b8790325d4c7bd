"""Per-request DataLoaders; each batch opens its own short session (never one shared by resolvers)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from strawberry.dataloader import DataLoader

from api.services.context import AppContext, Principal, tenant_settings
from domain.defaults import TenantSettings
from persistence.repositories import (
    SqlAccountRepository,
    SqlAssignmentRepository,
    SqlRepRepository,
    SqlTerritoryRepository,
)
from persistence.scoring import read_scores
from persistence.tables import AccountRow, AssignmentRow


class Loaders:
    def __init__(self, ctx: AppContext, p: Principal):
        self.ctx = ctx
        self.p = p
        self.account = DataLoader(self._by_id(SqlAccountRepository))
        self.rep = DataLoader(self._by_id(SqlRepRepository))
        self.territory = DataLoader(self._by_id(SqlTerritoryRepository))
        self.owner = DataLoader(self._owners)
        self.territory_accounts = DataLoader(self._accounts_by("territory_id"))
        self.rep_accounts = DataLoader(self._accounts_by("rep_id"))
        self.score = DataLoader(self._scores)
        self._settings: TenantSettings | None = None

    async def settings(self) -> TenantSettings:
        """The tenant's settings, read once per request."""
        if self._settings is None:
            async with self.ctx.uow(self.p.tenant_id) as uow:
                self._settings = await tenant_settings(uow)
        return self._settings

    async def _scores(self, ids: list[UUID]) -> list[Any]:
        async with self.ctx.engine.connect() as conn:
            found = await read_scores(conn, self.p.tenant_id, ids)
        return [found.get(i) for i in ids]

    def _by_id(self, repo_cls: type) -> Any:
        async def load(ids: list[UUID]) -> list[Any]:
            async with self.ctx.session_factory() as session:
                found = {e.id: e for e in await repo_cls(session, self.p.tenant_id).get_many(ids)}
            return [found.get(i) for i in ids]

        return load

    async def _owners(self, keys: list[tuple[UUID, UUID, str]]) -> list[Any]:
        """keys: (plan id, account id, role) -> the current assignment or None."""
        plans = {k[0] for k in keys}
        accounts = {k[1] for k in keys}
        async with self.ctx.session_factory() as session:
            repo = SqlAssignmentRepository(session, self.p.tenant_id)
            result = await session.execute(
                repo.scoped().where(
                    AssignmentRow.plan_id.in_(plans),
                    AssignmentRow.account_id.in_(accounts),
                    AssignmentRow.valid_to.is_(None),
                )
            )
            found = {(r.plan_id, r.account_id, r.role): repo.to_domain(r) for r in result.scalars()}
        return [found.get(k) for k in keys]

    def _accounts_by(self, column: str) -> Any:
        async def load(keys: list[tuple[UUID, UUID, str | None, int]]) -> list[list[Any]]:
            """keys: (owner id, plan id, role or None, first) -> up to `first` accounts, by account id."""
            groups: dict[tuple[UUID, str | None, int], list[UUID]] = defaultdict(list)
            for owner_id, plan_id, role, first in keys:
                groups[(plan_id, role, first)].append(owner_id)
            found: dict[tuple, list[Any]] = {}
            async with self.ctx.session_factory() as session:
                repo = SqlAccountRepository(session, self.p.tenant_id)
                for (plan_id, role, first), owners in groups.items():
                    owner_col = getattr(AssignmentRow, column)
                    ranked = (
                        sa.select(
                            AccountRow,
                            owner_col.label("_owner"),
                            sa.func.row_number()
                            .over(partition_by=owner_col, order_by=AccountRow.id)
                            .label("_n"),
                        )
                        .join(AssignmentRow, AssignmentRow.account_id == AccountRow.id)
                        .where(
                            AccountRow.tenant_id == self.p.tenant_id,
                            AccountRow.deleted_at.is_(None),
                            AssignmentRow.plan_id == plan_id,
                            AssignmentRow.valid_to.is_(None),
                            owner_col.in_(set(owners)),
                        )
                    )
                    if role is not None:
                        ranked = ranked.where(AssignmentRow.role == role)
                    sub = ranked.subquery()
                    account = sa.orm.aliased(AccountRow, sub)
                    stmt = (
                        sa.select(account, sub.c._owner)
                        .where(sub.c._n <= first)
                        .order_by(sub.c._owner, sub.c.id)
                    )
                    result = await session.execute(stmt)
                    for row, owner in result:
                        found.setdefault((owner, plan_id, role, first), []).append(repo.to_domain(row))
            return [found.get(k, []) for k in keys]

        return load
