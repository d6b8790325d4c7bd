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

from domain.changes import DepartureRecord
from domain.defaults import MAX_FAMILY_DEPTH
from domain.ownership import PARENT_DEAL_THRESHOLD
from persistence import changes as change_log
from persistence.tables import (
    AccountRow,
    AssignmentRow,
    ChangeRow,
    DepartureRow,
    EngagementPolicyRow,
    PlanRow,
    RepRow,
    TerritoryRow,
)

ACCOUNTS = AccountRow.__table__
ASSIGNMENTS = AssignmentRow.__table__
CHANGES = ChangeRow.__table__
REPS = RepRow.__table__
TERRITORIES = TerritoryRow.__table__
DEPARTURES = DepartureRow.__table__
POLICIES = EngagementPolicyRow.__table__
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
    accounts: list[tuple[Any, ...]] = field(default_factory=list)  # (id, external id, name, parent id)
    owners: list[tuple[Any, ...]] = field(default_factory=list)
    reps: list[tuple[Any, ...]] = field(default_factory=list)
    territories: list[tuple[Any, str]] = field(default_factory=list)
    parent_deal_threshold: float = PARENT_DEAL_THRESHOLD  # the engagement policy's

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
    rows = OwnershipRows(seq, plan_id, parent_deal_threshold=await _threshold(conn, tenant_id, None))
    acc = ACCOUNTS.c
    stmt = sa.select(acc.id, acc.external_id, acc.name, acc.parent_id).where(
        acc.tenant_id == tenant_id, acc.deleted_at.is_(None)
    )
    whole = external_ids is None
    if whole:
        rows.accounts = [tuple(r) for r in await _all(conn, stmt, whole)]
    else:
        rows.accounts = [
            tuple(r) for r in (await conn.execute(stmt.where(acc.external_id.in_(external_ids))))
        ]
        # their families' accounts up to the top, so the answer can name the accountable owner
        known = {r[0] for r in rows.accounts}
        wanted = {r[3] for r in rows.accounts} - known - {None}
        for _ in range(MAX_FAMILY_DEPTH):
            if not wanted:
                break
            found = [tuple(r) for r in await conn.execute(stmt.where(acc.id.in_(list(wanted))))]
            rows.accounts += found
            known |= wanted
            wanted = {r[3] for r in found} - known - {None}
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
    departures = await _departures(conn, tenant_id, rep_ids if len(rep_ids) <= CHUNK else None)
    rows.reps = [
        (_uuid(r[0]), r[1], r[2], r[3], departures.get(_uuid(r[0]))) for r in (await conn.execute(stmt)).all()
    ]
    stmt = sa.select(TERRITORIES.c.id, TERRITORIES.c.name).where(TERRITORIES.c.plan_id == plan_id)
    rows.territories = [(_uuid(r[0]), r[1]) for r in (await conn.execute(stmt)).all()]
    _release(assignments)
    while since:  # likewise, one entry at a time
        since.popitem()
    return rows


async def _departures(
    conn: AsyncConnection, tenant_id: uuid.UUID, rep_ids: set[Any] | None
) -> dict[uuid.UUID | None, DepartureRecord]:
    """The recorded departures of these reps (all when None), with the interim owner's name."""
    d, interim = DEPARTURES.c, REPS.alias("interim")
    stmt = (
        sa.select(d.rep_id, d.last_day, d.interim_rep_id, d.recorded_at, interim.c.name)
        .select_from(DEPARTURES.outerjoin(interim, interim.c.id == d.interim_rep_id))
        .where(d.tenant_id == tenant_id)
    )
    if rep_ids is not None:
        if not rep_ids:
            return {}
        stmt = stmt.where(d.rep_id.in_(list(rep_ids)))
    return {
        _uuid(r[0]): DepartureRecord(r[3], str(r[1]), _uuid(r[2]), r[4]) for r in await conn.execute(stmt)
    }


