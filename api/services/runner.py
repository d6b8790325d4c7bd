"""Long-running operations (issue 5): work too large for one request, such as optimising a large book.

Starting one writes its row (`queued`) and returns at once (REST: 202 with the operation). A worker (a
`territory worker` process, or the one inside an API process) takes it from the table and runs it as a
task: the CPU-heavy part in a thread, so the event loop keeps answering ownership lookups. Every second it
writes the progress and a heartbeat, and reads whether anyone (on any worker) asked to cancel. A row whose
heartbeat stops (its worker died, or no worker took it) reads as `failed` with `operation_lost`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar
from uuid import UUID

from api.services.context import AppContext, Principal, worker_name
from domain.changes import Change, ChangeKind
from domain.defaults import IDEMPOTENCY_HOURS
from domain.errors import Code, DomainError
from domain.model import (
    Scope,
)
from domain.optimiser import Cancelled
from persistence import idempotency as idempotency_keys
from persistence import operations as store
from persistence.changes import ACTOR
from persistence.db import in_own_thread, is_busy, is_retryable, make_session_factory

log = logging.getLogger("territory.operations")


class _Flight:
    def __init__(self) -> None:
        self.current: asyncio.Future | None = None
        self.next: asyncio.Future | None = None


async def coalesced(flights: dict[Any, Any], key: Any, run: Callable[[], Awaitable[T]]) -> T:
    """Single flight that never answers stale: a call while a run for `key` is in flight (in this process)
    joins the next run, which starts when the current one ends, so its answer reflects everything written
    before the call. N concurrent calls make at most two runs. A caller that goes away does not stop the
    run the others wait for."""
    flight = flights.setdefault(key, _Flight())

    def finished(task: asyncio.Future) -> None:
        if flight.current is task:
            flight.current, flight.next = flight.next, None
            if flight.current is None:
                flights.pop(key, None)

    if flight.current is None:
        task = flight.current = asyncio.ensure_future(run())
        task.add_done_callback(finished)
    elif flight.next is None:
        ahead = flight.current

        async def after() -> T:
            await asyncio.wait({ahead})
            return await run()

        task = flight.next = asyncio.ensure_future(after())
        task.add_done_callback(finished)
    else:
        task = flight.next
    return await asyncio.shield(task)


QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"


UNFINISHED = [QUEUED, RUNNING]


T = TypeVar("T")


HEARTBEAT_SECONDS = 1.0


LOST_AFTER_SECONDS = 60.0


class Reporter:
    """Handed to the work: `progress` may be called from any thread; `should_stop` says a cancel came."""

    def __init__(self) -> None:
        self.fraction = 0.0
        self.message = "queued"
        self.stop = threading.Event()

    def progress(self, fraction: float, message: str) -> None:
        self.fraction, self.message = max(self.fraction, min(fraction, 1.0)), message

    def should_stop(self) -> bool:
        return self.stop.is_set()


# kind -> the use case that runs it: (context, caller, subject id, request, reporter) -> result
Handler = Callable[[AppContext, Principal, UUID | None, dict[str, Any], Reporter], Awaitable[dict[str, Any]]]


HANDLERS: dict[str, Handler] = {}


def handles(kind: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[kind] = handler
        return handler

    return register


PURGE_SECONDS = (
    600.0  # how often a runner forgets expired idempotency keys (every process may: it is a delete)
)


async def _purge_idempotency_keys(ctx: AppContext) -> None:
    expired_before = ctx.clock.now() - timedelta(hours=IDEMPOTENCY_HOURS)
    try:
        gone = await idempotency_keys.purge_expired(ctx.engine, expired_before)
    except Exception as exc:  # the database is away: the next turn tries again
        log.warning("operations: cannot purge idempotency keys: %r", exc)
        return
    if gone:
        log.info("forgot %d expired idempotency keys", gone)


class Runner:
    """Runs operations in this process: takes queued ones from the table (any worker process may take
    any operation; FOR UPDATE SKIP LOCKED keeps them apart) and drives them, `concurrency` at a time."""

    def __init__(self, concurrency: int = 1, poll_seconds: float = 1.0) -> None:
        self.tasks: dict[UUID, asyncio.Task[None]] = {}
        self.reporters: dict[UUID, Reporter] = {}
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.wake = asyncio.Event()
        self.name = worker_name()

    async def run(self, ctx: AppContext) -> None:
        purged = 0.0
        while True:
            if time.monotonic() - purged > PURGE_SECONDS:
                purged = time.monotonic()
                await _purge_idempotency_keys(ctx)
            if len(self.tasks) < self.concurrency:
                try:
                    row = await store.claim_queued(ctx.engine, self.name, ctx.clock.now())
                except Exception as exc:  # the database is away: wait and try again
                    log.warning("operations: cannot claim: %r", exc)
                    row = None
                if row is not None:
                    self._drive(ctx, row)
                    continue
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.poll_seconds)

    def _drive(self, ctx: AppContext, row: Any) -> None:
        reporter = Reporter()
        self.reporters[row.id] = reporter
        task = asyncio.create_task(_drive(ctx, row, reporter))
        self.tasks[row.id] = task

        def forget(_: Any) -> None:
            self.tasks.pop(row.id, None)
            self.reporters.pop(row.id, None)
            self.wake.set()

        task.add_done_callback(forget)

    async def close(self) -> None:
        """On shutdown: ask every running operation to stop, and wait for them to record it."""
        for reporter in self.reporters.values():
            reporter.stop.set()
        if self.tasks:
            await asyncio.wait(list(self.tasks.values()), timeout=30)


async def start(
    ctx: AppContext, p: Principal, kind: str, subject_id: UUID | None, request: dict[str, Any]
) -> UUID:
    """Queue an operation for a worker (this process's, if it runs one, is woken at once); its id (read it
    with `api.services.operations.get_operation`)."""
    now = ctx.clock.now()
    op_id = uuid.uuid4()
    row = {
        "id": op_id,
        "kind": kind,
        "state": QUEUED,
        "progress": 0.0,
        "message": "queued",
        "subject_id": subject_id,
        "request": request,
        "cancel_requested": False,
        "actor": str(p.key_id) if p.key_id else ACTOR.get(),
        "created_at": now,
        "heartbeat_at": now,
    }
    async with ctx.uow(p.tenant_id) as uow:
        await uow.operations.add(row)
        await uow.commit()
    if ctx.operations is not None:
        ctx.operations.wake.set()
    return op_id


async def _drive(ctx: AppContext, row: Any, reporter: Reporter) -> None:
    tenant_id, op_id = row.tenant_id, row.id
    ACTOR.set(row.actor)  # the changes it makes are recorded as the starting key's
    key_id = None
    with contextlib.suppress(TypeError, ValueError):
        key_id = UUID(row.actor)
    p = Principal(tenant_id, frozenset({Scope.READ.value, Scope.WRITE.value}), key_id)  # as start checked
    beat = asyncio.create_task(_heartbeat(ctx, tenant_id, op_id, reporter))
    final: dict[str, Any]
    try:
        handler = HANDLERS.get(row.kind)
        if handler is None:
            raise DomainError(f"no worker here runs operations of kind {row.kind!r}", code=Code.UNKNOWN_KIND)
        result = await handler(ctx, p, row.subject_id, dict(row.request or {}), reporter)
        final = {"state": SUCCEEDED, "progress": 1.0, "message": "done", "result": result}
    except Cancelled:
        final = {"state": CANCELLED, "message": "cancelled; nothing was kept"}
    except asyncio.CancelledError:
        final = {"state": CANCELLED, "message": "cancelled: the service stopped; nothing was kept"}
    except DomainError as exc:
        final = {
            "state": FAILED,
            "message": exc.detail,
            "error": {"code": exc.code, "detail": exc.detail, "errors": [e.as_dict() for e in exc.errors]},
        }
    except Exception:  # recorded on the operation: the caller polls, nobody else would see it
        log.exception("operation %s failed", op_id)
        final = {
            "state": FAILED,
            "message": "internal error",
            "error": {"code": Code.INTERNAL_ERROR, "detail": "the operation failed; the service logged why"},
        }
    finally:
        beat.cancel()
    if final["state"] != SUCCEEDED:
        final["progress"] = reporter.fraction
    when = ctx.clock.now()
    event = Change(
        ChangeKind.OPERATION,
        op_id,
        when,
        cause=final["state"],
        reason=final["message"],
        data={"state": final["state"], "error": final.get("error")},
    )
    await _record_end(ctx, tenant_id, op_id, event, when, final)


# how many times the end of an operation is written before giving up, waiting 1, 2, 4 ... 16 s between
END_ATTEMPTS = 8


async def _record_end(
    ctx: AppContext, tenant_id: UUID, op_id: UUID, event: Change, when: Any, final: dict[str, Any]
) -> None:
    """Write how the operation ended. The work itself has committed (or not) already: a write that
    fails because another transaction held the database (SQLite's one write lock past its timeout, a
    PostgreSQL serialization failure) is tried again, so that a finished run never reads as lost."""
    for attempt in range(END_ATTEMPTS):
        try:
            await store.update(
                ctx.engine, tenant_id, op_id, [event], finished_at=when, heartbeat_at=when, **final
            )
            return
        except Exception as exc:
            if attempt == END_ATTEMPTS - 1 or not (is_busy(exc) or is_retryable(exc)):
                raise
            log.warning("operation %s: its end could not be written yet (%s); trying again", op_id, exc)
            await asyncio.sleep(min(2.0**attempt, 16.0))


async def _heartbeat(ctx: AppContext, tenant_id: UUID, op_id: UUID, reporter: Reporter) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        try:
            await store.update(
                ctx.engine,
                tenant_id,
                op_id,
                progress=reporter.fraction,
                message=reporter.message[:500],
                heartbeat_at=ctx.clock.now(),
            )
            if await store.cancel_requested(ctx.engine, tenant_id, op_id):
                reporter.stop.set()
        except asyncio.CancelledError:
            raise
        except Exception:  # a missed beat is not fatal; the next one may pass
            log.warning("operation %s: heartbeat failed", op_id, exc_info=True)


async def off_the_loop(ctx: AppContext, use_case: Callable[[AppContext], Awaitable[T]]) -> T:
    """Run a use case in a worker thread with its own event loop and its own engine, so that neither its
    computing nor its handling of a large book's rows (reading 1M rows, writing the moves, the equity
    before and after) ever holds this worker's event loop, which keeps answering ownership lookups."""

    def run(engine: Any) -> Awaitable[T]:
        return use_case(AppContext(engine, make_session_factory(engine), clock=ctx.clock))

    return await in_own_thread(ctx.engine.url.render_as_string(hide_password=False), run)


def present(ctx: AppContext, row: Any) -> dict[str, Any]:
    """A stored operation as the caller sees it (`api.services.operations.OperationRead` validates it)."""
    out = dict(row._mapping)
    beat = out.get("heartbeat_at")
    lost = beat is not None and ctx.clock.now() - beat > timedelta(seconds=LOST_AFTER_SECONDS)
    if out["state"] in UNFINISHED and lost:
        detail = (
            "no worker took it; is a 'territory worker' running? start it again"
            if out["state"] == QUEUED
            else "the worker running it stopped (no heartbeat); start it again"
        )
        out["state"] = FAILED
        out["error"] = {"code": Code.OPERATION_LOST, "detail": detail, "errors": []}
    return out
