"""Events for other services, from the change log (a transactional outbox: each event is the log entry its
change wrote, in the same transaction). Two ways out: the pull feed, and webhooks signed as the Standard
Webhooks specification says, delivered at least once, in log order per endpoint, retried on its schedule
(docs/change-stream.md)."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import httpx
from pydantic import BaseModel, Field

from api.services.common import Input, Page, check_version, not_null
from api.services.context import AppContext, Principal
from api.services.pagination import check_page_size, decode_cursor, encode_cursor
from domain import events as ev
from domain.defaults import (
    WEBHOOK_SECRET_OVERLAP_HOURS,
)
from domain.errors import Code, ConcurrentChange, Conflict, FieldError, NotFound, ValidationFailed
from domain.model import Scope
from domain.preconditions import Precondition

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
    enabled: bool | None = not_null(description="true resumes a disabled endpoint where it stopped")


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
    version: int = Field(
        description="of what a client sets (url, description, types, enabled, secret, a replay): one more "
        "with each change, delivery disabling it included; the delivery fields beside it are live state "
        "and move without it. The ETag names it and If-Match takes it"
    )
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


def _ref(found: dict[Any, Any], key: Any, **extra: Any) -> dict[str, Any] | None:
    if key is None:
        return None
    return {"id": key, **(found.get(key) or {}), **extra}


def render(tenant_id: uuid.UUID, row: Any, names: dict[str, dict[Any, Any]]) -> dict[str, Any] | None:
    """A log entry as an event (None when it is not one): {id, seq, type, timestamp, data}."""
    kind = ev.event_type(row.kind, row.cause)
    if kind is None:
        return None
    data: dict[str, Any] = {"seq": row.seq, "valid_from": row.valid_from, "actor": row.actor}
    if row.kind == "owner":
        account = names["accounts"].get(row.subject_id) or {}
        data |= {
            "account": {"id": row.subject_id, **account},
            "role": row.role,
            "plan_id": row.plan_id,
            "from": {
                "rep": _ref(names["reps"], row.from_rep_id),
                "territory": _ref(names["territories"], row.from_territory_id),
            },
            "to": {
                "rep": _ref(names["reps"], row.to_rep_id),
                "territory": _ref(names["territories"], row.to_territory_id),
            },
            "cause": row.cause,
            "reason": row.reason,
            "request_id": row.request_id,
        }
    elif row.kind == "plan":
        data["plan"] = _ref(names["plans"], row.subject_id)
    elif row.kind == "dispute":
        data |= {"dispute_id": row.subject_id, "state": row.cause, "reason": row.reason, **(row.data or {})}
    elif row.kind == "key":  # name, prefix, scopes, expires_at, rotated_from: never a secret
        data |= {"key_id": row.subject_id, **(row.data or {})}
    else:
        data |= {"operation_id": row.subject_id, "state": row.cause, "message": row.reason}
        data["error"] = (row.data or {}).get("error")
    return {
        "id": ev.event_id(tenant_id, row.seq),
        "seq": row.seq,
        "type": kind,
        "timestamp": row.recorded_at,
        "data": data,
    }


def _check_types(types: list[str] | None, field: str = "types") -> list[str]:
    unknown = [t for t in types or [] if t not in ev.TYPES]
    if unknown:
        raise ValidationFailed(
            "unknown event types",
            [
                FieldError(
                    field, Code.INVALID_CHOICE, f"one of {', '.join(ev.TYPES)}; not {', '.join(unknown)}"
                )
            ],
        )
    return list(dict.fromkeys(types or []))


def events_of(
    tenant_id: uuid.UUID, rows: list[Any], names: dict[str, dict[Any, Any]], types: list[str]
) -> list[dict[str, Any]]:
    """The entries that are events of these types (all when empty), rendered."""
    out = []
    for row in rows:
        event = render(tenant_id, row, names)
        if event is not None and (not types or event["type"] in types):
            out.append(event)
    return out


async def list_events(
    ctx: AppContext, p: Principal, after: int, types: list[str] | None, page_size: int | None
) -> EventPage:
    """The tenant's events after `after`, oldest first. `next_after` is the cursor to pass next time
    (it moves past entries that are not events, so a poll never reads them again)."""
    p.require(Scope.READ)
    wanted = _check_types(types)
    size = check_page_size(page_size)
    async with ctx.uow(p.tenant_id) as uow:
        head = await uow.events.head()
        rows, names = await uow.events.entries(after, size, ev.kinds_for(wanted or None), head)
    items = events_of(p.tenant_id, rows, names, wanted)
    more = len(rows) == size
    next_after = rows[-1].seq if more else max(after, head)
    return EventPage.model_validate(
        {"items": items, "next_after": next_after, "has_more": more, "head": head}
    )


# -- webhook endpoints --------------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _check_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.netloc) and url.isprintable()
        _ = parts.port  # raises on a port that is not a number
        _ = httpx.URL(url).host  # what delivery will send to: an invalid IDNA host raises here, not there
    except (ValueError, httpx.InvalidURL):  # "Invalid IPv6 URL", "Invalid IDNA hostname" and the like
        valid = False
    if not valid:
        raise ValidationFailed(
            "the url is not valid", [FieldError("url", Code.INVALID_URL, "an http:// or https:// URL")]
        )
    return url


def _present(row: Any, secret: str | None = None) -> WebhookEndpointRead:
    out = {
        k: getattr(row, k)
        for k in (
            "id",
            "url",
            "description",
            "types",
            "enabled",
            "disabled_reason",
            "delivered_seq",
            "attempts",
            "next_attempt_at",
            "replay_from",
            "replay_to",
            "created_at",
            "updated_at",
            "version",
        )
    }
    out["secret"] = secret  # shown once: when created or rotated
    return WebhookEndpointRead.model_validate(out)


async def _endpoint(uow: Any, endpoint_id: uuid.UUID) -> Any:
    row = await uow.events.get_endpoint(endpoint_id)
    if row is None:
        raise NotFound(f"webhook endpoint {endpoint_id} not found")
    return row


async def _changing(uow: Any, endpoint_id: uuid.UUID, precondition: Precondition | None) -> Any:
    """The endpoint a client's change is about, its precondition checked."""
    row = await _endpoint(uow, endpoint_id)
    await check_version(uow, precondition, row.version, "webhook endpoint")
    return row


