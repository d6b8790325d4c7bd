"""Idempotency keys in SQL: claim a key for a request (one claimant wins, on every process and host: the
primary key decides), read what a key answered, store an answer, release a claim."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from persistence.stores import Store
from persistence.tables import IdempotencyRow

KEYS = IdempotencyRow.__table__
K = KEYS.c


class IdempotencyStore(Store):
    """The tenant's idempotency keys (`uow.idempotency`); each call commits its own small change."""

    def _where(self, key: str) -> Any:
        return sa.and_(K.tenant_id == self.tenant_id, K.key == key)

    async def claim(
        self, key: str, fingerprint: str, now: datetime, expired_before: datetime, abandoned_before: datetime
    ) -> Any | None:
        """Take the key for this request; None when taken (or when the key's stored answer has expired, or
        its request claimed it before `abandoned_before` and never answered, and this request took it
        over). Otherwise the row already there: its fingerprint and its answer, or no status while its
        request runs."""
        conn = await self.connection()
        gone = sa.or_(
            K.created_at < expired_before, sa.and_(K.status_code.is_(None), K.created_at < abandoned_before)
        )
        await conn.execute(sa.delete(KEYS).where(self._where(key), gone))
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        row = {"tenant_id": self.tenant_id, "key": key, "fingerprint": fingerprint, "created_at": now}
        taken = await conn.execute(insert(KEYS).values(**row).on_conflict_do_nothing())
        found = None
        if not taken.rowcount:
            found = (await conn.execute(sa.select(KEYS).where(self._where(key)))).first()
        await self.uow.commit()
        return found

    async def answer(
        self, key: str, status: int, content_type: str | None, location: str | None, body: bytes
    ) -> None:
        conn = await self.connection()
        values = {"status_code": status, "content_type": content_type, "location": location, "body": body}
        await conn.execute(sa.update(KEYS).where(self._where(key)).values(**values))
        await self.uow.commit()

    async def release(self, key: str) -> None:
        """Forget a claim whose request stored nothing (it failed validation or the server): a retry runs."""
        conn = await self.connection()
        await conn.execute(sa.delete(KEYS).where(self._where(key), K.status_code.is_(None)))
        await self.uow.commit()


async def purge_expired(engine: Any, expired_before: datetime) -> int:
    """Forget every tenant's keys whose answers have expired (the runner calls it now and then; the index
    on created_at keeps it a range delete)."""
    async with engine.begin() as conn:
        result = await conn.execute(sa.delete(KEYS).where(K.created_at < expired_before))
    return int(result.rowcount or 0)
