"""API key lifecycle rules: a key's status, when a rotated key stops working, and the last admin key."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from domain.errors import Code, Conflict
from domain.model import Scope


class KeyStatus(enum.StrEnum):
    ACTIVE = "active"  # no expiry, not revoked
    EXPIRING = "expiring"  # works until its expires_at (a rotated key in its overlap, or one made to expire)
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True)
class ApiKey:
    """A stored key without its secret (only its hash is kept, and never leaves persistence)."""

    id: UUID
    tenant_id: UUID
    name: str
    prefix: str  # the first characters of the secret, to recognise it
    scopes: frozenset[str]
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None  # to the minute: written in batches (persistence/keyprobe.py)
    revoked_at: datetime | None = None
    rotated_from: UUID | None = None  # the key this one replaced in a rotation


def key_status(expires_at: datetime | None, revoked_at: datetime | None, now: datetime) -> KeyStatus:
    if revoked_at is not None:
        return KeyStatus.REVOKED
    if expires_at is None:
        return KeyStatus.ACTIVE
    return KeyStatus.EXPIRING if expires_at > now else KeyStatus.EXPIRED


def is_live(key: ApiKey, now: datetime) -> bool:
    return key_status(key.expires_at, key.revoked_at, now) in (KeyStatus.ACTIVE, KeyStatus.EXPIRING)


def rotation_expiry(key: ApiKey, now: datetime, overlap_seconds: int) -> datetime:
    """When the rotated key stops working: now + the overlap, never later than the expiry it already had.
    A revoked or expired key cannot be rotated (there is nothing left to overlap)."""
    if not is_live(key, now):
        status = key_status(key.expires_at, key.revoked_at, now)
        raise Conflict(
            f"the key is {status.value}, so it cannot be rotated; create a new key", code=Code.KEY_STATE
        )
    ends = now + timedelta(seconds=overlap_seconds)
    return ends if key.expires_at is None else min(ends, key.expires_at)


def successor_expiry(key: ApiKey, now: datetime, max_days: int) -> datetime | None:
    """When the key that replaces `key` in a rotation at `now` expires: a key made to expire gives its
    successor the same lifetime (from created_at to expires_at), at most `max_days`; a key without an
    expiry, none."""
    if key.expires_at is None:
        return None
    return now + min(key.expires_at - key.created_at, timedelta(days=max_days))


def check_revocable(key: ApiKey, tenant_keys: Iterable[ApiKey], now: datetime) -> None:
    """A tenant keeps at least one live admin key: revoking the last one over the API would leave nobody able
    to manage keys (only `territory keys create` on the server could). Revoking any other key, the caller's
    own included, is allowed."""
    if Scope.ADMIN.value not in key.scopes or not is_live(key, now):
        return
    others = [k for k in tenant_keys if k.id != key.id and Scope.ADMIN.value in k.scopes and is_live(k, now)]
    if not others:
        raise Conflict(
            "this is the tenant's last live admin key: create another admin key before revoking it",
            code=Code.LAST_ADMIN_KEY,
        )
