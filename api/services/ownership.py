"""Ownership lookup, the hot path: a per-tenant index in memory, kept current from the change log.

Every request reads its tenant's log head with the API key (persistence.keyprobe), so an answer is never
older than the last commit, on any worker. When the index is behind, the request waits for the changes
after the index's seq (one query shared by every waiting request, applied in O(changes)); on PostgreSQL a
LISTEN connection wakes the worker at each commit, so it usually has them already. A whole build happens
only at first use, after a plan switch, or when a worker is far behind; it runs in a process of its own
with its own connection, and lookups meanwhile are answered from SQL. Indexes share a memory budget per
worker; the least recently used tenants are dropped first, and then answered from SQL until they are
rebuilt.
During a database outage the index answers as it is, and says how old it is (docs/change-stream.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal
from uuid import UUID

import orjson
from pydantic import AwareDatetime, BaseModel, Field

from api.services.common import AccountRef, CauseValue, ExternalId, Input, RepRef, TerritoryRef
from api.services.context import Principal
from domain.changes import Change
from domain.defaults import MAX_LOOKUP_BATCH
from domain.errors import Code, FieldError, NotFound, ValidationFailed
from domain.model import (
    Role,
    Scope,
)
from domain.ownership import OwnershipIndex
from persistence import ownership as queries
from persistence.changes import to_change
from persistence.db import Engine, in_own_process


class OwnershipWhy(BaseModel):
    cause: CauseValue = Field(description="rule, manual, rebalance, departure, arrival, import or dispute")
    reason: str | None = Field(description="the rule, the move's reason or the note")


class RepName(BaseModel):
    id: UUID
    name: str


class OwnershipFreeze(BaseModel):
    """A recorded departure freezes the leaving rep's accounts until the reassignment is activated."""

    outbound: bool = Field(description="outbound (prospecting into the account) is frozen")
    since: datetime = Field(description="when the departure was recorded")
    last_day: date = Field(description="the rep's last day")
    interim_rep: RepName | None = Field(description="the interim owner of open pipeline, when one was named")
    sentence: str = Field(description="the freeze in words")


class AccountableOwner(BaseModel):
    """The owner of the family's top account, accountable for deals from the policy's threshold up."""

    rep: RepName = Field(description="the owner of record of the family's top account, for the same role")
    account: AccountRef = Field(description="the family's top account")
    threshold: float = Field(description="deals of this amount or more anywhere in the family are theirs")
    sentence: str = Field(description="the rule in words")


class OwnershipRead(BaseModel):
    external_id: str
    status: Literal["owned", "unassigned", "not_found"] = Field(
        description="owned, unassigned (no owner for the role) or not_found"
    )
    account: AccountRef | None = None
    territory: TerritoryRef | None = None
    rep: RepRef | None = None
    role: Role
    plan_id: UUID | None = None
    since: datetime | None = Field(None, description="when this rep became the owner of record")
    why: OwnershipWhy | None = Field(None, description="why this rep owns the account")
    frozen: OwnershipFreeze | None = Field(
        description="the owner is leaving: outbound is frozen until the reassignment is activated; null "
        "otherwise"
    )
    accountable: AccountableOwner | None = Field(
        description="the account has a parent: the owner of the family's top account, accountable for "
        "deals from the policy's threshold up; null without a parent or an owner of the top account"
    )
    seq: int = Field(description="the change-log position the answer reflects")


class OwnershipLookup(Input):
    external_ids: list[ExternalId] = Field(min_length=1, max_length=MAX_LOOKUP_BATCH)
    role: Role = Role.AE
    as_of: AwareDatetime | None = Field(None, description="answer as of this time, from the change log")


class OwnershipLookupResult(BaseModel):
    results: list[OwnershipRead] = Field(description="in the order of the request")


log = logging.getLogger("territory.ownership")
APPLY_SLICE = 250  # changes applied between yields to the event loop


