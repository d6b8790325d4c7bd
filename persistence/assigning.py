"""Bulk reads and writes of a plan's assignments: its territories, the accounts with the fields boundaries
look at (in id-ordered chunks), the current owners of a chunk, and moving owners set-wise."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Collection, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.imports import insert_many
from persistence.tables import (
    AccountRow,
    AccountScoreRow,
    ActivityRow,
    AssignmentRow,
    OpportunityRow,
    PlanRow,
    RepRow,
    TerritoryRow,
    next_version,
)

ACCOUNTS = AccountRow.__table__
SCORES = AccountScoreRow.__table__
ASSIGNMENTS = AssignmentRow.__table__
TERRITORIES = TerritoryRow.__table__
ACTIVITIES = ActivityRow.__table__
OPPORTUNITIES = OpportunityRow.__table__
BOUNDARY_COLUMNS = (
    "external_id",
    "name",
    "country",
    "region",
    "postal_code",
    "industry",
    "segment",
    "stage",
    "employees",
    "annual_revenue",
    "current_arr",
    "tags",
)


async def plan_territories(conn: AsyncConnection, tenant_id: uuid.UUID, plan_id: Any) -> list[Any]:
    stmt = sa.select(
        TERRITORIES.c.id,
        TERRITORIES.c.name,
        TERRITORIES.c.priority,
        TERRITORIES.c.boundary,
        TERRITORIES.c.primary_rep_id,
        TERRITORIES.c.quota,
    ).where(TERRITORIES.c.tenant_id == tenant_id, TERRITORIES.c.plan_id == plan_id)
    return list((await conn.execute(stmt.order_by(TERRITORIES.c.name))).all())


NO_OWNER = (None, None, None, None, None)
READ_AHEAD = 2  # chunks read before they are asked for (each about 10 MB at 10,000 accounts)
# a chunk's evidence: touches and sourced opportunities by (account id, rep id) (relationship_evidence)
Evidence = tuple[dict[tuple[Any, Any], tuple[int, datetime | None]], dict[tuple[Any, Any], int]]


async def accounts_for_rules(
    conn: AsyncConnection,
    tenant_id: uuid.UUID,
    plan_id: Any,
    role: str,
    size: int,
    fields: Collection[str] | None = None,
) -> AsyncIterator[list[dict[str, Any]]]:
    """Live accounts with the boundary fields (only `fields` of them when given: a tier, tags' JSON or an
    unused column costs time in every row), their tier and their current owner in the plan for the role
    (`owner_assignment_id`, `owner_territory_id`, `owner_rep_id`, `owner_locked`, `owner_valid_from`; None
    without one), `size` at a time (keyset on id). A chunk's owners are read by the range of its account
    ids, which costs one index range scan, or at worst one pass over the plan's assignments, whatever the
    planner believes: an IN-list of 10,000 ids took PostgreSQL 10-22 s a chunk, and a join to the
    assignments planned while they were being written took a minute a chunk."""
    after = None
    wanted = [c for c in BOUNDARY_COLUMNS if fields is None or c in fields or c in ("external_id", "name")]
    scored = fields is None or "tier" in fields
    cols = [ACCOUNTS.c.id, *(ACCOUNTS.c[c] for c in wanted), *([SCORES.c.tier] if scored else [])]
    source = ACCOUNTS.outerjoin(SCORES, SCORES.c.account_id == ACCOUNTS.c.id) if scored else ACCOUNTS
    a = ASSIGNMENTS.c
    while True:
        stmt = (
            sa.select(*cols)
            .select_from(source)
            .where(ACCOUNTS.c.tenant_id == tenant_id, ACCOUNTS.c.deleted_at.is_(None))
        )
        if after is not None:
            stmt = stmt.where(ACCOUNTS.c.id > after)
        result = await conn.execute(stmt.order_by(ACCOUNTS.c.id).limit(size))
        names = list(result.keys())
        rows = [dict(zip(names, r, strict=True)) for r in result.all()]  # tuples: a RowMapping is slower
        if not rows:
            return
        found = await conn.execute(
            sa.select(a.account_id, a.id, a.territory_id, a.rep_id, a.locked, a.valid_from).where(
                a.tenant_id == tenant_id,
                a.plan_id == plan_id,
                a.role == role,
                a.valid_to.is_(None),
                a.account_id >= rows[0]["id"],
                a.account_id <= rows[-1]["id"],
            )
        )
        owners = {r[0]: r[1:] for r in found.all()}
        for row in rows:
            owner = owners.get(row["id"], NO_OWNER)
            row["owner_assignment_id"], row["owner_territory_id"], row["owner_rep_id"] = owner[:3]
            row["owner_locked"], row["owner_valid_from"] = owner[3:]
        yield rows
        after = rows[-1]["id"]


async def relationship_evidence(
    conn: AsyncConnection,
    tenant_id: uuid.UUID,
    low: Any,
    high: Any,
    since: datetime,
    kinds: Sequence[str],
) -> tuple[dict[tuple[Any, Any], tuple[int, datetime | None]], dict[tuple[Any, Any], int]]:
    """The evidence of a chunk of accounts (ids from `low` to `high`), by (account id, rep id), in two
    aggregates over that id range: meaningful touches since `since` with the last meaningful touch ever,
    and sourced opportunities (open, or won since `since`). The same definitions as a dispute's
    (persistence.disputes.DisputeStore.touches and .sourced), for every rep at once."""
    c, o = ACTIVITIES.c, OPPORTUNITIES.c
    touches_stmt = (
        sa.select(
            c.account_id, c.rep_id, sa.func.count().filter(c.occurred_at >= since), sa.func.max(c.occurred_at)
        )
        .where(
            c.tenant_id == tenant_id,
            c.account_id >= low,
            c.account_id <= high,
            c.rep_id.is_not(None),
            c.kind.in_(list(kinds)),
        )
        .group_by(c.account_id, c.rep_id)
    )
    touches = {(r[0], r[1]): (int(r[2]), r[3]) for r in await conn.execute(touches_stmt)}
    sourced_stmt = (
        sa.select(o.account_id, o.rep_id, sa.func.count())
        .where(
            o.tenant_id == tenant_id,
            o.account_id >= low,
            o.account_id <= high,
            o.rep_id.is_not(None),
            sa.or_(o.status == "open", sa.and_(o.status == "won", o.closed_on >= since.date())),
        )
        .group_by(o.account_id, o.rep_id)
    )
    sourced = {(r[0], r[1]): int(r[2]) for r in await conn.execute(sourced_stmt)}
    return touches, sourced


async def end_assignments(
    conn: AsyncConnection, tenant_id: uuid.UUID, ids: Sequence[Any], now: datetime
) -> None:
    for start in range(0, len(ids), 5_000):
        chunk = list(ids[start : start + 5_000])
        await conn.execute(
            sa.update(ASSIGNMENTS)
            .where(ASSIGNMENTS.c.tenant_id == tenant_id, ASSIGNMENTS.c.id.in_(chunk))
            .values(valid_to=now, **next_version(ASSIGNMENTS))
        )


async def add_assignments(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    await insert_many(conn, "assignments", rows)


async def territory_rows(conn: AsyncConnection, tenant_id: uuid.UUID, plan_id: Any) -> list[dict[str, Any]]:
    stmt = sa.select(TERRITORIES).where(
        TERRITORIES.c.tenant_id == tenant_id, TERRITORIES.c.plan_id == plan_id
    )
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def add_territories(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(sa.insert(TERRITORIES), rows)


async def current_assignments(
    conn: AsyncConnection, tenant_id: uuid.UUID, plan_id: Any, size: int
) -> AsyncIterator[list[dict[str, Any]]]:
    """The plan's current assignments (every role), `size` at a time (keyset on id)."""
    a = ASSIGNMENTS.c
    after = None
    while True:
        stmt = sa.select(ASSIGNMENTS).where(
            a.tenant_id == tenant_id, a.plan_id == plan_id, a.valid_to.is_(None)
        )
        if after is not None:
            stmt = stmt.where(a.id > after)
        rows = [dict(r) for r in (await conn.execute(stmt.order_by(a.id).limit(size))).mappings()]
        if not rows:
            return
        yield rows
        after = rows[-1]["id"]


