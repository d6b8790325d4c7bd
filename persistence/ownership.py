"""Ownership reads for lookups: a whole tenant at one log position (to build an index), a few accounts
(answers from SQL while no index is ready), the changes after a seq, and ownership as of a past date.

Each read is a few simple indexed queries combined in Python, so the answer never depends on the planner
choosing well for a multi-way outer join (right after a bulk load, table statistics may be missing).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from persistence import changes as change_log
from persistence.tables import AccountRow, AssignmentRow, ChangeRow, PlanRow, RepRow, TerritoryRow

ACCOUNTS = AccountRow.__table__
ASSIGNMENTS = AssignmentRow.__table__
CHANGES = ChangeRow.__table__
REPS = RepRow.__table__
TERRITORIES = TerritoryRow.__table__
CHUNK = 1_000


def _uuid(value: Any) -> uuid.UUID | None:
    """asyncpg answers its own UUID type; the index keys small tables by the standard one."""
    return None if value is None else value if type(value) is uuid.UUID else uuid.UUID(bytes=value.bytes)


@dataclass
class OwnershipRows:
    """What an ownership index is built from (domain.ownership.OwnershipIndex.build), at log position
    `seq`."""

    seq: int
    plan_id: uuid.UUID | None
    accounts: list[tuple[Any, str, str]] = field(default_factory=list)
    owners: list[tuple[Any, ...]] = field(default_factory=list)
    reps: list[tuple[Any, ...]] = field(default_factory=list)
    territories: list[tuple[Any, str]] = field(default_factory=list)

    def release(self) -> None:
        """Free the rows a slice at a time: freeing 100,000 rows at once is one C call that holds the GIL
        (the event loop, when this runs in a worker thread) for 20-40 ms."""
        for rows in (self.accounts, self.owners, self.reps, self.territories):
            _release(rows)


RELEASE_SLICE = 2_000


def _release(rows: list[Any]) -> None:
    while rows:
        del rows[-RELEASE_SLICE:]


async def _read(conn: AsyncConnection, tenant_id: uuid.UUID, external_ids: Sequence[str] | None) -> Any:
    seq = await change_log.head(conn, tenant_id)
    plan_stmt = sa.select(PlanRow.id).where(PlanRow.tenant_id == tenant_id, PlanRow.state == "active")
    plan_id = _uuid((await conn.execute(plan_stmt)).scalar_one_or_none())
    rows = OwnershipRows(seq, plan_id)
    stmt = sa.select(ACCOUNTS.c.id, ACCOUNTS.c.external_id, ACCOUNTS.c.name).where(
        ACCOUNTS.c.tenant_id == tenant_id, ACCOUNTS.c.deleted_at.is_(None)
    )
    if external_ids is not None:
        stmt = stmt.where(ACCOUNTS.c.external_id.in_(list(external_ids)))
    whole = external_ids is None
    rows.accounts = [tuple(r) for r in await _all(conn, stmt, whole)]
    if plan_id is None or not rows.accounts:
        return rows
    a = ASSIGNMENTS.c
    stmt = sa.select(a.account_id, a.role, a.rep_id, a.territory_id, a.valid_from, a.reason, a.note).where(
        a.tenant_id == tenant_id, a.plan_id == plan_id, a.valid_to.is_(None)
    )
    some = external_ids is not None and len(rows.accounts) <= CHUNK
    if some:
        stmt = stmt.where(a.account_id.in_([r[0] for r in rows.accounts]))
    assignments = await _all(conn, stmt, whole)
    since = await _since(conn, tenant_id, [r[0] for r in rows.accounts] if some else None)
    rep_ids = {r.rep_id for r in assignments}
    for r in assignments:
        last = since.get((r.account_id, r.role))
        # the time the owner took effect: its last change in the log (an activation that kept the owner
        # logs nothing), or the assignment's start for owners older than the log
        when = last[1] if last is not None and last[0] == r.rep_id else r.valid_from
        rows.owners.append(
            (r.account_id, r.role, _uuid(r.rep_id), _uuid(r.territory_id), when, r.reason, r.note)
        )
    stmt = sa.select(REPS.c.id, REPS.c.name, REPS.c.email, REPS.c.end_date).where(
        REPS.c.tenant_id == tenant_id
    )
    if len(rep_ids) <= CHUNK:
        stmt = stmt.where(REPS.c.id.in_(list(rep_ids)))
    rows.reps = [(_uuid(r[0]), r[1], r[2], r[3]) for r in (await conn.execute(stmt)).all()]
    stmt = sa.select(TERRITORIES.c.id, TERRITORIES.c.name).where(TERRITORIES.c.plan_id == plan_id)
    rows.territories = [(_uuid(r[0]), r[1]) for r in (await conn.execute(stmt)).all()]
    _release(assignments)
    while since:  # likewise, one entry at a time
        since.popitem()
    return rows


STREAM_PARTITION = 5_000


async def _all(conn: AsyncConnection, stmt: Any, whole: bool) -> list[Any]:
    """Every row. A whole tenant's (`whole`) is taken a partition at a time: the result rows are made in
    C, and 100,000 at once held the GIL (the event loop, when this runs in a worker thread) for 20-30 ms.
    A few accounts' rows are read at once (a server-side cursor would cost round trips)."""
    if not whole:
        return list((await conn.execute(stmt)).all())
    rows: list[Any] = []
    result = await conn.stream(stmt)
    async for part in result.partitions(STREAM_PARTITION):
        rows.extend(part)
    return rows


