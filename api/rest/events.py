"""Events: the pull feed, and webhook endpoints (admin scope) with rotation, replay and the delivery log."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from api.rest.deps import (
    AUTH_ERRORS,
    PRECONDITION_ERRORS,
    CtxDep,
    IfMatchDep,
    PrincipalDep,
    created,
    located,
    problem_responses,
    versioned,
    with_etag,
)
from api.services import events
from api.services.context import changes_from
from api.services.events import (
    MAX_SEQ,
    EventPage,
    EventType,
    WebhookAttemptPage,
    WebhookEndpointCreate,
    WebhookEndpointPage,
    WebhookEndpointRead,
    WebhookEndpointUpdate,
    WebhookReplay,
)

router = APIRouter(prefix="/v1", tags=["events"])


def _wake(ctx: object) -> None:
    deliverer = getattr(ctx, "deliverer", None)
    if deliverer is not None:
        deliverer.wake.set()


@router.get(
    "/events",
    name="list_events",
    response_model=EventPage,
    summary="Events after a position in the change log, oldest first (catch up after downtime)",
    responses=problem_responses(*AUTH_ERRORS),
)
async def list_events(
    p: PrincipalDep,
    ctx: CtxDep,
    after: Annotated[
        int, Query(ge=0, le=MAX_SEQ, description="the seq after which to start (0: from the start)")
    ] = 0,
    types: Annotated[list[EventType] | None, Query(description="only these types")] = None,
    page_size: Annotated[int | None, Query(ge=1, le=500)] = None,
) -> EventPage:
    return await events.list_events(ctx, p, after, [t.value for t in types or []], page_size)


@router.post(
    "/webhook-endpoints",
    name="create_webhook_endpoint",
    status_code=201,
    response_model=WebhookEndpointRead,
    summary="Add a webhook endpoint; its secret is in this answer only",
    responses=problem_responses(*AUTH_ERRORS) | created(what="the endpoint", versioned=True),
)
async def create_webhook_endpoint(
    body: WebhookEndpointCreate, p: PrincipalDep, ctx: CtxDep, response: Response
) -> WebhookEndpointRead:
    types = [t.value for t in body.types] if body.types else None
    endpoint = await events.create_endpoint(ctx, p, body.url, types, body.description)
    return versioned(
        response, endpoint.version, located(response, f"/v1/webhook-endpoints/{endpoint.id}", endpoint)
    )


@router.get(
    "/webhook-endpoints",
    name="list_webhook_endpoints",
    response_model=WebhookEndpointPage,
    summary="Webhook endpoints",
    responses=problem_responses(*AUTH_ERRORS),
)
async def list_webhook_endpoints(
    p: PrincipalDep,
    ctx: CtxDep,
    page_token: str | None = None,
    page_size: Annotated[int | None, Query(ge=1, le=500)] = None,
) -> WebhookEndpointPage:
    return await events.list_endpoints(ctx, p, page_token, page_size)


@router.get(
    "/webhook-endpoints/{endpoint_id}",
    name="get_webhook_endpoint",
    response_model=WebhookEndpointRead,
    summary="A webhook endpoint and its place in the change log",
    responses=problem_responses(404, *AUTH_ERRORS) | with_etag(),
)
async def get_webhook_endpoint(
    endpoint_id: UUID, p: PrincipalDep, ctx: CtxDep, response: Response
) -> WebhookEndpointRead:
    endpoint = await events.get_endpoint(ctx, p, endpoint_id)
    return versioned(response, endpoint.version, endpoint)


@router.patch(
    "/webhook-endpoints/{endpoint_id}",
    name="update_webhook_endpoint",
    response_model=WebhookEndpointRead,
    summary="Change a webhook endpoint; enabled: true resumes a disabled one where it stopped",
    responses=problem_responses(404, 409, *PRECONDITION_ERRORS, *AUTH_ERRORS) | with_etag(),
)
async def update_webhook_endpoint(
    endpoint_id: UUID,
    body: WebhookEndpointUpdate,
    precondition: IfMatchDep,
    p: PrincipalDep,
    ctx: CtxDep,
    response: Response,
) -> WebhookEndpointRead:
    changes = changes_from(body, WebhookEndpointCreate)
    if "types" in changes:
        changes["types"] = [str(t) for t in changes["types"] or []]
    found = await events.update_endpoint(ctx, p, endpoint_id, changes, precondition)
    _wake(ctx)
    return versioned(response, found.version, found)


@router.delete(
    "/webhook-endpoints/{endpoint_id}",
    name="delete_webhook_endpoint",
    status_code=204,
    summary="Remove a webhook endpoint and its delivery log",
    responses=problem_responses(404, 409, *PRECONDITION_ERRORS, *AUTH_ERRORS),
)
async def delete_webhook_endpoint(
    endpoint_id: UUID, precondition: IfMatchDep, p: PrincipalDep, ctx: CtxDep
) -> Response:
    await events.delete_endpoint(ctx, p, endpoint_id, precondition)
    return Response(status_code=204)


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    name="rotate_webhook_secret",
    response_model=WebhookEndpointRead,
    summary="A new secret, in this answer only; the old one also signs for 24 hours",
    responses=problem_responses(404, *AUTH_ERRORS),
)
async def rotate_webhook_secret(endpoint_id: UUID, p: PrincipalDep, ctx: CtxDep) -> WebhookEndpointRead:
    return await events.rotate_secret(ctx, p, endpoint_id)


@router.post(
    "/webhook-endpoints/{endpoint_id}/replay",
    name="replay_webhook_events",
    response_model=WebhookEndpointRead,
    summary="Send one event (from_seq) or a range (from_seq..to_seq) again, in order, before new ones",
    responses=problem_responses(404, 409, *AUTH_ERRORS),
)
async def replay_webhook_events(
    endpoint_id: UUID, body: WebhookReplay, p: PrincipalDep, ctx: CtxDep
) -> WebhookEndpointRead:
    found = await events.replay(ctx, p, endpoint_id, body.from_seq, body.to_seq)
    _wake(ctx)
    return found


@router.get(
    "/webhook-endpoints/{endpoint_id}/attempts",
    name="list_webhook_attempts",
    response_model=WebhookAttemptPage,
    summary="The delivery log: every attempt of every event, newest first",
    responses=problem_responses(404, *AUTH_ERRORS),
)
async def list_webhook_attempts(
    endpoint_id: UUID,
    p: PrincipalDep,
    ctx: CtxDep,
    page_token: str | None = None,
    page_size: Annotated[int | None, Query(ge=1, le=500)] = None,
) -> WebhookAttemptPage:
    return await events.list_attempts(ctx, p, endpoint_id, page_token, page_size)
