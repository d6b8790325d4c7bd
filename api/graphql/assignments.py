"""Assignments: create and update one; assign a whole plan by the territories' rules."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.common import input_type, mutate, output_type, result, update_mutation
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
# the assignByRules mutation is with the operations (api/graphql/operations.py): a large book answers one


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_assignment(self, info: Info, input: AssignmentCreateInput) -> AssignmentResult:  # type: ignore
        return await mutate(service.create_assignment, service.AssignmentCreate)(info, input)

    update_assignment = update_mutation(
        service.update_assignment, service.AssignmentUpdate, AssignmentUpdateInput, AssignmentResult
    )