async def _threshold(conn: AsyncConnection, tenant_id: uuid.UUID, at: datetime | None) -> float:
    """The family threshold of the engagement policy in force (at `at`, when given): its saved body."""
    p = POLICIES.c
    stmt = sa.select(p.body).where(p.tenant_id == tenant_id)
    if at is not None:
        stmt = stmt.where(p.saved_at <= at)
    body = (await conn.execute(stmt.order_by(p.version.desc()).limit(1))).scalar()
    return float((body or {}).get("parent_deal_threshold", PARENT_DEAL_THRESHOLD))


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
        threshold = await _threshold(conn, tenant_id, at)
        rows = OwnershipRows(seq, _uuid(plan_id), parent_deal_threshold=threshold)
        named = sa.select(c.subject_id, c.external_id).where(
            c.tenant_id == tenant_id, c.kind == "account", c.external_id.in_(wanted)
        )
        mentioned = (await conn.execute(named)).all()
        candidates = list({r.subject_id for r in mentioned})
        logged = [
            r
            for r in await _latest(conn, tenant_id, "account", candidates, at)
            if r.external_id in wanted and not (r.data or {}).get("deleted")
        ]
        rows.accounts = await _with_parents(conn, tenant_id, logged)
        known = {r.external_id for r in mentioned}
        older = [e for e in wanted if e not in known]  # never named in the log: older than it
        if older:
            stmt = _older_accounts(tenant_id, at).where(acc.external_id.in_(older))
            rows.accounts += [tuple(r) for r in (await conn.execute(stmt)).all()]
        rows.accounts += await _ancestors_as_of(conn, tenant_id, rows.accounts, at)
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
        rep_ids = {o[2] for o in rows.owners}
        departures = await _departures_as_of(conn, tenant_id, rep_ids, at)
        reps = await _named_as_of(conn, tenant_id, "rep", rep_ids, at)
        rows.reps = [(*r, departures.get(r[0])) for r in reps]
        territory_ids = {o[3] for o in rows.owners} - {None}
        rows.territories = await _named_as_of(conn, tenant_id, "territory", territory_ids, at)
        return rows


def _older_accounts(tenant_id: uuid.UUID, at: datetime) -> sa.Select:
    """Accounts as the table has them, that existed at `at` (for those older than the log)."""
    acc = ACCOUNTS.c
    return sa.select(acc.id, acc.external_id, acc.name, acc.parent_id).where(
        acc.tenant_id == tenant_id,
        sa.or_(acc.created_at.is_(None), acc.created_at <= at),
        sa.or_(acc.deleted_at.is_(None), acc.deleted_at > at),
    )


async def _with_parents(conn: AsyncConnection, tenant_id: uuid.UUID, logged: list[Any]) -> list[tuple]:
    """(id, external id, name, parent id) of accounts from their log entries; an entry older than the
    parent field takes the parent the table has now."""
    older = [r.subject_id for r in logged if "parent_id" not in (r.data or {})]
    parents: dict[Any, Any] = {}
    if older:
        stmt = sa.select(ACCOUNTS.c.id, ACCOUNTS.c.parent_id).where(
            ACCOUNTS.c.tenant_id == tenant_id, ACCOUNTS.c.id.in_(older)
        )
        parents = {r[0]: r[1] for r in await conn.execute(stmt)}
    out = []
    for r in logged:
        d = r.data or {}
        if "parent_id" in d:
            parent = None if d["parent_id"] is None else uuid.UUID(str(d["parent_id"]))
        else:
            parent = parents.get(r.subject_id)
        out.append((r.subject_id, r.external_id, d.get("name", ""), parent))
    return out


async def _ancestors_as_of(
    conn: AsyncConnection, tenant_id: uuid.UUID, accounts: list[tuple], at: datetime
) -> list[tuple]:
    """The accounts above these in their families as they were at `at`, up to each family's top."""
    out: list[tuple] = []
    known = {_uuid(a[0]) for a in accounts}
    wanted = {_uuid(a[3]) for a in accounts} - known - {None}
    for _ in range(MAX_FAMILY_DEPTH):
        if not wanted:
            break
        logged = await _latest(conn, tenant_id, "account", list(wanted), at)
        found = await _with_parents(conn, tenant_id, [r for r in logged if not (r.data or {}).get("deleted")])
        unlogged = wanted - {_uuid(r.subject_id) for r in logged}
        if unlogged:
            stmt = _older_accounts(tenant_id, at).where(ACCOUNTS.c.id.in_(list(unlogged)))
            found += [tuple(r) for r in await conn.execute(stmt)]
        out += found
        known |= wanted
        wanted = {_uuid(a[3]) for a in found} - known - {None}
    return out


async def _departures_as_of(
    conn: AsyncConnection, tenant_id: uuid.UUID, rep_ids: set[Any], at: datetime
) -> dict[Any, DepartureRecord]:
    """The departures recorded for these reps as the log had them at `at`: each rep's changes folded in
    order, an entry without the field keeping the one before (reps change rarely)."""
    if not rep_ids:
        return {}
    c = CHANGES.c
    stmt = (
        sa.select(c.subject_id, c.data)
        .where(c.tenant_id == tenant_id, c.kind == "rep", c.subject_id.in_(list(rep_ids)), c.valid_from <= at)
        .order_by(c.seq)
    )
    out: dict[Any, DepartureRecord | None] = {}
    for subject, data in await conn.execute(stmt):
        if "departure" in (data or {}):
            out[_uuid(subject)] = DepartureRecord.from_data(data["departure"])
    return {k: v for k, v in out.items() if v is not None}


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
