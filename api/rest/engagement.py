"""Rules of engagement: the tenant's policy, in force and by version (writes: admin scope)."""

from typing import Annotated

from fastapi import APIRouter, Path, Response

from api.rest.deps import (
    AUTH_ERRORS,
    NOT_MODIFIED,
    PRECONDITION_ERRORS,
    CtxDep,
    IfMatchDep,
    IfNoneMatchDep,
    PrincipalDep,
    problem_responses,
    unchanged,
    versioned,
    with_etag,
)
from api.services import dry_run
from api.services import engagement as service
from api.services.dry_run import PolicyDryRunRead
from api.services.engagement import PolicyRead, PolicyWrite

router = APIRouter(prefix="/v1", tags=["engagement"])


@router.get(
    "/engagement/policy",
    name="get_engagement_policy",
    response_model=PolicyRead,
    summary="The rules of engagement in force, in order, each with the sentence a rep reads",
    responses=problem_responses(*AUTH_ERRORS) | with_etag() | NOT_MODIFIED,
)
async def get_engagement_policy(
    held: IfNoneMatchDep, p: PrincipalDep, ctx: CtxDep, response: Response
) -> PolicyRead | Response:
    found = await service.get_policy(ctx, p)
    return unchanged(held, found.version) or versioned(response, found.version, found)


@router.get(
    "/engagement/policy/versions/{version}",
    name="get_engagement_policy_version",
    response_model=PolicyRead,
    summary="One saved version of the policy (0: the defaults), as rulings name it",
    responses=problem_responses(404, *AUTH_ERRORS),
)
async def get_engagement_policy_version(
    version: Annotated[int, Path(ge=0, le=2**31 - 1)], p: PrincipalDep, ctx: CtxDep
) -> PolicyRead:
    return await service.get_policy_version(ctx, p, version)


@router.put(
    "/engagement/policy",
    name="replace_engagement_policy",
    response_model=PolicyRead,
    summary="Save a new version of the policy; one that breaks a rule is refused, naming every broken part",
    responses=problem_responses(409, *PRECONDITION_ERRORS, *AUTH_ERRORS) | with_etag(),
)
async def replace_engagement_policy(
    body: PolicyWrite, precondition: IfMatchDep, p: PrincipalDep, ctx: CtxDep, response: Response
) -> PolicyRead:
    found = await service.replace_policy(ctx, p, body, precondition)
    return versioned(response, found.version, found)


@router.post(
    "/engagement/policy/dry-run",
    name="dry_run_engagement_policy",
    response_model=PolicyDryRunRead,
    summary="What a proposed policy would decide differently, before it is saved: the open disputes whose "
    "ruling would change and the active plan's owners assigning by rules would change (admin scope; "
    "nothing is saved)",
    description=(
        "The body is a policy as PUT /v1/engagement/policy takes it, validated the same way. Every open "
        "dispute is ruled under the policy in force and under the proposal, on today's evidence; "
        "`disputes` lists those whose owner or deciding rule would change, with both rulings. Every "
        "account of the active plan (AE, locked ones left out) is ruled as assigning by rules would, under "
        "both; `owners` lists those the proposal gives another owner or territory, with both placements "
        "(null without an active plan)."
    ),
    responses=problem_responses(422, *AUTH_ERRORS),
)
async def dry_run_engagement_policy(body: PolicyWrite, p: PrincipalDep, ctx: CtxDep) -> PolicyDryRunRead:
    return await dry_run.dry_run_policy(ctx, p, body)
