"""Scoring runs and explained scores."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, problem_responses
from api.services import scoring as service
from api.services.scoring import AccountScoreRead, ScoringRunRead

router = APIRouter(prefix="/v1", tags=["scoring"])


@router.post(
    "/scoring/run",
    name="run_scoring",
    response_model=ScoringRunRead,
    summary="Score, value and tier every account under the current settings",
    description="Rescores the accounts new or changed since the last run and moves the tiers the book's "
    "new boundaries move; every account when the settings or the win rates changed, or with full=true. "
    "The answer says which and why.",
    responses=problem_responses(*AUTH_ERRORS),
)
async def run_scoring(
    p: PrincipalDep,
    ctx: CtxDep,
    full: Annotated[bool, Query(description="rescore every account, changed or not")] = False,
) -> ScoringRunRead:
    return await service.run_scoring(ctx, p, full)


@router.get(
    "/accounts/{account_id}/score",
    name="get_account_score",
    response_model=AccountScoreRead,
    summary="An account's score, potential and tier, explained factor by factor",
    responses=problem_responses(404, *AUTH_ERRORS),
)
async def get_account_score(account_id: UUID, p: PrincipalDep, ctx: CtxDep) -> AccountScoreRead:
    return await service.get_score(ctx, p, account_id)
