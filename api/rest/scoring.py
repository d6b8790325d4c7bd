"""Scoring runs and explained scores."""

from uuid import UUID

from fastapi import APIRouter

from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, problem_responses
from api.services import scoring as service
from api.services.scoring import AccountScoreRead, ScoringRunRead

router = APIRouter(prefix="/v1", tags=["scoring"])


@router.post(
    "/scoring/run",
    name="run_scoring",
    response_model=ScoringRunRead,
    summary="Score, value and tier every account under the current settings",
    responses=problem_responses(*AUTH_ERRORS),
)
async def run_scoring(p: PrincipalDep, ctx: CtxDep) -> ScoringRunRead:
    return await service.run_scoring(ctx, p)


@router.get(
    "/accounts/{account_id}/score",
    name="get_account_score",
    response_model=AccountScoreRead,
    summary="An account's score, potential and tier, explained factor by factor",
    responses=problem_responses(404, *AUTH_ERRORS),
)
async def get_account_score(account_id: UUID, p: PrincipalDep, ctx: CtxDep) -> AccountScoreRead:
    return await service.get_score(ctx, p, account_id)