async def _change(uow: Any, row: Any, **values: Any) -> None:
    """Write a client's change to the endpoint as read (`row`), one version up; refused if someone changed
    it in between."""
    if not await uow.events.change_endpoint(row.id, row.version, **values):
        raise ConcurrentChange.meanwhile("this webhook endpoint")


async def create_endpoint(
    ctx: AppContext, p: Principal, url: str, types: list[str] | None, description: str | None
) -> WebhookEndpointRead:
    """A new endpoint receives the events written from now on (use replay for older ones)."""
    p.require(Scope.ADMIN)
    now = ctx.clock.now()
    secret = new_secret()
    endpoint_id = uuid.uuid4()
    async with ctx.uow(p.tenant_id) as uow:
        await uow.events.add_endpoint(
            {
                "id": endpoint_id,
                "url": _check_url(url),
                "description": description,
                "types": _check_types(types),
                "secret": secret,
                "enabled": True,
                "delivered_seq": await uow.events.head(),
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            },
        )
        await uow.commit()
        return _present(await _endpoint(uow, endpoint_id), secret)


async def get_endpoint(ctx: AppContext, p: Principal, endpoint_id: uuid.UUID) -> WebhookEndpointRead:
    p.require(Scope.ADMIN)
    async with ctx.uow(p.tenant_id) as uow:
        return _present(await _endpoint(uow, endpoint_id))


async def list_endpoints(
    ctx: AppContext, p: Principal, page_token: str | None, page_size: int | None
) -> WebhookEndpointPage:
    p.require(Scope.ADMIN)
    size = check_page_size(page_size)
    after = decode_cursor(page_token, lambda d: uuid.UUID(d["after"]))
    async with ctx.uow(p.tenant_id) as uow:
        rows = await uow.events.list_endpoints(after, size + 1)
    items = [_present(r) for r in rows[:size]]
    token = encode_cursor(after=str(rows[size - 1].id)) if len(rows) > size else None
    return WebhookEndpointPage(items=items, next_page_token=token)


