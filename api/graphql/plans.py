"""Plans: the list by state; create, update, copy into a draft, activate."""

from __future__ import annotations

from uuid import UUID

import strawberry
from strawberry.types import Info

from api.graphql.common import (
    Connection,
    call,
    connection,
    input_type,
    mutate,
    output_type,
    result,
    update_mutation,
)
from api.services import plans as service
from domain import model
from domain.defaults import DEFAULT_PAGE_SIZE

Plan = output_type(service.PlanRead, "Plan", model.Plan)
PlanConnection = Connection[Plan]  # type: ignore[valid-type]
PlanCreateInput = input_type(service.PlanCreate, "PlanCreateInput")
PlanUpdateInput = input_type(service.PlanUpdate, "PlanUpdateInput")
PlanResult = result(Plan, "PlanResult")


@strawberry.type
class Query:
    @strawberry.field
    async def plans(
        self,
        info: Info,
        state: model.PlanState | None = None,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> PlanConnection:  # type: ignore[valid-type]
        c = info.context
        return connection(await call(service.list_plans(c.ctx, c.principal, {"state": state}, after, first)))


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_plan(self, info: Info, input: PlanCreateInput) -> PlanResult:  # type: ignore
        return await mutate(service.create_plan, service.PlanCreate)(info, input)

    update_plan = update_mutation(service.update_plan, service.PlanUpdate, PlanUpdateInput, PlanResult)

    @strawberry.mutation(description="Copy a plan into a draft: territories and current assignments")
    async def copy_plan(self, info: Info, id: UUID, name: str | None = None) -> PlanResult:  # type: ignore
        return await mutate(service.copy_plan)(info, id, name)

    @strawberry.mutation
    async def activate_plan(self, info: Info, id: UUID) -> PlanResult:  # type: ignore
        return await mutate(service.activate_plan)(info, id)