async def add_plan(conn: AsyncConnection, row: dict[str, Any]) -> None:
    await conn.execute(sa.insert(PlanRow.__table__), [row])


def owned_book(*columns: Any, tenant_id: uuid.UUID, plan_id: Any, role: str) -> Any:
    """SELECT `columns` over a plan's current owners for a role, joined to their live accounts and scores;
    callers add joins with `.join_from` or group it."""
    a, acc, s = ASSIGNMENTS.c, ACCOUNTS.c, SCORES.c
    return (
        sa.select(*columns)
        .select_from(
            ASSIGNMENTS.join(ACCOUNTS, acc.id == a.account_id).outerjoin(SCORES, s.account_id == a.account_id)
        )
        .where(
            a.tenant_id == tenant_id,
            a.plan_id == plan_id,
            a.role == role,
            a.valid_to.is_(None),
            acc.deleted_at.is_(None),
        )
    )


async def book_for_balancing(
    conn: AsyncConnection, tenant_id: uuid.UUID, plan_id: Any, role: str
) -> list[Any]:
    """The plan's current owners for the role, with what balancing needs of each account."""
    a, acc, s = ASSIGNMENTS.c, ACCOUNTS.c, SCORES.c
    stmt = owned_book(
        a.id.label("assignment_id"),
        a.account_id,
        a.rep_id,
        a.territory_id,
        a.locked,
        acc.name.label("account_name"),
        acc.parent_id,
        acc.industry,
        acc.region,
        acc.segment,
        s.tier,
        s.potential,
        tenant_id=tenant_id,
        plan_id=plan_id,
        role=role,
    )
    return list((await conn.execute(stmt)).all())