def encode(data: Any) -> bytes:
    """Answers are encoded per request, not cached: orjson's bytes keep a buffer of about 4 KB each, so
    caching every answer of a 100k-account tenant held 400 MB."""
    return orjson.dumps(data, default=str, option=orjson.OPT_UTC_Z)


@dataclass
class Freshness:
    """What a set of answers reflects: the log position, and seconds since it was known to be current
    (0 unless the database could not be asked)."""

    seq: int
    age: float
    source: str = "index"  # "database": read from SQL (as_of, or the index being built after a switch)

    def headers(self) -> dict[str, str]:
        return {
            "Ownership-Seq": str(self.seq),
            "Ownership-Age": f"{self.age:.0f}",
            "Ownership-Source": self.source,
        }


def _index_from(rows: queries.OwnershipRows) -> OwnershipIndex:
    return OwnershipIndex.build(
        rows.seq,
        rows.plan_id,
        rows.accounts,
        rows.owners,
        rows.reps,
        rows.territories,
        parent_deal_threshold=rows.parent_deal_threshold,
    )


async def read_and_index(engine: Engine, tenant: UUID) -> OwnershipIndex:
    """A whole tenant's index, read and built in a process of its own (`_build`). The build makes
    hundreds of thousands of short-lived rows, which reference counting frees: the cyclic collector would
    only rescan them, so it waits until the build is done."""
    gc.disable()
    try:
        rows = await queries.read_all(engine, tenant)
        index = _index_from(rows)
        rows.release()
        return index
    finally:
        gc.enable()


def _in_range(as_of: datetime) -> datetime:
    """`as_of` in UTC, as the change log stores times; a time that UTC cannot hold (0001-01-01T00:00+14:00
    is in year 0 there) is a 422 naming the field, not a failed query."""
    try:
        return as_of.astimezone(UTC)
    except OverflowError:
        raise ValidationFailed(
            "as_of is out of range",
            [FieldError("as_of", Code.OUT_OF_RANGE, "a time from year 1 to 9999, in UTC")],
        ) from None


