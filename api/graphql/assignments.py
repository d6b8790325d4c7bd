"""Assignments: create and update one; assign a whole plan by the territories' rules."""

from __future__ import annotations

from uuid import UUID

import strawberry
from strawberry.types import Info

from api.graphql.common import attempt, input_type, mutate, output_type, result, update_mutation
from api.services import assigning
from api.services import assignments as service
from domain import model

Assignment = output_type(service.AssignmentRead, "Assignment", model.Assignment)
AssignmentCreateInput = input_type(service.AssignmentCreate, "AssignmentCreateInput")
AssignmentUpdateInput = input_type(service.AssignmentUpdate, "AssignmentUpdateInput")
AssignmentResult = result(Assignment, "AssignmentResult")
ListedAccount = output_type(service.ListedAccount, "ListedAccount")
TiedTerritory = output_type(service.TiedTerritory, "TiedTerritory")
ConflictAccount = output_type(service.ConflictAccount, "ConflictAccount")
OwnerlessAccount = output_type(service.OwnerlessAccount, "OwnerlessAccount")
ListedAccounts = output_type(service.ListedAccounts, "ListedAccounts")
ConflictAccounts = output_type(service.ConflictAccounts, "ConflictAccounts")
OwnerlessAccounts = output_type(service.OwnerlessAccounts, "OwnerlessAccounts")
AssignByRules = output_type(service.AssignByRulesRead, "AssignByRules")
AssignByRulesResult = result(AssignByRules, "AssignByRulesResult")


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Assign every account to the highest-priority matching territory (draft)"
    )
    async def assign_by_rules(
        self, info: Info, plan_id: UUID, role: model.Role = model.Role.AE
    ) -> AssignByRulesResult:  # type: ignore[valid-type]
        c = info.context
        found = assigning.assign_plan_by_rules(c.ctx, c.principal, plan_id, role)
        return await attempt(found)

    @strawberry.mutation
    async def create_assignment(self, info: Info, input: AssignmentCreateInput) -> AssignmentResult:  # type: ignore
        return await mutate(service.create_assignment, service.AssignmentCreate)(info, input)

    update_assignment = update_mutation(
        service.update_assignment, service.AssignmentUpdate, AssignmentUpdateInput, AssignmentResult
    )
