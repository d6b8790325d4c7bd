"""Engines for SQLite (embedded default) and PostgreSQL, and migrations applied through Alembic."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import multiprocessing
import os
import threading
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

ALEMBIC_DIR = Path(__file__).resolve().parent.parent / "alembic"
DEFAULT_SQLITE_URL = "sqlite+aiosqlite:///./territory.db"
CONNECT_TIMEOUT_SECONDS = 5
T = TypeVar("T")

# what the api holds without importing SQLAlchemy itself: the engine and the session factory it makes
Engine = AsyncEngine
SessionFactory = async_sessionmaker


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    kwargs.setdefault("json_serializer", _dumps)
    kwargs.setdefault("json_deserializer", orjson.loads)
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    # an unreachable database fails a request in seconds (503), never holds it for asyncpg's default 60 s;
    # behind PgBouncer (prepared_statement_cache_size=0 on the URL) asyncpg must not name statements either:
    # named ones outlive the transaction on the pooled server connection and collide across processes
    _, options = asyncpg_dsn(url)
    kwargs.setdefault("connect_args", {"timeout": CONNECT_TIMEOUT_SECONDS, **options})
    return create_async_engine(url, pool_pre_ping=False, **kwargs)


def asyncpg_dsn(url: str) -> tuple[str, dict[str, Any]]:
    """A SQLAlchemy URL as a DSN for a raw asyncpg connection, and its connect options. Behind PgBouncer in
    transaction mode, put `?prepared_statement_cache_size=0` on the URL: SQLAlchemy then prepares nothing,
    and neither do the raw connections (statement_cache_size=0)."""
    parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://"))
    query = dict(parse_qsl(parts.query))
    options: dict[str, Any] = {}
    if query.pop("prepared_statement_cache_size", None) == "0":
        options["statement_cache_size"] = 0
    return urlunsplit(parts._replace(query=urlencode(query))), options


async def in_own_thread(url: str, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """`work(engine)` in a worker thread with its own event loop and its own engine on `url`, so that
    neither its queries nor its computing hold the caller's event loop (which goes on answering lookups)."""

    def in_thread() -> T:
        async def go() -> T:
            engine = make_engine(url)
            try:
                return await work(engine)
            finally:
                await engine.dispose()

        return asyncio.run(go())

    return await asyncio.to_thread(in_thread)


_processes: ProcessPoolExecutor | None = None


def _pool() -> ProcessPoolExecutor:
    global _processes
    if _processes is None:
        # spawn, not fork: the parent runs threads and an event loop, which a forked child would inherit
        # half-copied; one process, kept for the next build
        _processes = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_watch_parent,
            initargs=(os.getpid(),),
        )
        atexit.register(stop_own_processes)
    return _processes