async def _since(
    conn: AsyncConnection, tenant_id: uuid.UUID, account_ids: Sequence[Any] | None
) -> dict[tuple[Any, str], tuple[Any, datetime]]:
    """(account, role) -> (rep, valid_from) of its last owner change."""
    last = await _latest(conn, tenant_id, "owner", account_ids)
    return {(r.subject_id, r.role): (r.to_rep_id, r.valid_from) for r in last}


async def _one_snapshot(conn: AsyncConnection) -> None:
    """Every read that follows sees one state of the database: on PostgreSQL one REPEATABLE READ
    transaction, on SQLite one read transaction (WAL). So the rows are exactly the state at the seq read."""
    if conn.dialect.name == "postgresql":
        await conn.execution_options(isolation_level="REPEATABLE READ")
    else:
        await conn.exec_driver_sql("BEGIN")


async def read_all(engine: AsyncEngine, tenant_id: uuid.UUID) -> OwnershipRows:
    """The whole tenant at one log position."""
    async with engine.connect() as conn:
        await _one_snapshot(conn)
        return await _read(conn, tenant_id, None)


async def read_some(engine: AsyncEngine, tenant_id: uuid.UUID, external_ids: Sequence[str]) -> OwnershipRows:
    async with engine.connect() as conn:
        await _one_snapshot(conn)
        return await _read(conn, tenant_id, list(set(external_ids)))


async def changes_after(engine: AsyncEngine, tenant_id: uuid.UUID, after: int, limit: int) -> list[Any]:
    async with engine.connect() as conn:
        return await change_log.read_after(conn, tenant_id, after, limit)


async def _latest(
    conn: AsyncConnection,
    tenant_id: uuid.UUID,
    kind: str,
    subject_ids: Sequence[Any] | None,
    at: datetime | None = None,
) -> list[Any]:
    """The last change of each subject (and role) of a kind: of these subjects (all when None), that took
    effect at or before `at` (any time when None)."""
    if subject_ids is not None and not subject_ids:
        return []
    c = CHANGES.c
    where = [c.tenant_id == tenant_id, c.kind == kind]
    if subject_ids is not None:
        where.append(c.subject_id.in_(list(subject_ids)))
    if at is not None:
        where.append(c.valid_from <= at)
    last = (
        sa.select(c.subject_id, c.role, sa.func.max(c.seq).label("seq"))
        .where(*where)
        .group_by(c.subject_id, c.role)
        .subquery()
    )
    stmt = sa.select(CHANGES).join(
        last,
        sa.and_(
            last.c.subject_id == c.subject_id,
            sa.or_(last.c.role == c.role, sa.and_(last.c.role.is_(None), c.role.is_(None))),
            last.c.seq == c.seq,
        ),
    )
    return await _all(conn, stmt.where(c.tenant_id == tenant_id), subject_ids is None)


