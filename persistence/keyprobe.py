"""The cheapest possible per-request read of an API key and its tenant's ownership version.

Every request reads both, so a lookup is never staler than the last commit on any worker.

- PostgreSQL: concurrent reads are coalesced. A request joins the batch of the next query to start; a
  query starts only after every request in its batch arrived, so its answer reflects every commit that
  finished before any of them arrived. Under load one round trip serves many requests.
- SQLite: a primary-key read on a plain sqlite3 connection used from the event loop's thread (WAL readers
  never block, and the read takes microseconds).

A revoked key, and one whose expires_at has passed, is not found (the same 401 as an unknown key). Each key
read is remembered, and `last_used_seconds` after the first use since the last write, one UPDATE writes
last_used_at for every key used meanwhile (persistence.keys.mark_used): the lookup itself never writes,
and last_used_at is at most that late (README, "Tenants and keys").

When PostgreSQL cannot be reached, a read raises `Unavailable` at once (connects time out after a second,
and for a second after a failure no new attempt is made), and `cached` answers what the last successful
read said of a key, for at most `cache_seconds`: that is how long a revoked key can live during an outage.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import logging
import sqlite3
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from domain.defaults import KEY_LAST_USED_SECONDS
from domain.errors import Unavailable
from persistence.db import asyncpg_dsn, is_sqlite
from persistence.keys import KeyRecord, hash_key, mark_used

log = logging.getLogger("territory")

_SELECT = (
    "SELECT k.key_hash, k.tenant_id, k.scopes, k.id, t.ownership_version, k.expires_at FROM api_keys k "
    "JOIN tenants t ON t.id = k.tenant_id WHERE k.revoked_at IS NULL AND (k.expires_at IS NULL OR "
)
# SQLite keeps datetimes as text, 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC (persistence.tables.UTCDateTime),
# which compares as text in time order: the probe passes now in that form
SQLITE_SQL = _SELECT + "k.expires_at > ?) AND k.key_hash = ?"
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"
PG_SQL = _SELECT + "k.expires_at > now()) AND k.key_hash = ANY($1::text[])"


MAX_CACHED = 10_000
RETRY_AFTER_FAILURE = 1.0


async def _keep(_conn: asyncpg.Connection) -> None:
    """Pool connections come back as they went: only SELECTs ran (asyncpg's default reset is a round trip
    of its own, SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL, after every read)."""


class KeyProbe:
    def __init__(
        self,
        url: str,
        cache_seconds: float = 60.0,
        engine: Any = None,
        last_used_seconds: float = KEY_LAST_USED_SECONDS,
    ):
        self.url = url
        self.cache_seconds = cache_seconds
        self.engine = engine  # writes last_used_at; None: not written
        self.last_used_seconds = last_used_seconds
        self._used: dict[uuid.UUID, float] = {}  # key -> its last read (epoch seconds) since the last write
        self._flush_at: asyncio.TimerHandle | None = None
        self._flushing: asyncio.Task[None] | None = None
        self._verified: dict[str, tuple[KeyRecord, float]] = {}  # digest -> (record, when read)
        self._down_until = 0.0
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        self._sqlite: sqlite3.Connection | None = None
        self._now_second = 0
        self._now_text = ""
        self._pending: dict[str, list[asyncio.Future]] = {}
        self._draining = False
        self.queries = 0

    async def read(self, key: str) -> KeyRecord | None:
        """The key's record with its tenant's log head, read now; None for an unknown or revoked key."""
        digest = hash_key(key)
        record = await self._read(digest)
        if record is None:
            self._verified.pop(digest, None)
        else:
            if len(self._verified) >= MAX_CACHED:
                self._verified.clear()
            self._verified[digest] = (record, time.monotonic())
            self._used[record.key_id] = time.time()
            if self._flush_at is None and self.engine is not None:
                loop = asyncio.get_running_loop()
                # in a context of its own: the write is not the request's (its actor, its statements)
                context = contextvars.Context()
                self._flush_at = loop.call_later(self.last_used_seconds, self._start_flush, context=context)
        return record

    def _start_flush(self) -> None:
        self._flush_at = None
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self.flush_used())

    async def flush_used(self) -> None:
        """Write last_used_at of every key read since the last write: the minute of its last read (never
        later than the use). A failure keeps them for the next write."""
        used, self._used = self._used, {}
        if not used or self.engine is None:
            return
        minutes = {
            key_id: datetime.fromtimestamp(when, UTC).replace(second=0, microsecond=0)
            for key_id, when in used.items()
        }
        try:
            await mark_used(self.engine, minutes)
        except Exception as exc:  # the database is busy or down: try again with the next batch
            log.warning("could not write last_used_at of %d keys: %s", len(used), exc)
            if len(self._used) < MAX_CACHED:
                self._used = used | self._used

    def cached(self, key: str) -> KeyRecord | None:
        """What the last successful read said of the key, if at most `cache_seconds` old, without the
        log head (it is not known)."""
        found = self._verified.get(hash_key(key))
        if found is None or time.monotonic() - found[1] > self.cache_seconds:
            return None
        expires_at = found[0].expires_at
        if expires_at is not None and expires_at <= datetime.now(UTC):
            return None
        return dataclasses.replace(found[0], ownership_version=None)

    async def _read(self, digest: str) -> KeyRecord | None:
        if is_sqlite(self.url):
            row = self._sqlite_conn().execute(SQLITE_SQL, (self._sqlite_now(), digest)).fetchone()
            self.queries += 1
            if row is None:
                return None
            expires = None if row[5] is None else datetime.fromisoformat(row[5]).replace(tzinfo=UTC)
            return KeyRecord(
                uuid.UUID(row[1]), frozenset(row[2].split(",")), uuid.UUID(row[3]), int(row[4]), expires
            )
        if time.monotonic() < self._down_until:
            raise Unavailable("the database cannot be reached")
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
                    rows = await pool.fetch(PG_SQL, list(batch))
                    self.queries += 1
                except Exception as exc:  # every waiter sees the failure
                    if not isinstance(exc, asyncpg.PostgresError) or isinstance(
                        exc, asyncpg.PostgresConnectionError | asyncpg.CannotConnectNowError
                    ):
                        self._down_until = time.monotonic() + RETRY_AFTER_FAILURE
                        exc = Unavailable(f"the database cannot be reached: {type(exc).__name__}")
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
                        r[5],
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

    def _sqlite_now(self) -> str:
        """Now as SQLite keeps times ('YYYY-MM-DD HH:MM:SS.ffffff', UTC); the date and time of day are
        formatted once a second (strftime per read cost more than the query)."""
        micros = time.time_ns() // 1000
        second, micro = divmod(micros, 1_000_000)
        if second != self._now_second:
            self._now_second = second
            self._now_text = datetime.fromtimestamp(second, UTC).strftime(SQLITE_TIME)[:19]
        return f"{self._now_text}.{micro:06d}"

    def _sqlite_conn(self) -> sqlite3.Connection:
        if self._sqlite is None:
            path = self.url.split(":///", 1)[1]
            self._sqlite = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        return self._sqlite

    async def _make_pool(self) -> asyncpg.Pool:
        async with self._pool_lock:
            if self._pool is None:
                dsn, options = asyncpg_dsn(self.url)
                self._pool = await asyncpg.create_pool(
                    dsn, min_size=1, max_size=2, timeout=1, command_timeout=2, reset=_keep, **options
                )
        return self._pool

    async def close(self) -> None:
        if self._flush_at is not None:
            self._flush_at.cancel()
            self._flush_at = None
        if self._flushing is not None and not self._flushing.done():
            await self._flushing
        await self.flush_used()  # what was read since the last write
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
