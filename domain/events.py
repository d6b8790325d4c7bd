"""Events other services hear of, made from the change log (docs/change-stream.md): which log entries are
events, their types and their ids, and when a failed webhook delivery is tried again."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID

from domain.defaults import WEBHOOK_RETRY_SECONDS

OWNERSHIP_CHANGED = "ownership.changed"
PLAN_ACTIVATED = "plan.activated"
OPERATION_SUCCEEDED = "operation.succeeded"
OPERATION_FAILED = "operation.failed"
OPERATION_CANCELLED = "operation.cancelled"
DISPUTE_OPENED = "dispute.opened"
DISPUTE_DECIDED = "dispute.decided"
DISPUTE_APPLIED = "dispute.applied"
KEY_CREATED = "key.created"
KEY_ROTATED = "key.rotated"
KEY_REVOKED = "key.revoked"
TYPES = (
    OWNERSHIP_CHANGED,
    PLAN_ACTIVATED,
    OPERATION_SUCCEEDED,
    OPERATION_FAILED,
    OPERATION_CANCELLED,
    DISPUTE_OPENED,
    DISPUTE_DECIDED,
    DISPUTE_APPLIED,
    KEY_CREATED,
    KEY_ROTATED,
    KEY_REVOKED,
)
# log kind -> the event types it can be; account, rep and territory edits are for lookups only
KINDS = {
    "owner": (OWNERSHIP_CHANGED,),
    "plan": (PLAN_ACTIVATED,),
    "operation": (OPERATION_SUCCEEDED, OPERATION_FAILED, OPERATION_CANCELLED),
    "dispute": (DISPUTE_OPENED, DISPUTE_DECIDED, DISPUTE_APPLIED),
    "key": (KEY_CREATED, KEY_ROTATED, KEY_REVOKED),
}


def event_type(kind: str, cause: str) -> str | None:
    """The event type of a log entry, or None when it is not an event."""
    if kind == "owner":
        return OWNERSHIP_CHANGED
    if kind == "plan":
        return PLAN_ACTIVATED
    if kind in ("operation", "dispute", "key"):
        return f"{kind}.{cause}" if f"{kind}.{cause}" in TYPES else None
    return None


def kinds_for(types: Sequence[str] | None) -> list[str]:
    """The log kinds that can hold events of these types (all event kinds when None)."""
    wanted = set(types or TYPES)
    return sorted(kind for kind, made in KINDS.items() if wanted & set(made))


def event_id(tenant_id: UUID, seq: int) -> str:
    """Stable across retries and replays: a receiver deduplicates on it (the webhook-id header)."""
    return f"evt_{tenant_id.hex}_{seq}"


def next_attempt(failed_at: datetime, attempts: int, scale: float = 1.0) -> datetime | None:
    """When to try again after `attempts` failed attempts, or None when the schedule is spent."""
    if attempts > len(WEBHOOK_RETRY_SECONDS):
        return None
    return failed_at + timedelta(seconds=WEBHOOK_RETRY_SECONDS[attempts - 1] * scale)