async def parent_links(conn: AsyncConnection, tenant_id: uuid.UUID) -> dict[Any, Any]:
    """account id -> parent id, for the accounts that have a parent."""
    stmt = sa.select(ACCOUNTS.c.id, ACCOUNTS.c.parent_id).where(
        ACCOUNTS.c.tenant_id == tenant_id, ACCOUNTS.c.parent_id.is_not(None)
    )
    return {r.id: r.parent_id for r in await conn.execute(stmt)}


async def active_reps(conn: AsyncConnection, tenant_id: uuid.UUID) -> list[Any]:
    r = RepRow.__table__.c
    stmt = sa.select(r.id, r.name, r.role, r.ramp_status, r.expertise, r.capacity).where(
        r.tenant_id == tenant_id, r.end_date.is_(None)
    )
    return list((await conn.execute(stmt)).all())


async def accounts_with_open_pipeline(
    conn: AsyncConnection, tenant_id: uuid.UUID, account_ids: Sequence[Any]
) -> set[Any]:
    o = OpportunityRow.__table__.c
    found: set[Any] = set()
    ids = list(account_ids)
    for start in range(0, len(ids), 5_000):
        stmt = (
            sa.select(o.account_id)
            .distinct()
            .where(o.tenant_id == tenant_id, o.status == "open", o.account_id.in_(ids[start : start + 5_000]))
        )
        found |= set((await conn.execute(stmt)).scalars())
    return found


class AssigningStore:
    """`uow.assigning`: the reads and writes above, on the unit of work's connection and tenant (they
    commit with it)."""

    def __init__(self, uow: Any):
        self.uow = uow

    async def writes_while_deciding(self) -> bool:
        """Whether a long run may write as it goes: not on SQLite, whose one writer its run would hold
        (the operation's heartbeat and a cancel need it)."""
        return (await self.uow.connection()).dialect.name != "sqlite"

    async def plan_territories(self, plan_id: Any) -> list[Any]:
        return await plan_territories(await self.uow.connection(), self.uow.tenant_id, plan_id)

    async def chunks_with_evidence(
        self,
        plan_id: Any,
        role: str,
        size: int,
        fields: Collection[str] | None,
        windows: Sequence[datetime],
        kinds: Sequence[str],
    ) -> AsyncIterator[tuple[list[dict[str, Any]], dict[datetime, Evidence]]]:
        """The plan's accounts `size` at a time (accounts_for_rules) with each chunk's relationship evidence
        for every window, read ahead on a connection of its own (outside this transaction: it reads only
        accounts this transaction has not written yet), READ_AHEAD chunks at most: the reads of the next
        chunks overlap the caller's deciding and writing of this one (docs/domain.md, "Boundaries and
        assignment by rules"). Close it (contextlib.aclosing) when leaving early: that stops the reads."""
        tenant_id = self.uow.tenant_id
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=READ_AHEAD)

        async def produce() -> None:
            try:
                async with self.uow.reader() as conn:
                    async for chunk in accounts_for_rules(conn, tenant_id, plan_id, role, size, fields):
                        low, high = chunk[0]["id"], chunk[-1]["id"]
                        evidence = {
                            since: await relationship_evidence(conn, tenant_id, low, high, since, kinds)
                            for since in dict.fromkeys(windows)
                        }
                        await queue.put((chunk, evidence))
            except Exception as exc:  # the consumer raises it
                await queue.put(exc)
                return
            await queue.put(None)

        task = asyncio.create_task(produce())
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def end_assignments(self, ids: Sequence[Any], now: datetime) -> None:
        await end_assignments(await self.uow.connection(), self.uow.tenant_id, ids, now)

    async def add_assignments(self, rows: list[dict[str, Any]]) -> None:
        await add_assignments(await self.uow.connection(), rows)

    async def territory_rows(self, plan_id: Any) -> list[dict[str, Any]]:
        return await territory_rows(await self.uow.connection(), self.uow.tenant_id, plan_id)

    async def add_territories(self, rows: list[dict[str, Any]]) -> None:
        await add_territories(await self.uow.connection(), rows)

    async def current_assignments(self, plan_id: Any, size: int) -> AsyncIterator[list[dict[str, Any]]]:
        async for chunk in current_assignments(
            await self.uow.connection(), self.uow.tenant_id, plan_id, size
        ):
            yield chunk

    async def add_plan(self, row: dict[str, Any]) -> None:
        await add_plan(await self.uow.connection(), row)

    async def book_for_balancing(self, plan_id: Any, role: str) -> list[Any]:
        return await book_for_balancing(await self.uow.connection(), self.uow.tenant_id, plan_id, role)

    async def parent_links(self) -> dict[Any, Any]:
        return await parent_links(await self.uow.connection(), self.uow.tenant_id)

    async def active_reps(self) -> list[Any]:
        return await active_reps(await self.uow.connection(), self.uow.tenant_id)

    async def accounts_with_open_pipeline(self, account_ids: Sequence[Any]) -> set[Any]:
        if not account_ids:
            return set()
        return await accounts_with_open_pipeline(await self.uow.connection(), self.uow.tenant_id, account_ids)
