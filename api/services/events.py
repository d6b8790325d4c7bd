"""Events for other services, from the change log (a transactional outbox: each event is the log entry its
change wrote, in the same transaction). Two ways out: the pull feed, and webhooks signed as the Standard
Webhooks specification says, delivered at least once, in log order per endpoint, retried on its schedule
(docs/change-stream.md)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import math
import secrets
import time
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from standardwebhooks import Webhook

from api.services.context import AppContext, Principal, worker_name
from api.services.pagination import check_page_size, decode_cursor, encode_cursor
from domain import events as ev
from domain.defaults import (
    WEBHOOK_BATCH,
    WEBHOOK_RETRY_SECONDS,
    WEBHOOK_SECRET_OVERLAP_HOURS,
    WEBHOOK_TIMEOUT_SECONDS,
)
from domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from domain.model import Scope
from persistence import changes as change_log
from persistence import events as store
from persistence.changes import listen

log = logging.getLogger("territory.events")
LEASE_SECONDS = 60.0
FLUSH_EVENTS, FLUSH_SECONDS = 50, 0.5  # delivered events are written down at least this often


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
            [FieldError(field, "invalid_choice", f"one of {', '.join(ev.TYPES)}; not {', '.join(unknown)}")],
        )
    return list(dict.fromkeys(types or []))


async def _events(
    db: Any, tenant_id: uuid.UUID, after: int, limit: int, types: list[str], upto: int | None = None
) -> tuple[list[dict[str, Any]], list[Any]]:
    rows = await change_log.read_after(db, tenant_id, after, limit, ev.kinds_for(types or None), upto)
    names = await store.names(db, tenant_id, rows)
    out = []
    for row in rows:
        event = render(tenant_id, row, names)
        if event is not None and (not types or event["type"] in types):
            out.append(event)
    return out, rows


async def list_events(
    ctx: AppContext, p: Principal, after: int, types: list[str] | None, page_size: int | None
) -> dict[str, Any]:
    """The tenant's events after `after`, oldest first. `next_after` is the cursor to pass next time
    (it moves past entries that are not events, so a poll never reads them again)."""
    p.require(Scope.READ)
    wanted = _check_types(types)
    size = check_page_size(page_size)
    async with ctx.engine.connect() as conn:
        head = await change_log.head(conn, p.tenant_id)
        items, rows = await _events(conn, p.tenant_id, after, size, wanted, head)
    more = len(rows) == size
    next_after = rows[-1].seq if more else max(after, head)
    return {"items": items, "next_after": next_after, "has_more": more, "head": head}


# -- webhook endpoints --------------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _check_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.netloc)
        _ = parts.port  # raises on a port that is not a number
    except ValueError:  # "Invalid IPv6 URL" and the like
        valid = False
    if not valid:
        raise ValidationFailed(
            "the url is not valid", [FieldError("url", "invalid_url", "an http:// or https:// URL")]
        )
    return url


def _present(row: Any, secret: str | None = None) -> dict[str, Any]:
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
        )
    }
    out["secret"] = secret  # shown once: when created or rotated
    return out


async def _endpoint(conn: Any, p: Principal, endpoint_id: uuid.UUID) -> Any:
    row = await store.get_endpoint(conn, p.tenant_id, endpoint_id)
    if row is None:
        raise NotFound(f"webhook endpoint {endpoint_id} not found")
    return row


async def create_endpoint(
    ctx: AppContext, p: Principal, url: str, types: list[str] | None, description: str | None
) -> dict[str, Any]:
    """A new endpoint receives the events written from now on (use replay for older ones)."""
    p.require(Scope.ADMIN)
    now = ctx.clock.now()
    secret = new_secret()
    endpoint_id = uuid.uuid4()
    async with ctx.engine.begin() as conn:
        await store.add_endpoint(
            conn,
            {
                "tenant_id": p.tenant_id,
                "id": endpoint_id,
                "url": _check_url(url),
                "description": description,
                "types": _check_types(types),
                "secret": secret,
                "enabled": True,
                "delivered_seq": await change_log.head(conn, p.tenant_id),
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            },
        )
        return _present(await _endpoint(conn, p, endpoint_id), secret)


async def get_endpoint(ctx: AppContext, p: Principal, endpoint_id: uuid.UUID) -> dict[str, Any]:
    p.require(Scope.ADMIN)
    async with ctx.engine.connect() as conn:
        return _present(await _endpoint(conn, p, endpoint_id))


async def list_endpoints(
    ctx: AppContext, p: Principal, page_token: str | None, page_size: int | None
) -> dict[str, Any]:
    p.require(Scope.ADMIN)
    size = check_page_size(page_size)
    after = decode_cursor(page_token, lambda d: uuid.UUID(d["after"]))
    async with ctx.engine.connect() as conn:
        rows = await store.list_endpoints(conn, p.tenant_id, after, size + 1)
    items = [_present(r) for r in rows[:size]]
    token = encode_cursor(after=str(rows[size - 1].id)) if len(rows) > size else None
    return {"items": items, "next_page_token": token}


async def update_endpoint(
    ctx: AppContext, p: Principal, endpoint_id: uuid.UUID, changes: dict[str, Any]
) -> dict[str, Any]:
    """Enabling a disabled endpoint resumes where it stopped: it gets every event it missed."""
    p.require(Scope.ADMIN)
    values = dict(changes)
    if "enabled" in values and values["enabled"] is None:
        raise ValidationFailed(
            "invalid fields", [FieldError("enabled", "null_not_allowed", "enabled cannot be null")]
        )
    if "url" in values:
        _check_url(values["url"])
    if "types" in values:
        values["types"] = _check_types(values["types"])
    if values.get("enabled") is True:
        values |= {"disabled_reason": None, "attempts": 0, "next_attempt_at": None}
    async with ctx.engine.begin() as conn:
        await _endpoint(conn, p, endpoint_id)
        await store.update_endpoint(conn, p.tenant_id, endpoint_id, updated_at=ctx.clock.now(), **values)
        return _present(await _endpoint(conn, p, endpoint_id))


async def delete_endpoint(ctx: AppContext, p: Principal, endpoint_id: uuid.UUID) -> None:
    p.require(Scope.ADMIN)
    async with ctx.engine.begin() as conn:
        await _endpoint(conn, p, endpoint_id)
        await store.delete_endpoint(conn, p.tenant_id, endpoint_id)


async def rotate_secret(ctx: AppContext, p: Principal, endpoint_id: uuid.UUID) -> dict[str, Any]:
    """A new secret, shown once; the old one signs too for the overlap, so receivers can switch."""
    p.require(Scope.ADMIN)
    now = ctx.clock.now()
    secret = new_secret()
    async with ctx.engine.begin() as conn:
        row = await _endpoint(conn, p, endpoint_id)
        await store.update_endpoint(
            conn,
            p.tenant_id,
            endpoint_id,
            secret=secret,
            previous_secret=row.secret,
            previous_until=now + timedelta(hours=WEBHOOK_SECRET_OVERLAP_HOURS),
            updated_at=now,
        )
        return _present(await _endpoint(conn, p, endpoint_id), secret)


async def replay(
    ctx: AppContext, p: Principal, endpoint_id: uuid.UUID, from_seq: int, to_seq: int | None
) -> dict[str, Any]:
    """Send the endpoint's events in [from_seq, to_seq] again (one event: the same seq twice), in order,
    with their original webhook-ids, before anything new."""
    p.require(Scope.ADMIN)
    to_seq = from_seq if to_seq is None else to_seq
    if from_seq < 1 or to_seq < from_seq:
        raise ValidationFailed(
            "the range is empty", [FieldError("to_seq", "bad_range", "from_seq >= 1 and to_seq >= from_seq")]
        )
    async with ctx.engine.begin() as conn:
        row = await _endpoint(conn, p, endpoint_id)
        if row.replay_from is not None:
            raise Conflict("a replay of this endpoint is still running", code="replay_running")
        head = await change_log.head(conn, p.tenant_id)
        await store.update_endpoint(
            conn,
            p.tenant_id,
            endpoint_id,
            replay_from=from_seq,
            replay_to=min(to_seq, head),
            updated_at=ctx.clock.now(),
        )
        return _present(await _endpoint(conn, p, endpoint_id))


async def list_attempts(
    ctx: AppContext, p: Principal, endpoint_id: uuid.UUID, page_token: str | None, page_size: int | None
) -> dict[str, Any]:
    """The delivery log: every attempt, newest first."""
    p.require(Scope.ADMIN)
    size = check_page_size(page_size)
    before = decode_cursor(page_token, lambda d: (int(d["seq"]), int(d["attempt"])))
    async with ctx.engine.connect() as conn:
        await _endpoint(conn, p, endpoint_id)
        rows = await store.attempts(conn, p.tenant_id, endpoint_id, before, size + 1)
    items = [dict(r._mapping) for r in rows[:size]]
    last = rows[size - 1] if len(rows) > size else None
    token = encode_cursor(seq=str(last.seq), attempt=str(last.attempt)) if last is not None else None
    return {"items": items, "next_page_token": token}


# -- delivery -----------------------------------------------------------------------------------------


def signed_headers(endpoint: Any, event_id: str, body: str, now: datetime) -> dict[str, str]:
    """webhook-id, webhook-timestamp and webhook-signature (`v1,<base64 HMAC-SHA256 of id.timestamp.body>`;
    during a rotation's overlap, the old secret's signature too, space-separated)."""
    signatures = [Webhook(endpoint.secret).sign(event_id, now, body)]
    if endpoint.previous_secret and endpoint.previous_until and endpoint.previous_until > now:
        signatures.append(Webhook(endpoint.previous_secret).sign(event_id, now, body))
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
        "user-agent": "territory-engine-webhooks",
    }


class Deliverer:
    """Delivers webhooks: takes a lease on one due endpoint at a time (several at once, `concurrency`),
    sends its events in log order and writes its place after each. Any number of Deliverers, in any
    processes on any hosts, can share one database."""

    def __init__(
        self,
        ctx: AppContext,
        concurrency: int = 4,
        retry_scale: float = 1.0,
        poll_seconds: float = 1.0,
        listen_url: str | None = None,
    ):
        self.ctx = ctx
        self.listen_url = listen_url
        self.concurrency = concurrency
        self.retry_scale = retry_scale
        self.poll_seconds = poll_seconds
        self.name = worker_name()
        self.wake = asyncio.Event()
        self.sent = 0
        self._client: httpx.AsyncClient | None = None
        self._tenants: set[uuid.UUID] | None = None  # tenants with an enabled endpoint, at the last poll

    async def run(self) -> None:
        jobs = [self._dispatch()]
        if self.ctx.engine.dialect.name == "postgresql":  # woken at each commit, not only every second
            url = self.listen_url or self.ctx.engine.url.render_as_string(hide_password=False)
            jobs.append(listen(url, self._notified, self.wake.set))
        try:
            await asyncio.gather(*jobs)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _notified(self, tenant: uuid.UUID, _seq: int) -> None:
        """A commit's NOTIFY: worth a claim only for a tenant with an endpoint (the others' writes cost
        this worker nothing; an endpoint created since the last poll is found at the next one)."""
        if self._tenants is None or tenant in self._tenants:
            self.wake.set()

    async def _dispatch(self) -> None:
        """One claimer: a lease per wake-up (a commit, a finished delivery, the poll), at most
        `concurrency` deliveries at once, each in its own task."""
        running: set[asyncio.Task[None]] = set()

        def finished(task: asyncio.Task[None]) -> None:
            running.discard(task)
            self.wake.set()

        polled = -math.inf
        while True:
            if time.monotonic() - polled >= self.poll_seconds:
                polled = time.monotonic()
                await self._refresh_tenants()
            if len(running) < self.concurrency and self._tenants != set():  # set(): no endpoint anywhere
                try:
                    endpoint = await self._claim()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the database is away, or a bug: log, wait, go on
                    log.warning("webhook delivery: %r", exc)
                    endpoint = None
                if endpoint is not None:
                    task = asyncio.create_task(self._deliver_leased(endpoint))
                    running.add(task)
                    task.add_done_callback(finished)
                    continue
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.poll_seconds)

    async def _refresh_tenants(self) -> None:
        try:
            async with self.ctx.engine.connect() as conn:
                self._tenants = await store.tenants_with_endpoints(conn)
        except Exception:  # the database is away: wake on every commit until it is back
            self._tenants = None

    async def _claim(self) -> Any | None:
        async with self.ctx.engine.begin() as conn:
            return await store.claim_due(conn, self.ctx.clock.now(), self.name, LEASE_SECONDS)

    async def _deliver_leased(self, endpoint: Any) -> None:
        try:
            await self._deliver(endpoint)
        except Exception as exc:  # the lease runs out and the endpoint is claimed again
            log.warning("webhook delivery: %r", exc)
        finally:
            with contextlib.suppress(Exception):
                async with self.ctx.engine.begin() as conn:
                    await store.renew(conn, endpoint, self.name, self.ctx.clock.now(), lease_owner=None)

    async def deliver_once(self) -> bool:
        """Lease one due endpoint and send it what it is owed; False when none was due."""
        endpoint = await self._claim()
        if endpoint is None:
            return False
        await self._deliver_leased(endpoint)
        return True

    async def _deliver(self, endpoint: Any) -> None:
        tenant = endpoint.tenant_id
        types = list(endpoint.types or [])
        replaying = endpoint.replay_from is not None
        async with self.ctx.engine.connect() as conn:
            head = await change_log.head(conn, tenant)
            after = endpoint.replay_from - 1 if replaying else endpoint.delivered_seq
            upto = endpoint.replay_to if replaying else head
            events, rows = await _events(conn, tenant, after, WEBHOOK_BATCH, types, upto)
        attempts = endpoint.attempts
        sent_upto = after
        pending: list[dict[str, Any]] = []  # attempts not written yet
        flushed = time.monotonic()

        async def flush(**values: Any) -> bool:
            """Write the attempts so far and the endpoint's place: one transaction for many events (a
            worker that dies before it may send them again, with the same ids)."""
            nonlocal pending, flushed
            async with self.ctx.engine.begin() as conn:
                await store.record_attempts(conn, pending)
                lease = self.ctx.clock.now() + timedelta(seconds=LEASE_SECONDS)
                kept = await store.renew(conn, endpoint, self.name, lease, **values)
            pending, flushed = [], time.monotonic()
            return kept

        def place() -> dict[str, Any]:
            return {"replay_from": sent_upto + 1} if replaying else {"delivered_seq": sent_upto}

        for event in events:
            ok, status, error, took = await self._send(endpoint, event)
            attempts += 1
            now = self.ctx.clock.now()
            pending.append(
                {
                    "tenant_id": tenant,
                    "endpoint_id": endpoint.id,
                    "seq": event["seq"],
                    "event_id": event["id"],
                    "event_type": event["type"],
                    "status_code": status,
                    "error": error,
                    "duration_ms": took,
                    "at": now,
                    "worker": self.name,
                }
            )
            if ok:
                self.sent += 1
                attempts, sent_upto = 0, event["seq"]
                due = len(pending) >= FLUSH_EVENTS or time.monotonic() - flushed > FLUSH_SECONDS
                if due and not await flush(attempts=0, next_attempt_at=None, **place()):
                    return  # the lease was lost (this worker stalled); another worker carries on
                continue
            failure: dict[str, Any] = {"attempts": attempts, **place()}
            retry = ev.next_attempt(now, attempts, self.retry_scale)
            if status == 410:
                failure |= {"enabled": False, "disabled_reason": "the receiver answered 410 Gone"}
            elif retry is None:
                failure |= {
                    "enabled": False,
                    "disabled_reason": f"no success in {attempts} attempts over "
                    f"{sum(WEBHOOK_RETRY_SECONDS) * self.retry_scale / 3600:.0f} hours; "
                    "enable it to resume where it stopped",
                }
            else:
                failure["next_attempt_at"] = retry
            await flush(**failure)
            return
        if pending and not await flush(attempts=0, next_attempt_at=None, **place()):
            return
        # every event up to here went out; entries that are not its events are passed over too
        done_upto = rows[-1].seq if len(rows) == WEBHOOK_BATCH else max(upto or 0, sent_upto)
        if replaying:
            finished = done_upto >= (endpoint.replay_to or 0)
            progress = (
                {"replay_from": None, "replay_to": None} if finished else {"replay_from": done_upto + 1}
            )
        else:
            progress = {"delivered_seq": max(done_upto, endpoint.delivered_seq)}
        async with self.ctx.engine.begin() as conn:
            lease = self.ctx.clock.now() + timedelta(seconds=LEASE_SECONDS)
            await store.renew(conn, endpoint, self.name, lease, **progress)

    async def _send(self, endpoint: Any, event: dict[str, Any]) -> tuple[bool, int | None, str | None, float]:
        body = orjson.dumps(
            {"type": event["type"], "timestamp": event["timestamp"], "data": event["data"]},
            default=str,
            option=orjson.OPT_UTC_Z,
        ).decode()
        headers = signed_headers(endpoint, event["id"], body, self.ctx.clock.now())
        started = time.perf_counter()
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_SECONDS, follow_redirects=False)
        try:
            r = await self._client.post(endpoint.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return False, None, f"{type(exc).__name__}: {exc}"[:500], (time.perf_counter() - started) * 1000
        took = (time.perf_counter() - started) * 1000
        return 200 <= r.status_code < 300, r.status_code, None if r.is_success else r.text[:200], took