async def update_endpoint(
    ctx: AppContext,
    p: Principal,
    endpoint_id: uuid.UUID,
    changes: dict[str, Any],
    precondition: Precondition | None = None,
) -> WebhookEndpointRead:
    """Enabling a disabled endpoint resumes where it stopped: it gets every event it missed."""
    p.require(Scope.ADMIN)
    values = dict(changes)
    if "enabled" in values and values["enabled"] is None:
        raise ValidationFailed(
            "invalid fields", [FieldError("enabled", Code.NULL_NOT_ALLOWED, "enabled cannot be null")]
        )
    if "url" in values:
        _check_url(values["url"])
    if "types" in values:
        values["types"] = _check_types(values["types"])
    if values.get("enabled") is True:
        values |= {"disabled_reason": None, "attempts": 0, "next_attempt_at": None}
    async with ctx.uow(p.tenant_id) as uow:
        row = await _changing(uow, endpoint_id, precondition)
        await _change(uow, row, updated_at=ctx.clock.now(), **values)
        await uow.commit()
        return _present(await _endpoint(uow, endpoint_id))


async def delete_endpoint(
    ctx: AppContext, p: Principal, endpoint_id: uuid.UUID, precondition: Precondition | None = None
) -> None:
    p.require(Scope.ADMIN)
    async with ctx.uow(p.tenant_id) as uow:
        row = await _changing(uow, endpoint_id, precondition)
        if not await uow.events.delete_endpoint(endpoint_id, row.version):
            raise ConcurrentChange.meanwhile("this webhook endpoint")
        await uow.commit()


async def rotate_secret(ctx: AppContext, p: Principal, endpoint_id: uuid.UUID) -> WebhookEndpointRead:
    """A new secret, shown once; the old one signs too for the overlap, so receivers can switch."""
    p.require(Scope.ADMIN)
    now = ctx.clock.now()
    secret = new_secret()
    async with ctx.uow(p.tenant_id) as uow:
        row = await _endpoint(uow, endpoint_id)
        await _change(
            uow,
            row,
            secret=secret,
            previous_secret=row.secret,
            previous_until=now + timedelta(hours=WEBHOOK_SECRET_OVERLAP_HOURS),
            updated_at=now,
        )
        await uow.commit()
        return _present(await _endpoint(uow, endpoint_id), secret)


async def replay(
    ctx: AppContext, p: Principal, endpoint_id: uuid.UUID, from_seq: int, to_seq: int | None
) -> WebhookEndpointRead:
    """Send the endpoint's events in [from_seq, to_seq] again (one event: the same seq twice), in order,
    with their original webhook-ids, before anything new."""
    p.require(Scope.ADMIN)
    to_seq = from_seq if to_seq is None else to_seq
    if from_seq < 1 or to_seq < from_seq:
        raise ValidationFailed(
            "the range is empty",
            [FieldError("to_seq", Code.BAD_RANGE, "from_seq >= 1 and to_seq >= from_seq")],
        )
    async with ctx.uow(p.tenant_id) as uow:
        row = await _endpoint(uow, endpoint_id)
        if row.replay_from is not None:
            raise Conflict("a replay of this endpoint is still running", code=Code.REPLAY_RUNNING)
        head = await uow.events.head()
        await _change(
            uow,
            row,
            replay_from=from_seq,
            replay_to=min(to_seq, head),
            updated_at=ctx.clock.now(),
        )
        await uow.commit()
        return _present(await _endpoint(uow, endpoint_id))


async def list_attempts(
    ctx: AppContext, p: Principal, endpoint_id: uuid.UUID, page_token: str | None, page_size: int | None
) -> WebhookAttemptPage:
    """The delivery log: every attempt, newest first."""
    p.require(Scope.ADMIN)
    size = check_page_size(page_size)
    before = decode_cursor(page_token, lambda d: (int(d["seq"]), int(d["attempt"])))
    async with ctx.uow(p.tenant_id) as uow:
        await _endpoint(uow, endpoint_id)
        rows = await uow.events.attempts(endpoint_id, before, size + 1)
    items = [dict(r._mapping) for r in rows[:size]]
    last = rows[size - 1] if len(rows) > size else None
    token = encode_cursor(seq=str(last.seq), attempt=str(last.attempt)) if last is not None else None
    return WebhookAttemptPage.model_validate({"items": items, "next_page_token": token})
