"""API keys: stored as SHA-256 hashes and shown once; listed, revoked, rotated, expired, marked used."""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.changes import KeyAction, key_change
from domain.keys import ApiKey
from persistence import changes as change_log
from persistence.tables import ApiKeyRow, utcnow


@dataclass(frozen=True)
class KeyRecord:
    """What the per-request read answers (persistence/keyprobe.py)."""

    tenant_id: uuid.UUID
    scopes: frozenset[str]
    key_id: uuid.UUID
    ownership_version: int | None  # the tenant's change-log head; None when it could not be read
    expires_at: datetime | None = None  # the outage cache refuses the key from then on too


def hash_key(key: str) -> str:
    # API keys carry 256 bits of randomness, so a fast hash is safe; no password hashing is needed.
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return "te_" + secrets.token_urlsafe(32)


_COLUMNS = (
    ApiKeyRow.id,
    ApiKeyRow.tenant_id,
    ApiKeyRow.name,
    ApiKeyRow.prefix,
    ApiKeyRow.scopes,
    ApiKeyRow.created_at,
    ApiKeyRow.expires_at,
    ApiKeyRow.last_used_at,
    ApiKeyRow.revoked_at,
    ApiKeyRow.rotated_from,
)


def _key(row: Any) -> ApiKey:
    return ApiKey(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        prefix=row.prefix,
        scopes=frozenset(s for s in row.scopes.split(",") if s),
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
        rotated_from=row.rotated_from,
    )


def _insert(
    tenant_id: uuid.UUID,
    scopes: Iterable[str],
    name: str,
    expires_at: datetime | None,
    rotated_from: uuid.UUID | None = None,
    now: datetime | None = None,
) -> tuple[Any, uuid.UUID, str]:
    key = new_key()
    key_id = uuid.uuid4()
    values: dict[str, Any] = {
        "id": key_id,
        "tenant_id": tenant_id,
        "name": name,
        "prefix": key[:10],
        "key_hash": hash_key(key),
        "scopes": ",".join(sorted(set(scopes))),
        "created_at": now or utcnow(),
    }
    # the lifecycle columns only when set: a key is made the same way on a schema before 0021 (tests seed
    # tenants at older revisions)
    if expires_at is not None:
        values["expires_at"] = expires_at
    if rotated_from is not None:
        values["rotated_from"] = rotated_from
    statement = sa.insert(ApiKeyRow).values(**values)
    return statement, key_id, key


async def create_key(
    engine: AsyncEngine,
    tenant_id: uuid.UUID,
    scopes: Iterable[str],
    name: str = "default",
    expires_at: datetime | None = None,
    now: datetime | None = None,
    audit: bool = False,
) -> tuple[uuid.UUID, str]:
    """A new key of the tenant: its id and its secret (the only time the secret is known). `audit`: and a
    `key.created` change in the tenant's log, in the same transaction."""
    now = now or utcnow()
    statement, key_id, key = _insert(tenant_id, scopes, name, expires_at, now=now)
    async with engine.begin() as conn:
        await conn.execute(statement)
        if audit:
            change = key_change(key_id, now, KeyAction.CREATED, name, key[:10], scopes, expires_at)
            await change_log.append(conn, tenant_id, [change])
    return key_id, key


async def key_is_live(engine: AsyncEngine, tenant_id: uuid.UUID, key: str) -> bool:
    """Whether `key` is an unrevoked, unexpired key of the tenant (the demo reuses the key it printed
    before)."""
    async with engine.connect() as conn:
        found = await conn.execute(
            sa.select(ApiKeyRow.id).where(
                ApiKeyRow.tenant_id == tenant_id,
                ApiKeyRow.key_hash == hash_key(key),
                ApiKeyRow.revoked_at.is_(None),
                sa.or_(ApiKeyRow.expires_at.is_(None), ApiKeyRow.expires_at > utcnow()),
            )
        )
        return found.first() is not None


async def list_keys(
    engine: AsyncEngine, tenant_id: uuid.UUID, after: uuid.UUID | None, limit: int
) -> list[ApiKey]:
    """The tenant's keys in id order, after `after` (keyset pages)."""
    query = sa.select(*_COLUMNS).where(ApiKeyRow.tenant_id == tenant_id)
    if after is not None:
        query = query.where(ApiKeyRow.id > after)
    async with engine.connect() as conn:
        rows = await conn.execute(query.order_by(ApiKeyRow.id).limit(limit))
        return [_key(r) for r in rows]


