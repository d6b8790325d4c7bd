"""Coverage facts kept current on ingest, and the report rows the coverage rules are judged on.

Facts are recomputed set-based (one INSERT ... SELECT per chunk of accounts, or one for the whole tenant),
never one query per account and never with the activities in Python. The predicates of
`domain.criteria` compile to SQL here, so a report over a million accounts is a few aggregate queries.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement, Executable

from domain.coverage import PATH_KINDS, RepTouch
from domain.criteria import All, AnyOf, Cond, Not, Pred
from persistence.stores import Store
from persistence.tables import (
    KINDS,
    AccountCoverageRow,
    AccountRow,
    AccountScoreRow,
    ActivityRow,
    AssignmentRow,
    OpportunityRow,
    PlanRow,
    RepRow,
    TerritoryRow,
    UTCDateTime,
)

ACCOUNTS = AccountRow.__table__
ACTIVITIES = ActivityRow.__table__
OPPORTUNITIES = OpportunityRow.__table__
COVERAGE = AccountCoverageRow.__table__
SCORES = AccountScoreRow.__table__
ASSIGNMENTS = AssignmentRow.__table__
PLANS = PlanRow.__table__
REPS = RepRow.__table__
TERRITORIES = TerritoryRow.__table__
PARTNER_PATHS = ("partner", "referral")  # domain.coverage.PARTNER_PATHS
CHUNK = 5_000  # accounts per statement when only some are recomputed
FULL_REFRESH_WORK_MEM = "256MB"


def _nonempty(col: Any) -> Any:
    return sa.and_(col.is_not(None), col != "")


def _latest_step(a: Any, past: Any, dialect: str) -> Any:
    """The next step of the latest past activity, in the same pass as the other facts: the greatest of
    (fixed-width time text + step) is the latest activity and, at one moment, the greatest documented step
    (an empty step is no step). SQLite stores times as fixed-width text already."""
    if dialect == "postgresql":
        stamp, width = sa.func.to_char(sa.func.timezone("UTC", a.occurred_at), "YYYYMMDDHH24MISSUS"), 20
    else:
        stamp, width = sa.cast(a.occurred_at, sa.String), 26  # 'YYYY-MM-DD HH:MM:SS.ffffff'
    keyed = sa.func.max(sa.case((past, stamp + sa.func.coalesce(a.next_step, ""))))
    return sa.func.nullif(sa.func.substr(keyed, width + 1), "")


def _activity_aggregate(
    tenant_id: uuid.UUID, now: datetime, accounts: Sequence[Any] | None, dialect: str
) -> Any:
    a = ACTIVITIES.c
    past = a.occurred_at <= now
    future = a.occurred_at > now
    cols = [a.account_id]
    for kind in KINDS:
        cols.append(
            sa.func.max(sa.case((sa.and_(a.kind == kind, past), a.occurred_at))).label(f"last_{kind}_at")
        )
    for kind in KINDS:
        cols.append(
            sa.func.min(sa.case((sa.and_(a.kind == kind, future), a.occurred_at))).label(f"next_{kind}_at")
        )
    cols += [
        sa.func.max(sa.case((sa.and_(past, _nonempty(a.contact)), a.occurred_at))).label("last_contact_at"),
        sa.func.max(sa.case((sa.and_(past, a.direction == "inbound"), a.occurred_at))).label(
            "last_inbound_at"
        ),
        sa.func.max(sa.case((sa.and_(past, a.path.in_(PARTNER_PATHS)), a.occurred_at))).label(
            "last_partner_at"
        ),
        *(
            sa.func.max(sa.case((sa.and_(past, a.path == path), a.occurred_at))).label(f"last_{path}_path_at")
            for path in PATH_KINDS
        ),
        sa.func.max(sa.case((past, a.occurred_at))).label("last_activity_at"),
        sa.func.min(sa.case((future, a.occurred_at))).label("due_at"),
        _latest_step(a, past, dialect).label("next_step"),
    ]
    stmt = sa.select(*cols).where(a.tenant_id == tenant_id)
    if accounts is not None:
        stmt = stmt.where(a.account_id.in_(accounts))
    return stmt.group_by(a.account_id).subquery("act")


def _opportunity_aggregate(tenant_id: uuid.UUID, accounts: Sequence[Any] | None) -> Any:
    o = OPPORTUNITIES.c
    stmt = sa.select(
        o.account_id,
        sa.func.sum(o.amount).label("open_pipeline"),
        sa.func.count().label("open_opportunities"),
    ).where(o.tenant_id == tenant_id, o.status == "open")
    if accounts is not None:
        stmt = stmt.where(o.account_id.in_(accounts))
    return stmt.group_by(o.account_id).subquery("opp")


async def _refresh(
    conn: AsyncConnection, tenant_id: uuid.UUID, now: datetime, accounts: Sequence[Any] | None
) -> None:
    scope = [COVERAGE.c.tenant_id == tenant_id]
    if accounts is not None:
        scope.append(COVERAGE.c.account_id.in_(accounts))
    await conn.execute(sa.delete(COVERAGE).where(*scope))
    act = _activity_aggregate(tenant_id, now, accounts, conn.dialect.name)
    opp = _opportunity_aggregate(tenant_id, accounts)
    facts = [c.name for c in act.c if c.name != "account_id"]
    select = (
        sa.select(
            ACCOUNTS.c.id,
            ACCOUNTS.c.tenant_id,
            *(act.c[name] for name in facts),
            sa.func.coalesce(opp.c.open_pipeline, 0.0),
            sa.func.coalesce(opp.c.open_opportunities, 0),
            sa.literal(now, UTCDateTime()),
        )
        .select_from(
            ACCOUNTS.outerjoin(act, act.c.account_id == ACCOUNTS.c.id).outerjoin(
                opp, opp.c.account_id == ACCOUNTS.c.id
            )
        )
        .where(
            ACCOUNTS.c.tenant_id == tenant_id,
            sa.or_(act.c.account_id.is_not(None), opp.c.account_id.is_not(None)),
        )
    )
    if accounts is not None:
        select = select.where(ACCOUNTS.c.id.in_(accounts))
    columns = ["account_id", "tenant_id", *facts, "open_pipeline", "open_opportunities", "as_of"]
    if accounts is None and conn.dialect.name == "postgresql":
        # PostgreSQL plans INSERT ... SELECT without parallel workers, but CREATE TABLE AS with them: build
        # a whole tenant's facts in a scratch table, then copy them in
        await conn.execute(
            _CreateTempAs(
                "coverage_load",
                select.with_only_columns(
                    *(c.label(name) for c, name in zip(select.selected_columns, columns, strict=True))
                ),
            )
        )
        load = sa.table("coverage_load", *(sa.column(n) for n in columns))
        await conn.execute(sa.insert(COVERAGE).from_select(columns, sa.select(*load.c)))
        await conn.execute(sa.text("DROP TABLE coverage_load"))
        return
    await conn.execute(sa.insert(COVERAGE).from_select(columns, select))


class _CreateTempAs(Executable, ClauseElement):
    inherit_cache = False

    def __init__(self, name: str, select: Any) -> None:
        self.name = name
        self.select = select


@compiles(_CreateTempAs)
def _create_temp_as(element: _CreateTempAs, compiler: Any, **kw: Any) -> str:
    return f"CREATE TEMP TABLE {element.name} AS {compiler.process(element.select, **kw)}"


async def refresh_facts(
    conn: AsyncConnection, tenant_id: uuid.UUID, now: datetime, accounts: Collection[Any] | None = None
) -> None:
    """Recompute the coverage facts of `accounts` (None: every account of the tenant, in one statement).

    Named accounts go by chunks through the (tenant, account, time) index, so the cost follows the
    activities of the accounts an import touched, not the size of the tenant.
    """
    if accounts is None:
        if conn.dialect.name == "postgresql":  # aggregate a whole tenant in memory rather than spill
            await conn.execute(sa.text(f"SET LOCAL work_mem = '{FULL_REFRESH_WORK_MEM}'"))
        await _refresh(conn, tenant_id, now, None)
        return
    ids = list(accounts)
    for i in range(0, len(ids), CHUNK):
        await _refresh(conn, tenant_id, now, ids[i : i + CHUNK])


async def refresh_due(conn: AsyncConnection, tenant_id: uuid.UUID, now: datetime) -> int:
    """Recompute the facts of accounts whose planned activity has happened since they were computed."""
    due = (
        (
            await conn.execute(
                sa.select(COVERAGE.c.account_id).where(
                    COVERAGE.c.tenant_id == tenant_id, COVERAGE.c.due_at <= now
                )
            )
        )
        .scalars()
        .all()
    )
    if due:
        await refresh_facts(conn, tenant_id, now, due)
    return len(due)


async def read_facts(conn: AsyncConnection, tenant_id: uuid.UUID, account_id: Any) -> dict[str, Any] | None:
    row = (
        (
            await conn.execute(
                sa.select(COVERAGE).where(
                    COVERAGE.c.tenant_id == tenant_id, COVERAGE.c.account_id == account_id
                )
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def read_touches(
    conn: AsyncConnection, tenant_id: uuid.UUID, account_ids: Sequence[Any], now: datetime
) -> list[RepTouch]:
    """(account id, rep id, last touch, touches) of the accounts' past activities, per rep.

    Read from the activities' (tenant, account, time) index rather than kept as a table: per (account,
    rep) pairs are nearly as many as activities, and maintaining them cost more than reading them.
    """
    a = ACTIVITIES.c
    stmt = (
        sa.select(
            a.account_id,
            a.rep_id,
            sa.func.max(a.occurred_at).label("last_touch_at"),
            sa.func.count().label("touches"),
        )
        .where(
            a.tenant_id == tenant_id,
            a.account_id.in_(list(account_ids)),
            a.rep_id.is_not(None),
            a.occurred_at <= now,
        )
        .group_by(a.account_id, a.rep_id)
    )
    return [RepTouch(r[0], r[1], r[2], int(r[3])) for r in await conn.execute(stmt)]


def overlapping_accounts(tenant_id: uuid.UUID, since: datetime, now: datetime, role: str | None) -> Any:
    """Accounts touched by two or more reps of one role between `since` and `now` (the window's slice of
    the activities, through the (tenant, time) index)."""
    a = ACTIVITIES.c
    stmt = (
        sa.select(a.account_id)
        .select_from(ACTIVITIES.join(REPS, REPS.c.id == a.rep_id))
        .where(a.tenant_id == tenant_id, a.occurred_at >= since, a.occurred_at <= now)
        .group_by(a.account_id, REPS.c.role)
        .having(sa.func.count(sa.distinct(a.rep_id)) >= 2)
    )
    if role is not None:
        stmt = stmt.where(REPS.c.role == role)
    return stmt


# ---- report rows: account + score + facts + owner of record in the active plan -------------------------

ACCOUNT_FIELDS = (
    "external_id",
    "name",
    "stage",
    "segment",
    "tags",
    "churn_risk",
    "expansion_estimate",
    "current_arr",
    "industry",
    "region",
    "relationship",
    "intent",
    "strategic",
)
SCORE_FIELDS = ("tier", "icp_fit", "potential", "score")


def compile_pred(pred: Pred, fields: Mapping[str, Any], dialect: str) -> Any:
    """SQL for a domain predicate over named columns; a condition on NULL is false, as in
    `domain.criteria.evaluate`."""
    if isinstance(pred, All):
        return sa.and_(sa.true(), *(compile_pred(p, fields, dialect) for p in pred.parts))
    if isinstance(pred, AnyOf):
        return sa.or_(sa.false(), *(compile_pred(p, fields, dialect) for p in pred.parts))
    if isinstance(pred, Not):
        return sa.not_(compile_pred(pred.part, fields, dialect))
    assert isinstance(pred, Cond)
    col = fields[pred.field]
    op, value = pred.op, pred.value
    if op == "has_any":
        if dialect == "postgresql":
            test = sa.cast(col, JSONB).op("?|")(sa.cast(sa.literal(list(value)), ARRAY(sa.Text)))
        else:
            each = sa.func.json_each(col).table_valued("value")
            test = sa.exists(sa.select(1).select_from(each).where(each.c.value.in_(list(value))))
    elif op == "prefix":
        test = sa.or_(*(col.startswith(v, autoescape=True) for v in value))
    elif op == "truthy":
        test = col != ("" if isinstance(col.type, sa.String) else False)
    elif op == "not_null":
        test = sa.true()
    elif op == "in":
        test = col.in_(list(value))
    else:
        test = getattr(col, f"__{op}__")(value)
    return sa.and_(col.is_not(None), test)


class ReportRows:
    """The live accounts of a tenant with their score, facts and owner for one role, as named columns."""

    def __init__(self, tenant_id: uuid.UUID, role: str, dialect: str) -> None:
        self.dialect = dialect
        active = (
            sa.select(PLANS.c.id)
            .where(PLANS.c.tenant_id == tenant_id, PLANS.c.state == "active")
            .scalar_subquery()
        )
        owner = (
            sa.select(ASSIGNMENTS.c.account_id, ASSIGNMENTS.c.rep_id, ASSIGNMENTS.c.territory_id)
            .where(
                ASSIGNMENTS.c.plan_id == active,
                ASSIGNMENTS.c.role == role,
                ASSIGNMENTS.c.valid_to.is_(None),
            )
            .subquery("owner")
        )
        self.from_ = (
            ACCOUNTS.outerjoin(SCORES, SCORES.c.account_id == ACCOUNTS.c.id)
            .outerjoin(COVERAGE, COVERAGE.c.account_id == ACCOUNTS.c.id)
            .outerjoin(owner, owner.c.account_id == ACCOUNTS.c.id)
        )
        self.scope = [ACCOUNTS.c.tenant_id == tenant_id, ACCOUNTS.c.deleted_at.is_(None)]
        self.fields: dict[str, Any] = {"account_id": ACCOUNTS.c.id}
        self.fields |= {f: ACCOUNTS.c[f] for f in ACCOUNT_FIELDS}
        self.fields |= {f: SCORES.c[f] for f in SCORE_FIELDS}
        self.fields |= {c.name: c for c in COVERAGE.c if c.name not in ("account_id", "tenant_id")}
        self.fields |= {"rep_id": owner.c.rep_id, "territory_id": owner.c.territory_id}

    def compile(self, pred: Pred) -> Any:
        """SQL for a domain predicate; a condition on NULL is false, as in `domain.criteria.evaluate`."""
        return compile_pred(pred, self.fields, self.dialect)

    def select(self, *columns: Any) -> Any:
        return sa.select(*columns).select_from(self.from_).where(*self.scope)

    def count_case(self, pred: Pred, label: str) -> Any:
        return sa.func.sum(sa.case((self.compile(pred), 1), else_=0)).label(label)


async def count_facts(conn: AsyncConnection, tenant_id: uuid.UUID) -> int:
    stmt = sa.select(sa.func.count()).select_from(COVERAGE).where(COVERAGE.c.tenant_id == tenant_id)
    return int((await conn.execute(stmt)).scalar_one())


class RepLabel(NamedTuple):
    name: str | None
    role: str | None


class AccountLabel(NamedTuple):
    external_id: str
    name: str


class CoverageStore(Store):
    """Coverage facts and the report rows of the unit of work's tenant (`uow.coverage`)."""

    async def refresh_facts(self, now: datetime, accounts: Collection[Any] | None = None) -> None:
        await refresh_facts(await self.connection(), self.tenant_id, now, accounts)

    async def refresh_due(self, now: datetime) -> int:
        return await refresh_due(await self.connection(), self.tenant_id, now)

    async def count_facts(self) -> int:
        return await count_facts(await self.connection(), self.tenant_id)

    async def touches(self, account_ids: Sequence[Any], now: datetime) -> list[RepTouch]:
        if not account_ids:
            return []
        return await read_touches(await self.connection(), self.tenant_id, account_ids, now)

    async def _report_rows(self, role: str) -> tuple[AsyncConnection, ReportRows]:
        conn = await self.connection()
        return conn, ReportRows(self.tenant_id, role, conn.dialect.name)

    async def aggregate(
        self,
        role: str,
        where: Sequence[Pred] = (),
        group_by: Sequence[str] = (),
        counts: Mapping[str, Pred] | None = None,
        sums: Mapping[str, str] | None = None,
        count: str = "n",
    ) -> list[dict[str, Any]]:
        """One aggregate over the report rows of `role` that satisfy `where`, grouped by the named fields:
        the rows (`count`), the rows satisfying each predicate of `counts`, the sum of each field of `sums`
        (0.0 when none), under their labels."""
        conn, r = await self._report_rows(role)
        group = [r.fields[name] for name in group_by]
        stmt = r.select(
            *(col.label(name) for name, col in zip(group_by, group, strict=True)),
            sa.func.count().label(count),
            *(r.count_case(pred, label) for label, pred in (counts or {}).items()),
            *(
                sa.func.coalesce(sa.func.sum(r.fields[name]), 0.0).label(label)
                for label, name in (sums or {}).items()
            ),
        ).where(*(r.compile(p) for p in where))
        if group:
            stmt = stmt.group_by(*group)
        return [dict(row) for row in (await conn.execute(stmt)).mappings()]

    async def accounts(
        self,
        role: str,
        where: Sequence[Pred] = (),
        order_by: Sequence[str] = ("account_id",),
        limit: int | None = None,
        fields: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Report rows of `role` satisfying `where`, with the named fields (None: all), in order ("-field":
        highest first, nulls last)."""
        conn, r = await self._report_rows(role)
        names = list(r.fields) if fields is None else fields
        order = [r.fields[k[1:]].desc().nulls_last() if k.startswith("-") else r.fields[k] for k in order_by]
        stmt = (
            r.select(*(r.fields[name].label(name) for name in names))
            .where(*(r.compile(p) for p in where))
            .order_by(*order)
            .limit(limit)
        )
        return [dict(row) for row in (await conn.execute(stmt)).mappings()]

    async def overlapping_accounts(
        self, since: datetime, now: datetime, role: str | None, after: Any, limit: int
    ) -> list[Any]:
        """Ids of accounts with an overlap in the window, after `after`, in id order, `limit` at most."""
        stmt = overlapping_accounts(self.tenant_id, since, now, role)
        if after is not None:
            stmt = stmt.where(ACTIVITIES.c.account_id > after)
        stmt = sa.select(stmt.subquery().c.account_id).distinct().order_by("account_id").limit(limit)
        return list((await (await self.connection()).execute(stmt)).scalars())

    async def last_worked(
        self, account_ids: Sequence[Any], kinds: Sequence[str], now: datetime
    ) -> dict[Any, tuple[datetime, Any]]:
        """Per account: when its latest past activity of `kinds` happened and by which rep (None: no rep
        named); at one moment the greatest rep id, so the answer does not depend on storage order."""
        if not account_ids:
            return {}
        a = ACTIVITIES.c
        scope = [
            a.tenant_id == self.tenant_id,
            a.account_id.in_(list(account_ids)),
            a.kind.in_(list(kinds)),
            a.occurred_at <= now,
        ]
        latest = (
            sa.select(a.account_id, sa.func.max(a.occurred_at).label("at"))
            .where(*scope)
            .group_by(a.account_id)
            .subquery("latest")
        )
        stmt = (
            sa.select(a.account_id, latest.c.at, a.rep_id)
            .join(latest, sa.and_(latest.c.account_id == a.account_id, latest.c.at == a.occurred_at))
            .where(*scope)
        )
        out: dict[Any, tuple[datetime, Any]] = {}
        for r in await (await self.connection()).execute(stmt):
            kept = out.get(r.account_id)
            if kept is None or str(r.rep_id) > str(kept[1]):
                out[r.account_id] = (r.at, r.rep_id)
        return out

    async def account_labels(self, ids: Sequence[Any]) -> dict[Any, AccountLabel]:
        """External id and name of the accounts, soft-deleted ones too (their activities stay)."""
        if not ids:
            return {}
        a = ACCOUNTS.c
        stmt = sa.select(a.id, a.external_id, a.name).where(
            a.tenant_id == self.tenant_id, a.id.in_(list(ids))
        )
        rows = await (await self.connection()).execute(stmt)
        return {r.id: AccountLabel(r.external_id, r.name) for r in rows}

    async def rep_labels(self, ids: Collection[Any]) -> dict[Any, RepLabel]:
        if not ids:
            return {}
        stmt = sa.select(REPS.c.id, REPS.c.name, REPS.c.role).where(
            REPS.c.tenant_id == self.tenant_id, REPS.c.id.in_(list(ids))
        )
        return {r.id: RepLabel(r.name, r.role) for r in await (await self.connection()).execute(stmt)}

    async def territory_names(self, ids: Collection[Any]) -> dict[Any, str]:
        if not ids:
            return {}
        stmt = sa.select(TERRITORIES.c.id, TERRITORIES.c.name).where(
            TERRITORIES.c.tenant_id == self.tenant_id, TERRITORIES.c.id.in_(list(ids))
        )
        return {r.id: r.name for r in await (await self.connection()).execute(stmt)}
