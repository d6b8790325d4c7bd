"""Webhook delivery: workers lease one due endpoint at a time and send it its events in log order, signed as
the Standard Webhooks specification says, at least once, retried on the endpoint's schedule; any number of
workers in any processes share the work through the database (docs/change-stream.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from standardwebhooks import Webhook

from api.services.context import AppContext, worker_name
from api.services.events import events_of
from domain import events as ev
from domain.defaults import WEBHOOK_BATCH, WEBHOOK_RETRY_SECONDS, WEBHOOK_TIMEOUT_SECONDS
from persistence.changes import listen
from persistence.events import Outbox

log = logging.getLogger("territory.events")
LEASE_SECONDS = 60.0
FLUSH_EVENTS, FLUSH_SECONDS = 50, 0.5  # delivered events are written down at least this often


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
        self.outbox = Outbox(ctx.engine)

    async def run(self) -> None:
        jobs = [self._dispatch()]
        url = self.outbox.listen_url
        if url is not None:  # PostgreSQL: woken at each commit, not only every poll
            jobs.append(listen(self.listen_url or url, self._notified, self.wake.set))
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
            self._tenants = await self.outbox.tenants_with_endpoints()
        except Exception:  # the database is away: wake on every commit until it is back
            self._tenants = None

    async def _claim(self) -> Any | None:
        return await self.outbox.claim(self.ctx.clock.now(), self.name, LEASE_SECONDS)

    async def _deliver_leased(self, endpoint: Any) -> None:
        try:
            await self._deliver(endpoint)
        except Exception as exc:  # the lease runs out and the endpoint is claimed again
            log.warning("webhook delivery: %r", exc)
        finally:
            with contextlib.suppress(Exception):
                await self.outbox.progress(endpoint, self.name, self.ctx.clock.now(), lease_owner=None)

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
        after = endpoint.replay_from - 1 if replaying else endpoint.delivered_seq
        kinds = ev.kinds_for(types or None)
        head, rows, names = await self.outbox.owed(
            endpoint, after, endpoint.replay_to if replaying else None, WEBHOOK_BATCH, kinds
        )
        upto = endpoint.replay_to if replaying else head
        events = events_of(tenant, rows, names, types)
        attempts = endpoint.attempts
        sent_upto = after
        pending: list[dict[str, Any]] = []  # attempts not written yet
        flushed = time.monotonic()

        async def flush(**values: Any) -> bool:
            """Write the attempts so far and the endpoint's place: one transaction for many events (a
            worker that dies before it may send them again, with the same ids)."""
            nonlocal pending, flushed
            lease = self.ctx.clock.now() + timedelta(seconds=LEASE_SECONDS)
            kept = await self.outbox.progress(endpoint, self.name, lease, pending, **values)
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
        lease = self.ctx.clock.now() + timedelta(seconds=LEASE_SECONDS)
        await self.outbox.progress(endpoint, self.name, lease, **progress)

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
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # a URL it cannot send to fails too
            return False, None, f"{type(exc).__name__}: {exc}"[:500], (time.perf_counter() - started) * 1000
        took = (time.perf_counter() - started) * 1000
        return 200 <= r.status_code < 300, r.status_code, None if r.is_success else r.text[:200], took