async def read_as_of(
    engine: AsyncEngine, tenant_id: uuid.UUID, external_ids: Sequence[str], at: datetime
) -> OwnershipRows:
    """Ownership as it was at `at`, from the change log: the accounts that had these external ids, their
    owners, and the names they then had. Accounts, owners, reps and territories older than the log (it
    starts at migration 0007) are taken from the tables as they are now, if they existed at `at`."""
    c, acc = CHANGES.c, ACCOUNTS.c
    wanted = list(set(external_ids))
    async with engine.connect() as conn:
        await _one_snapshot(conn)
        seq_stmt = sa.select(sa.func.max(c.seq)).where(c.tenant_id == tenant_id, c.valid_from <= at)
        seq = int((await conn.execute(seq_stmt)).scalar() or 0)
        plan_stmt = (
            sa.select(c.subject_id)
            .where(c.tenant_id == tenant_id, c.kind == "plan", c.valid_from <= at)
            .order_by(c.seq.desc())
            .limit(1)
        )
        plan_id = (await conn.execute(plan_stmt)).scalar()
        if plan_id is None:  # activated before the log began
            plan_stmt = sa.select(PlanRow.id).where(
                PlanRow.tenant_id == tenant_id, PlanRow.activated_at <= at
            )
            plan_stmt = plan_stmt.order_by(PlanRow.activated_at.desc()).limit(1)
            plan_id = (await conn.execute(plan_stmt)).scalar()
        rows = OwnershipRows(seq, _uuid(plan_id))
        named = sa.select(c.subject_id, c.external_id).where(
            c.tenant_id == tenant_id, c.kind == "account", c.external_id.in_(wanted)
        )
        mentioned = (await conn.execute(named)).all()
        candidates = list({r.subject_id for r in mentioned})
        for r in await _latest(conn, tenant_id, "account", candidates, at):
            if r.external_id in wanted and not (r.data or {}).get("deleted"):
                rows.accounts.append((r.subject_id, r.external_id, r.data.get("name", "")))
        known = {r.external_id for r in mentioned}
        older = [e for e in wanted if e not in known]  # never named in the log: older than it
        if older:
            stmt = sa.select(acc.id, acc.external_id, acc.name).where(
                acc.tenant_id == tenant_id,
                acc.external_id.in_(older),
                sa.or_(acc.created_at.is_(None), acc.created_at <= at),
                sa.or_(acc.deleted_at.is_(None), acc.deleted_at > at),
            )
            rows.accounts += [tuple(r) for r in (await conn.execute(stmt)).all()]
        if plan_id is None or not rows.accounts:
            return rows
        ids = [r[0] for r in rows.accounts]
        owners = await _latest(conn, tenant_id, "owner", ids, at)
        rows.owners = [
            (r.subject_id, r.role, _uuid(r.to_rep_id), _uuid(r.to_territory_id), r.valid_from)
            + (r.cause, r.reason)
            for r in owners
            if r.to_rep_id is not None
        ]
        ever = sa.select(c.subject_id).where(
            c.tenant_id == tenant_id, c.kind == "owner", c.subject_id.in_(ids)
        )
        logged = set((await conn.execute(ever.distinct())).scalars())
        unlogged = [i for i in ids if i not in logged]
        if unlogged:  # owners older than the log, if they still hold the account and held it at `at`
            a = ASSIGNMENTS.c
            stmt = sa.select(
                a.account_id, a.role, a.rep_id, a.territory_id, a.valid_from, a.reason, a.note
            ).where(
                a.tenant_id == tenant_id,
                a.plan_id == plan_id,
                a.account_id.in_(unlogged),
                a.valid_from <= at,
                sa.or_(a.valid_to.is_(None), a.valid_to > at),
            )
            rows.owners += [
                (r[0], r[1], _uuid(r[2]), _uuid(r[3]), r[4], r[5], r[6]) for r in await conn.execute(stmt)
            ]
        rows.reps = await _named_as_of(conn, tenant_id, "rep", {o[2] for o in rows.owners}, at)
        territory_ids = {o[3] for o in rows.owners} - {None}
        rows.territories = await _named_as_of(conn, tenant_id, "territory", territory_ids, at)
        return rows


async def _named_as_of(
    conn: AsyncConnection, tenant_id: uuid.UUID, kind: str, ids: set[Any], at: datetime
) -> list[tuple[Any, ...]]:
    """Reps (id, name, email, end date) or territories (id, name) as they were at `at`; those the log has
    no change of are read as they are now."""
    out: dict[Any, tuple[Any, ...]] = {}
    for r in await _latest(conn, tenant_id, kind, list(ids), at):
        d = r.data or {}
        out[_uuid(r.subject_id)] = (
            (d.get("name"), d.get("email"), d.get("end_date")) if kind == "rep" else (d.get("name"),)
        )
    rest = [i for i in ids if i not in out]
    if rest:
        t = REPS if kind == "rep" else TERRITORIES
        cols = [t.c.id, t.c.name] + ([t.c.email, t.c.end_date] if kind == "rep" else [])
        for r in await conn.execute(sa.select(*cols).where(t.c.tenant_id == tenant_id, t.c.id.in_(rest))):
            out[_uuid(r[0])] = tuple(r[1:])
    return [(i, *v) for i, v in out.items()]
