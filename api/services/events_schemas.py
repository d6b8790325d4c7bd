"""Request and response models of events and webhook endpoints (REST and GraphQL share them)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from api.services.common import Input, Page
from domain import events as ev

MAX_SEQ = 2**63 - 1  # seqs are 64-bit (change_log.seq)
URL_PATTERN = r"^https?://[^/\s]+"  # the contract says what create_endpoint checks
EventType = StrEnum("EventType", {t.replace(".", "_").upper(): t for t in ev.TYPES})  # type: ignore[misc]


class EventRead(BaseModel):
    id: str = Field(description="stable across retries and replays; the webhook-id header")
    seq: int = Field(description="the event's position in the tenant's change log")
    type: EventType
    timestamp: datetime = Field(description="when the change was recorded")
    data: dict[str, Any] = Field(
        description="ownership.changed: account, role, plan_id, from/to {rep, territory}, cause, reason, "
        "valid_from, actor, request_id; plan.activated: plan; "
        "operation.*: operation_id, state, message, error"
    )


class EventPage(BaseModel):
    items: list[EventRead]
    next_after: int = Field(
        description="pass as `after` next time; it moves past entries that are not events"
    )
    has_more: bool
    head: int = Field(description="the tenant's change-log head when this page was read")


class WebhookEndpointCreate(Input):
    url: str = Field(min_length=1, max_length=2000, pattern=URL_PATTERN, description="http:// or https://")
    types: list[EventType] | None = Field(None, description="the event types to send; none: every type")
    description: str | None = Field(None, max_length=500)


class WebhookEndpointUpdate(Input):
    url: str | None = Field(None, min_length=1, max_length=2000, pattern=URL_PATTERN)
    types: list[EventType] | None = None
    description: str | None = Field(None, max_length=500)
    enabled: bool | None = Field(None, description="true resumes a disabled endpoint where it stopped")


class WebhookEndpointRead(BaseModel):
    id: UUID
    url: str
    description: str | None
    types: list[str]
    enabled: bool
    disabled_reason: str | None
    delivered_seq: int = Field(description="every event up to this seq was delivered")
    attempts: int = Field(description="failed attempts at the next event")
    next_attempt_at: datetime | None
    replay_from: int | None
    replay_to: int | None
    created_at: datetime
    updated_at: datetime
    secret: str | None = Field(
        None, description="whsec_...: shown once, when the endpoint is created or its secret rotated"
    )


class WebhookEndpointPage(Page[WebhookEndpointRead]):
    """A page of webhook endpoints, in id order."""


class WebhookReplay(Input):
    from_seq: int = Field(ge=1, le=MAX_SEQ)
    to_seq: int | None = Field(None, ge=1, le=MAX_SEQ, description="default: from_seq (one event)")


class WebhookAttemptRead(BaseModel):
    seq: int
    attempt: int
    event_id: str
    event_type: str
    status_code: int | None
    error: str | None
    duration_ms: float
    at: datetime
    worker: str | None


class WebhookAttemptPage(Page[WebhookAttemptRead]):
    """A page of delivery attempts, newest first."""