class OwnershipService:
    def __init__(
        self,
        engine: Engine,
        use_snapshots: bool = True,
        rebuild_interval: float = 1.0,
        memory_budget_mb: float = 1024.0,
        catch_up_limit: int = 20_000,
        listen: bool = True,
        listen_url: str | None = None,
    ):
        self.engine = engine
        self.url = engine.url.render_as_string(hide_password=False)
        self.listen_url = listen_url or self.url
        self.use_snapshots = use_snapshots
        self.rebuild_interval = rebuild_interval
        self.memory_budget = int(memory_budget_mb * 1024 * 1024)
        self.catch_up_limit = catch_up_limit
        self.listen = listen and engine.dialect.name == "postgresql"
        self._indexes: OrderedDict[UUID, OwnershipIndex] = OrderedDict()  # least recently used first
        self._confirmed: dict[UUID, float] = {}  # monotonic time the index was last known current
        self._building: dict[UUID, asyncio.Task] = {}
        self._catching: dict[UUID, asyncio.Task] = {}
        self._last_build: dict[UUID, float] = {}
        self._listener: asyncio.Task | None = None
        self.builds = 0
        self.applied = 0
        self.evictions = 0

    # -- answering --------------------------------------------------------------------------------------

    async def lookup(
        self, p: Principal, external_ids: Sequence[str], role: Role, as_of: datetime | None = None
    ) -> list[dict[str, Any]]:
        return (await self.lookup_with_freshness(p, external_ids, role, as_of))[0]

    async def lookup_with_freshness(
        self, p: Principal, external_ids: Sequence[str], role: Role, as_of: datetime | None = None
    ) -> tuple[list[dict[str, Any]], Freshness]:
        p.require(Scope.READ)
        if as_of is not None:
            as_of = _in_range(as_of)
            index = _index_from(await queries.read_as_of(self.engine, p.tenant_id, external_ids, as_of))
            return [index.answer(e, role.value) for e in external_ids], Freshness(index.seq, 0.0, "database")
        index = await self._current(p)
        if index is None:
            index = _index_from(await queries.read_some(self.engine, p.tenant_id, external_ids))
            fresh = Freshness(index.seq, 0.0, "database")
        else:
            fresh = Freshness(
                index.seq, time.monotonic() - self._confirmed.get(p.tenant_id, time.monotonic())
            )
        return [index.answer(e, role.value) for e in external_ids], fresh

    async def lookup_one(
        self, p: Principal, external_id: str, role: Role, as_of: datetime | None = None
    ) -> tuple[dict[str, Any], Freshness]:
        (found,), fresh = await self.lookup_with_freshness(p, [external_id], role, as_of)
        if found["status"] == "not_found":
            raise NotFound(f"no account with external id {external_id!r}")
        return found, fresh

    async def _current(self, p: Principal) -> OwnershipIndex | None:
        """The tenant's index if it holds every change up to the head the request read; None to answer
        from SQL. `p.ownership_version` is None when the database could not be asked (an outage): the
        index answers as it is."""
        if not self.use_snapshots:
            return None
        if self.listen and self._listener is None:
            self._listener = asyncio.get_running_loop().create_task(self._listen())
        tenant = p.tenant_id
        index = self._indexes.get(tenant)
        if index is None:
            self._schedule_build(tenant)
            return None
        self._indexes.move_to_end(tenant)
        target = p.ownership_version
        if target is None:
            return index
        if index.seq < target:
            await self._catch_up(tenant, target)
            index = self._indexes.get(tenant)
            if index is None or index.seq < target:
                return None
        self._confirmed[tenant] = time.monotonic()
        return index

    # -- keeping indexes current ------------------------------------------------------------------------

    async def _catch_up(self, tenant: UUID, target: int) -> None:
        """Apply the changes up to at least `target`; concurrent requests share one reader. A worker
        more than `catch_up_limit` changes behind builds anew instead (and answers from SQL meanwhile)."""
        index = self._indexes.get(tenant)
        if index is not None and self.catch_up_limit and target - index.seq > self.catch_up_limit:
            self._schedule_build(tenant, force=True)
            return
        for _ in range(3):
            task = self._catching.get(tenant)
            if task is None or task.done():
                task = asyncio.get_running_loop().create_task(self._apply_new(tenant))
                self._catching[tenant] = task
            with contextlib.suppress(Exception):
                await asyncio.shield(task)
            index = self._indexes.get(tenant)
            if index is None or index.seq >= target or tenant in self._building:
                return
            if task.done() and (task.cancelled() or task.exception() is not None):
                return

    def committed(self, tenant: UUID, written: list[tuple[int, Change]]) -> None:
        """This process's own commit, applied at once instead of read back (its NOTIFY then finds nothing
        new). Only when the index stands right before it and no reader is at work, which then reads it."""
        index = self._indexes.get(tenant)
        if index is None or index.seq != written[0][0] - 1 or tenant in self._building:
            return
        task = self._catching.get(tenant)
        if task is not None and not task.done():
            return
        for seq, change in written:
            if not index.apply(seq, change):
                self._schedule_build(tenant, force=True)
                return
            self.applied += 1
        self._confirmed[tenant] = time.monotonic()

    async def _apply_new(self, tenant: UUID) -> None:
        """Read and apply the changes after the index's seq, a batch of 2,000 at a time, yielding to the
        event loop every `APPLY_SLICE` changes."""
        batch = 2_000
        while True:
            index = self._indexes.get(tenant)
            if index is None:
                return
            rows = await queries.changes_after(self.engine, tenant, index.seq, batch)
            if self._indexes.get(tenant) is not index:
                continue  # replaced by a build meanwhile
            for n, row in enumerate(rows, start=1):
                if row.seq != index.seq + 1 or not index.apply(row.seq, to_change(row)):
                    self._schedule_build(tenant, force=True)
                    return
                self.applied += 1
                if n % APPLY_SLICE == 0:  # a batch of account changes held the loop for 20-50 ms
                    await asyncio.sleep(0)
                    if self._indexes.get(tenant) is not index:
                        break  # replaced by a build meanwhile: read on from its seq
            if len(rows) < batch:
                self._confirmed[tenant] = time.monotonic()
                return
            await asyncio.sleep(0)

    def _schedule_build(self, tenant: UUID, force: bool = False) -> None:
        task = self._building.get(tenant)
        if task is not None and not task.done():
            return
        now = time.monotonic()
        if not force and now - self._last_build.get(tenant, float("-inf")) < self.rebuild_interval:
            return
        self._last_build[tenant] = now
        task = asyncio.get_running_loop().create_task(self._build(tenant))
        self._building[tenant] = task

        def done(t: asyncio.Task) -> None:
            if self._building.get(tenant) is t:
                del self._building[tenant]
            if not t.cancelled() and t.exception() is not None:
                log.warning("ownership index of %s: build failed: %r", tenant, t.exception())

        task.add_done_callback(done)

    async def _build(self, tenant: UUID) -> None:
        """Read and index the whole tenant in a process of its own (persistence.db.in_own_process), so the
        event loop keeps answering without sharing the GIL with the build; then catch up from the seq it
        was built at."""

        index = await in_own_process(self.url, read_and_index, tenant)
        self.builds += 1
        if index.nbytes > self.memory_budget:
            log.warning("ownership index of %s needs %d bytes, over the budget", tenant, index.nbytes)
            self._indexes.pop(tenant, None)
            return
        old = self._indexes.pop(tenant, None)
        if old is not None and old.seq > index.seq:
            index = old  # a catch-up moved past the build meanwhile (cannot happen on one read; be safe)
        self._indexes[tenant] = index
        self._confirmed[tenant] = time.monotonic()
        self._evict(keep=tenant)
        # The process's long-lived objects (the app, its caches: ~200k) would be rescanned by every full
        # collection of the cyclic collector, 160-190 ms each on the event loop (the lookups' p99). By now
        # they exist: move them out of its sight. The index itself is a few numpy arrays.
        gc.freeze()
        await self._apply_new(tenant)

    def _evict(self, keep: UUID) -> None:
        total = sum(i.nbytes for i in self._indexes.values())
        for tenant in list(self._indexes):
            if total <= self.memory_budget:
                return
            if tenant == keep:
                continue
            total -= self._indexes.pop(tenant).nbytes
            self.evictions += 1

    async def _listen(self) -> None:
        """PostgreSQL: wake at every commit (NOTIFY 'tenant:seq'); after a lost connection, reconnect and
        catch every index up, since notifications sent meanwhile are lost."""
        from persistence.changes import listen

        def woken(tenant: UUID, seq: int) -> None:
            index = self._indexes.get(tenant)
            if index is not None and index.seq < seq and tenant not in self._building:
                if self.catch_up_limit and seq - index.seq > self.catch_up_limit:
                    # far behind (a large import): build anew in a process rather than apply it all on the
                    # loop, where the requests waiting for the catch-up queued for seconds
                    self._schedule_build(tenant, force=True)
                    return
                task = self._catching.get(tenant)
                if task is None or task.done():
                    self._catching[tenant] = asyncio.get_running_loop().create_task(self._apply_new(tenant))

        def reconnected() -> None:
            for tenant in list(self._indexes):
                woken(tenant, 1 << 62)

        await listen(self.listen_url, woken, reconnected)

    def memory(self) -> dict[str, Any]:
        return {
            "tenants": len(self._indexes),
            "bytes": sum(i.nbytes for i in self._indexes.values()),
            "budget": self.memory_budget,
            "evictions": self.evictions,
        }

    async def wait_for_rebuilds(self) -> None:
        for task in list(self._building.values()) + list(self._catching.values()):
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task

    async def close(self) -> None:
        tasks = list(self._building.values()) + list(self._catching.values())
        if self._listener is not None:
            tasks.append(self._listener)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task