async def get_key(
    engine: AsyncEngine, key_id: uuid.UUID, tenant_id: uuid.UUID | None = None
) -> ApiKey | None:
    """One key by id; with `tenant_id`, only that tenant's (another tenant's key is not found)."""
    query = sa.select(*_COLUMNS).where(ApiKeyRow.id == key_id)
    if tenant_id is not None:
        query = query.where(ApiKeyRow.tenant_id == tenant_id)
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
        return None if row is None else _key(row)


async def _locked_keys(conn: Any, tenant_id: uuid.UUID) -> list[ApiKey]:
    """The tenant's keys, locked on PostgreSQL until the transaction ends (two revocations at once cannot
    both see the other's key as the one left); SQLite has one writer at a time anyway."""
    query = sa.select(*_COLUMNS).where(ApiKeyRow.tenant_id == tenant_id).order_by(ApiKeyRow.id)
    return [_key(r) for r in await conn.execute(query.with_for_update())]


async def revoke_key(
    engine: AsyncEngine,
    key_id: uuid.UUID,
    tenant_id: uuid.UUID | None = None,
    check: Callable[[ApiKey, list[ApiKey]], None] | None = None,
    now: datetime | None = None,
    audit: bool = False,
) -> ApiKey | None:
    """Revoke a key now (None: no such key, of the tenant when `tenant_id` is given). `check(key, the
    tenant's keys)` may refuse it first, in the same transaction. Revoking a revoked key changes nothing.
    `audit`: and a `key.revoked` change in the tenant's log, in the same transaction."""
    async with engine.begin() as conn:
        owner = tenant_id
        if owner is None:
            owner = (
                await conn.execute(sa.select(ApiKeyRow.tenant_id).where(ApiKeyRow.id == key_id))
            ).scalar_one_or_none()
            if owner is None:
                return None
        keys = await _locked_keys(conn, owner)
        key = next((k for k in keys if k.id == key_id), None)
        if key is None:
            return None
        if key.revoked_at is not None:
            return key
        if check is not None:
            check(key, keys)
        when = now or utcnow()
        await conn.execute(sa.update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(revoked_at=when))
        if audit:
            change = key_change(
                key.id, when, KeyAction.REVOKED, key.name, key.prefix, key.scopes, key.expires_at
            )
            await change_log.append(conn, owner, [change])
    return dataclasses.replace(key, revoked_at=when)


async def rotate_key(
    engine: AsyncEngine,
    key_id: uuid.UUID,
    expiry: Callable[[ApiKey], tuple[datetime, datetime | None]],
    tenant_id: uuid.UUID | None = None,
    now: datetime | None = None,
    audit: bool = False,
) -> tuple[ApiKey, ApiKey, str] | None:
    """In one transaction: a new key with the old one's name and scopes, and the old one set to expire;
    `expiry(old)` (which may refuse) gives when the old key and the new one expire. The old key as it is
    now, the new key and its secret; None: no such key (of the tenant, when `tenant_id` is given).
    `audit`: and a `key.rotated` change (the new key's, naming the old) in the tenant's log."""
    async with engine.begin() as conn:
        query = sa.select(*_COLUMNS).where(ApiKeyRow.id == key_id)
        if tenant_id is not None:
            query = query.where(ApiKeyRow.tenant_id == tenant_id)
        row = (await conn.execute(query.with_for_update())).first()
        if row is None:
            return None
        old = _key(row)
        ends, successor_ends = expiry(old)
        await conn.execute(sa.update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(expires_at=ends))
        when = now or utcnow()
        statement, new_id, secret = _insert(old.tenant_id, old.scopes, old.name, successor_ends, old.id, when)
        await conn.execute(statement)
        created = (await conn.execute(sa.select(*_COLUMNS).where(ApiKeyRow.id == new_id))).one()
        if audit:
            change = key_change(
                new_id, when, KeyAction.ROTATED, old.name, secret[:10], old.scopes, successor_ends, old.id
            )
            await change_log.append(conn, old.tenant_id, [change])
    return dataclasses.replace(old, expires_at=ends), _key(created), secret


async def mark_used(engine: AsyncEngine, used: Mapping[uuid.UUID, datetime]) -> None:
    """In one transaction, every key used since the last write: last_used_at = when it was used (never moved
    back); one UPDATE a distinct time (the minutes of a write's batch: one or two)."""
    by_time: dict[datetime, list[uuid.UUID]] = {}
    for key_id, when in used.items():
        by_time.setdefault(when, []).append(key_id)
    if not by_time:
        return
    async with engine.begin() as conn:
        for when, ids in sorted(by_time.items()):
            await conn.execute(
                sa.update(ApiKeyRow)
                .where(
                    ApiKeyRow.id.in_(ids),
                    sa.or_(ApiKeyRow.last_used_at.is_(None), ApiKeyRow.last_used_at < when),
                )
                .values(last_used_at=when)
            )
