"""The cheapest possible per-request read of an API key and its tenant's ownership version.

Every request reads both, so a lookup is never staler than the last commit on any worker.

- PostgreSQL: concurrent reads are coalesced. A request joins the batch of the next query to start; a
  query starts only after every request in its batch arrived, so its answer reflects every commit that
  finished before any of them arrived. Under load one round trip serves many requests.
- SQLite: a primary-key read on a plain sqlite3 connection used from the event loop's thread (WAL readers
  never block, and the read takes microseconds).
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid

import asyncpg

from persistence.db import is_sqlite
from persistence.tenants import KeyRecord, hash_key

SQL = (
    "SELECT k.key_hash, k.tenant_id, k.scopes, k.id, t.ownership_version FROM api_keys k "
    "JOIN tenants t ON t.id = k.tenant_id WHERE k.revoked_at IS NULL AND "
)


class KeyProbe:
    def __init__(self, url: str):
        self.url = url
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        self._sqlite: sqlite3.Connection | None = None
        self._pending: dict[str, list[asyncio.Future]] = {}
        self._draining = False
        self.queries = 0

    async def read(self, key: str) -> KeyRecord | None:
        digest = hash_key(key)
        if is_sqlite(self.url):
            row = self._sqlite_conn().execute(SQL + "k.key_hash = ?", (digest,)).fetchone()
            self.queries += 1
            if row is None:
                return None
            return KeyRecord(uuid.UUID(row[1]), frozenset(row[2].split(",")), uuid.UUID(row[3]), int(row[4]))
        future = asyncio.get_running_loop().create_future()
        self._pending.setdefault(digest, []).append(future)
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, {}
                try:
                    pool = self._pool or await self._make_pool()
                    rows = await pool.fetch(SQL + "k.key_hash = ANY($1::text[])", list(batch))
                    self.queries += 1
                except Exception as exc:  # every waiter sees the failure
                    for futures in batch.values():
                        for f in futures:
                            if not f.done():
                                f.set_exception(exc)
                    continue
                found = {
                    r[0]: KeyRecord(
                        uuid.UUID(bytes=r[1].bytes),
                        frozenset(r[2].split(",")),
                        uuid.UUID(bytes=r[3].bytes),
                        int(r[4]),
                    )
                    for r in rows
                }
                for digest, futures in batch.items():
                    for f in futures:
                        if not f.done():
                            f.set_result(found.get(digest))
        finally:
            self._draining = False
            if self._pending:  # arrived after the last loop check
                self._draining = True
                asyncio.get_running_loop().create_task(self._drain())

    def _sqlite_conn(self) -> sqlite3.Connection:
        if self._sqlite is None:
            path = self.url.split(":///", 1)[1]
            self._sqlite = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        return self._sqlite

    async def _make_pool(self) -> asyncpg.Pool:
        async with self._pool_lock:
            if self._pool is None:
                dsn = self.url.replace("postgresql+asyncpg://", "postgresql://")
                self._pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
