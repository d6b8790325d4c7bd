"""The cheapest possible per-request read of an API key and its tenant's ownership version.

Every request reads both, so a lookup is never staler than the last commit on any worker. On PostgreSQL
it is one prepared statement on a small raw asyncpg pool; on SQLite a primary-key read on a plain sqlite3
connection used from the event loop's thread (WAL readers never block, and the read takes microseconds).
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid

import asyncpg

from persistence.db import is_sqlite
from persistence.tenants import KeyRecord, hash_key

SQL = (
    "SELECT k.tenant_id, k.scopes, k.id, t.ownership_version FROM api_keys k "
    "JOIN tenants t ON t.id = k.tenant_id WHERE k.key_hash = {p} AND k.revoked_at IS NULL"
)


class KeyProbe:
    def __init__(self, url: str):
        self.url = url
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        self._sqlite: sqlite3.Connection | None = None

    async def read(self, key: str) -> KeyRecord | None:
        digest = hash_key(key)
        if is_sqlite(self.url):
            row = self._sqlite_conn().execute(SQL.format(p="?"), (digest,)).fetchone()
            if row is None:
                return None
            return KeyRecord(uuid.UUID(row[0]), frozenset(row[1].split(",")), uuid.UUID(row[2]), int(row[3]))
        pool = self._pool or await self._make_pool()
        row = await pool.fetchrow(SQL.format(p="$1"), digest)
        if row is None:
            return None
        return KeyRecord(
            uuid.UUID(bytes=row[0].bytes),
            frozenset(row[1].split(",")),
            uuid.UUID(bytes=row[2].bytes),
            int(row[3]),
        )

    def _sqlite_conn(self) -> sqlite3.Connection:
        if self._sqlite is None:
            path = self.url.split(":///", 1)[1]
            self._sqlite = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        return self._sqlite

    async def _make_pool(self) -> asyncpg.Pool:
        async with self._pool_lock:
            if self._pool is None:
                dsn = self.url.replace("postgresql+asyncpg://", "postgresql://")
                self._pool = await asyncpg.create_pool(dsn, min_size=1, max_size=8)
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
