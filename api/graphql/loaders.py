"""Per-request DataLoaders over the services' batch reads: one query a batch, each in its own short unit of
work (never a session shared by resolvers)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from strawberry.dataloader import DataLoader

from api.services import accounts, assignments, plans, reps, scoring, territories
from api.services.context import AppContext, Principal
from api.services.pagination import GRAPHQL_PAGES, page_arguments
from domain.model import Role


class Loaders:
    def __init__(self, ctx: AppContext, p: Principal):
        self.ctx = ctx
        self.p = p
        self.account = DataLoader(lambda ids: accounts.get_many(ctx, p, ids))
        self.rep = DataLoader(lambda ids: reps.get_many(ctx, p, ids))
        self.territory = DataLoader(lambda ids: territories.get_many(ctx, p, ids))
        # (plan id, account id, role) -> the current assignment or None
        self.owner = DataLoader(lambda keys: assignments.current_owners(ctx, p, keys))
        # (external id, role) -> the ownership lookup's answer (the active plan's owner, since when)
        self.lookup = DataLoader(self._lookups)
        # (owner id, plan id, role or None, first, after) -> a page of accounts
        self.territory_accounts = DataLoader(self._owned_pages("territory_id"))
        self.rep_accounts = DataLoader(self._owned_pages("rep_id"))
        # domain Account -> its explained score or None
        self.score = DataLoader(
            lambda found: scoring.explain_many(ctx, p, found), cache_key_fn=lambda a: a.id
        )
        # account id -> its owner with its open pipeline
        self.pipeline = DataLoader(lambda ids: accounts.open_pipelines(ctx, p, ids))
        self._active_plan: list[UUID | None] = []

    async def _lookups(self, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
        """One lookup a role for the batch (the REST lookup's answers: one definition of `since`)."""
        by_role: dict[str, list[str]] = {}
        for external_id, role in keys:
            by_role.setdefault(role, []).append(external_id)
        answers = {}
        for role, ids in by_role.items():
            found = await self.ctx.ownership.lookup(self.p, ids, Role(role))
            answers.update({(e, role): a for e, a in zip(ids, found, strict=True)})
        return [answers[k] for k in keys]

    async def active_plan_id(self) -> UUID | None:
        """The active plan's id, read once per request."""
        if not self._active_plan:
            self._active_plan.append(await plans.active_plan_id(self.ctx, self.p))
        return self._active_plan[0]

    def _owned_pages(self, by: str) -> Any:
        async def load(keys: list[tuple[UUID, UUID, str | None, int, str | None]]) -> list[dict]:
            with page_arguments(GRAPHQL_PAGES):  # a batch runs in its own task, outside the resolver's call
                return await accounts.owned_pages(self.ctx, self.p, by, keys)

        return load