def stop_own_processes() -> None:
    """End the build process and release what the pool holds (its queues' semaphores: a pool left to the
    interpreter's exit made the resource tracker report 5 leaked semaphores at every SIGTERM). A build
    under way is abandoned: its result would have gone to an index that is going away."""
    global _processes
    pool, _processes = _processes, None
    if pool is None:
        return
    for process in list(getattr(pool, "_processes", {}).values()):
        with contextlib.suppress(Exception):
            process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def _watch_parent(parent: int) -> None:
    """In the build process: leave as soon as the process that started it is gone. A parent that exits
    without shutting the pool down (killed, or its interpreter ending while a build runs) would otherwise
    leave it waiting for work forever, holding its memory."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _trim() -> None:
    """Give the memory freed by the last build back to the system (glibc keeps it for the process
    otherwise: the build process would hold its largest build's peak between builds)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _in_process(url: str, work: Callable[..., Awaitable[T]], args: tuple[Any, ...]) -> T:
    async def go() -> T:
        engine = make_engine(url)
        try:
            return await work(engine, *args)
        finally:
            await engine.dispose()

    _trim()  # what the previous result held once it was sent
    try:
        return asyncio.run(go())
    finally:
        _trim()


async def in_own_process(url: str, work: Callable[..., Awaitable[T]], *args: Any) -> T:
    """`work(engine, *args)` in another process with its own engine on `url`; its result comes back
    pickled. For CPU-bound reads whose every step holds the GIL (decoding and indexing a whole tenant):
    in a thread they still took the GIL from the event loop in 5 ms turns, and a lookup waiting for it
    at each of its socket operations took 100-400 ms. `work` must be importable by name (module level).
    A process that died (out of memory, killed) is replaced at the next call."""
    global _processes
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(_pool(), _in_process, url, work, args)
    except BrokenProcessPool:
        _processes = None
        raise


COPY_BATCH = 2_000


async def copy_records(
    conn: Any, table: str, records: Sequence[Any] | AsyncIterable[Sequence[Any]], columns: Sequence[str]
) -> None:
    """PostgreSQL COPY of `records` on `conn` (a SQLAlchemy connection, in its transaction), as one
    statement: a sequence, or an async iterable of chunks (made while the earlier ones stream, so the
    database ingests one while the next is made). asyncpg encodes records without yielding: 20,000 held
    the event loop for about 100 ms, so the loop is given back every COPY_BATCH records. One statement,
    not one per batch: 0.3-0.4 s less of 1.5 s for 100,000 change log rows. A broken rule (a unique
    index, a reference) is SQLAlchemy's IntegrityError, as from any other statement, so that a client
    gets its 409."""
    import asyncpg

    raw = (await conn.get_raw_connection()).driver_connection
    if conn.in_transaction() and not raw.is_in_transaction():
        # SQLAlchemy's asyncpg adapter sends BEGIN with the first statement it runs: a COPY first in the
        # transaction would go outside it (committed at once, and not undone by a rollback)
        await conn.execute(sa.text("SELECT 1"))
    chunks = records if isinstance(records, AsyncIterable) else _batches(records)

    async def rows() -> AsyncIterator[Any]:
        async for chunk in chunks:
            for start in range(0, len(chunk), COPY_BATCH):
                for record in chunk[start : start + COPY_BATCH]:
                    yield record
                await asyncio.sleep(0)

    try:
        await raw.copy_records_to_table(table, records=rows(), columns=list(columns))
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise IntegrityError(f"COPY {table}", None, exc) from exc


async def _batches(records: Sequence[Any]) -> AsyncIterator[Sequence[Any]]:
    yield records


def _uuid_hex(value: Any) -> Any:
    return None if value is None else value.hex


def sqlite_binder(type_: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """A value of `type_` as SQLAlchemy would bind it on SQLite, as one function, or None where the
    driver takes the value as it is (text, numbers, booleans, and the domain's enums: StrEnums, bound
    as their text). A type may give a faster one of its own (`sqlite_bind`, UTCDateTime's)."""
    fast = getattr(type_, "sqlite_bind", None)
    if fast is not None:
        return fast
    if isinstance(type_, sa.Uuid):
        return _uuid_hex
    if isinstance(type_, sa.Boolean):
        return None
    return type_.dialect_impl(dialect).bind_processor(dialect)


class RecordBinder:
    """Records' values through their columns' binders (`sqlite_binder`; None: taken as it is), in place. A
    value that is the same object as the record before's (the tenant, the plan, the time of a bulk write)
    is bound once."""

    def __init__(self, binders: Sequence[Callable[[Any], Any] | None]):
        self.bound = [(i, b) for i, b in enumerate(binders) if b is not None]
        self.last: list[Any] = [(object(), None)] * len(binders)

    def __call__(self, record: list[Any]) -> list[Any]:
        last = self.last
        for i, bind in self.bound:
            value = record[i]
            seen, out = last[i]
            if value is not seen:
                out = bind(value)
                last[i] = (value, out)
            record[i] = out
        return record


async def execute_records(conn: Any, table: str, records: Sequence[Any], columns: Sequence[str]) -> None:
    """SQLite: insert `records` (values as SQLite stores them: sqlite_binder) by one executemany on the
    connection, in its transaction. SQLAlchemy's own executemany spent about as long making the parameters
    of 100,000 assignments as SQLite spent writing them (docs/domain.md, "Boundaries and assignment by
    rules")."""
    import sqlite3

    quote = conn.dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join('?' * len(columns))})"
    )
    raw = (await conn.get_raw_connection()).driver_connection
    try:
        await raw.executemany(sql, records)
    except sqlite3.IntegrityError as exc:
        raise IntegrityError(sql, None, exc) from exc


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def _upgrade(sync_conn: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, revision)


def _downgrade(sync_conn: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = sync_conn
    command.downgrade(cfg, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_downgrade, revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def revisions_in_order() -> list[str]:
    """Revision ids from the first to the head."""
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


async def migration_state(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """The revision the database is at and the head this code expects (a database that cannot be reached
    raises)."""
    return await current_revision(engine), head_revision()


RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected (PostgreSQL)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, the driver's error it wraps (`orig`), and what caused each, once each."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = getattr(current, "orig", None) or current.__cause__


def is_retryable(exc: BaseException) -> bool:
    """Whether the database refused a transaction because another ran at the same time (a serialization
    failure or a deadlock): nothing was written, and the same request may succeed if sent again."""
    return any(getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES for cause in _causes(exc))


def is_busy(exc: BaseException) -> bool:
    """Whether SQLite's one write lock stayed taken past the busy timeout ("database is locked"): nothing
    was written, and the same write may pass a moment later."""
    import sqlite3

    return any(isinstance(c, sqlite3.OperationalError) and "locked" in str(c) for c in _causes(exc))


def is_unavailable(exc: BaseException) -> bool:
    """Whether an error means the database could not be reached (down, restarting, the connection lost),
    as opposed to a query it refused: the first is a 503 to retry, the second a bug or a conflict."""
    import socket

    import asyncpg
    from sqlalchemy.exc import DBAPIError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, OSError) and "connect" in str(current).lower():
            return True  # asyncpg's "Multiple exceptions: Connect call failed" when every address refused
        if isinstance(
            current,
            ConnectionError
            | TimeoutError
            | socket.gaierror
            | asyncpg.PostgresConnectionError
            | asyncpg.CannotConnectNowError
            | asyncpg.ConnectionDoesNotExistError
            | asyncpg.InterfaceError,
        ):
            return True
        current = current.__cause__ or current.__context__
    return False
