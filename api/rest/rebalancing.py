"""Rebalance proposals, rep departures and arrivals: drafts with their moves and reasons."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, created, located, problem_responses
from api.services import rebalancing
from api.services.rebalancing import ArrivalRequest, DepartureRequest, RebalanceProposalRead, RebalanceRequest
from domain.model import Role

router = APIRouter(prefix="/v1", tags=["plans"])


@router.post(
    "/plans/{plan_id}/rebalance-proposals",
    name="propose_rebalance",
    response_model=RebalanceProposalRead,
    status_code=201,
    summary="Propose a rebalance in a new draft: the moves with their reasons, equity before and after",
    responses=problem_responses(404, *AUTH_ERRORS) | created(what="the draft plan"),
)
async def propose_rebalance(
    plan_id: UUID,
    p: PrincipalDep,
    ctx: CtxDep,
    response: Response,
    role: Role = Role.AE,
    body: RebalanceRequest | None = None,
) -> RebalanceProposalRead:
    proposal = await rebalancing.propose_rebalance(ctx, p, plan_id, role.value, body.name if body else None)
    return located(response, f"/v1/plans/{proposal.plan_id}", proposal)


@router.post(
    "/reps/{rep_id}/departure",
    name="rep_departure",
    response_model=RebalanceProposalRead,
    status_code=201,
    summary="A rep leaves: a draft that freezes open pipeline under an interim owner and reassigns the rest",
    responses=problem_responses(404, 409, *AUTH_ERRORS) | created(what="the draft plan"),
)
async def rep_departure(
    rep_id: UUID,
    body: DepartureRequest,
    p: PrincipalDep,
    ctx: CtxDep,
    response: Response,
    role: Role = Role.AE,
) -> RebalanceProposalRead:
    proposal = await rebalancing.rep_departure(ctx, p, rep_id, body.date, body.interim_rep_id, role.value)
    return located(response, f"/v1/plans/{proposal.plan_id}", proposal)


@router.post(
    "/reps/{rep_id}/arrival",
    name="rep_arrival",
    response_model=RebalanceProposalRead,
    status_code=201,
    summary="A rep joins: a draft with a territory carved for them with the fewest moves, sized for ramp",
    responses=problem_responses(404, 409, *AUTH_ERRORS) | created(what="the draft plan"),
)
async def rep_arrival(
    rep_id: UUID,
    p: PrincipalDep,
    ctx: CtxDep,
    response: Response,
    role: Role = Role.AE,
    body: ArrivalRequest | None = None,
) -> RebalanceProposalRead:
    proposal = await rebalancing.rep_arrival(
        ctx, p, rep_id, body.territory_name if body else None, role.value
    )
    return located(response, f"/v1/plans/{proposal.plan_id}", proposal)
