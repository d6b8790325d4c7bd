"""Repositories and the unit of work on both databases: tenant scoping and the constraints behind rules."""

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from api.services.context import AppContext
from domain.errors import Conflict
from domain.model import Account, Assignment, Plan, PlanState, Rep, Role, Stage, Territory
from persistence.db import make_session_factory
from persistence.imports import insert_many
from persistence.tables import AccountRow, AssignmentRow, PlanRow, RepRow, TerritoryRow
from tests.conftest import make_tenant

ASSIGNMENTS = AssignmentRow.__table__
TABLES = {r.__tablename__: r.__table__ for r in (AccountRow, PlanRow, RepRow, TerritoryRow)}


@pytest.fixture
def ctx(engine):
    return AppContext(engine=engine, session_factory=make_session_factory(engine))


async def test_a_repository_sees_only_its_tenant(ctx, engine):
    a, b = await make_tenant(engine), await make_tenant(engine)
    async with ctx.uow(a.tenant_id) as uow:
        acc = await uow.accounts.add(Account(uuid.uuid4(), a.tenant_id, "SAME", "A's", stage=Stage.CUSTOMER))
        await uow.commit()
    async with ctx.uow(b.tenant_id) as uow:
        assert await uow.accounts.get(acc.id) is None
        assert await uow.accounts.get_by_external_id("SAME") is None
        other = await uow.accounts.add(Account(uuid.uuid4(), b.tenant_id, "SAME", "B's"))
        await uow.commit()
    async with ctx.uow(a.tenant_id) as uow:
        got = await uow.accounts.get(acc.id)
        assert got.stage == Stage.CUSTOMER and got.created_at.tzinfo is not None
        assert [x.id for x in await uow.accounts.list({}, None, 10)] == [acc.id]
    assert other.id != acc.id


async def test_the_database_refuses_a_second_active_plan(ctx, engine):
    t = await make_tenant(engine)
    async with ctx.uow(t.tenant_id) as uow:
        await uow.plans.add(Plan(uuid.uuid4(), t.tenant_id, "one", PlanState.ACTIVE))
        with pytest.raises(Conflict) as err:
            await uow.plans.add(Plan(uuid.uuid4(), t.tenant_id, "two", PlanState.ACTIVE))
        assert err.value.code == "active_plan_exists"


async def test_the_database_refuses_a_second_current_owner_but_keeps_history(ctx, engine):
    t = await make_tenant(engine)
    now = datetime.now(UTC)
    async with ctx.uow(t.tenant_id) as uow:
        plan = await uow.plans.add(Plan(uuid.uuid4(), t.tenant_id, "p"))
        acc = await uow.accounts.add(Account(uuid.uuid4(), t.tenant_id, "A", "a"))
        rep = await uow.reps.add(Rep(uuid.uuid4(), t.tenant_id, "R", "r", "r@example.com"))
        first = await uow.assignments.add(
            Assignment(uuid.uuid4(), t.tenant_id, plan.id, acc.id, rep.id, Role.AE, valid_from=now)
        )
        await uow.assignments.update(first.id, {"valid_to": now})
        await uow.assignments.add(
            Assignment(uuid.uuid4(), t.tenant_id, plan.id, acc.id, rep.id, Role.AE, valid_from=now)
        )
        with pytest.raises(Conflict) as err:
            await uow.assignments.add(
                Assignment(uuid.uuid4(), t.tenant_id, plan.id, acc.id, rep.id, Role.AE, valid_from=now)
            )
        assert err.value.code == "owner_exists"


async def test_nothing_is_written_without_commit(ctx, engine):
    t = await make_tenant(engine)
    async with ctx.uow(t.tenant_id) as uow:
        await uow.accounts.add(Account(uuid.uuid4(), t.tenant_id, "GONE", "x"))
    async with ctx.uow(t.tenant_id) as uow:
        assert await uow.accounts.get_by_external_id("GONE") is None


async def test_every_unique_rule_is_a_conflict_naming_its_field_on_both_databases(ctx, engine):
    """The rules are found by constraint name (PostgreSQL) or by the columns SQLite names: each one the
    database keeps is a 409 with its code and field, never the catch-all."""
    t = await make_tenant(engine)
    seen = {}
    async with ctx.uow(t.tenant_id) as uow:
        plan = await uow.plans.add(Plan(uuid.uuid4(), t.tenant_id, "p"))
        await uow.commit()
    cases = {
        "accounts": lambda uow: uow.accounts.add(Account(uuid.uuid4(), t.tenant_id, "DUP", "a")),
        "reps": lambda uow: uow.reps.add(Rep(uuid.uuid4(), t.tenant_id, "DUP", "r", "r@example.com")),
        "territories": lambda uow: uow.territories.add(
            Territory(uuid.uuid4(), t.tenant_id, plan.id, "North")
        ),
    }
    for table, add in cases.items():
        async with ctx.uow(t.tenant_id) as uow:
            await add(uow)
            await uow.commit()
        async with ctx.uow(t.tenant_id) as uow:
            with pytest.raises(Conflict) as err:
                await add(uow)
            seen[table] = (err.value.code, [e.field for e in err.value.errors])
    assert seen == {
        "accounts": ("duplicate_external_id", ["external_id"]),
        "reps": ("duplicate_external_id", ["external_id"]),
        "territories": ("duplicate_name", ["name"]),
    }


async def _book(ctx, tenant_id):  # noqa: ANN001
    """A plan with a territory, a rep and two accounts, each account assigned to the rep there."""
    now = datetime.now(UTC)
    async with ctx.uow(tenant_id) as uow:
        plan = await uow.plans.add(Plan(uuid.uuid4(), tenant_id, "p"))
        territory = await uow.territories.add(Territory(uuid.uuid4(), tenant_id, plan.id, "T"))
        rep = await uow.reps.add(Rep(uuid.uuid4(), tenant_id, f"R{uuid.uuid4()}", "r", "r@example.com"))
        ids = {"plan": plan.id, "territory": territory.id, "rep": rep.id}
        for a in ("a1", "a2"):
            ids[a] = (await uow.accounts.add(Account(uuid.uuid4(), tenant_id, str(uuid.uuid4()), a))).id
        await uow.commit()
    async with ctx.engine.begin() as conn:
        await insert_many(
            conn, "assignments", [_assignment(ids, tenant_id, ids[a], now) for a in ("a1", "a2")]
        )
    return ids


async def _accounts(ctx, tenant_id, n):  # noqa: ANN001
    async with ctx.uow(tenant_id) as uow:
        out = [
            (await uow.accounts.add(Account(uuid.uuid4(), tenant_id, str(uuid.uuid4()), "x"))).id
            for _ in range(n)
        ]
        await uow.commit()
    return out


def _assignment(ids, tenant_id, account_id, now, **change):  # noqa: ANN001
    return {
        "id": uuid.uuid4(),
        "tenant_id": tenant_id,
        "plan_id": ids["plan"],
        "account_id": account_id,
        "territory_id": ids["territory"],
        "rep_id": ids["rep"],
        "role": "AE",
        "locked": False,
        "reason": "rule",
        "valid_from": now,
        "version": 1,
    } | change


async def _assigned(engine, tenant_id):  # noqa: ANN001
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(ASSIGNMENTS.c.account_id, ASSIGNMENTS.c.territory_id).where(
                ASSIGNMENTS.c.tenant_id == tenant_id
            )
        )
        return {r.account_id: r.territory_id for r in rows}


@pytest.mark.parametrize("column", ["plan_id", "account_id", "territory_id", "rep_id"])
async def test_an_assignment_refers_only_to_what_exists(ctx, engine, column):
    """On PostgreSQL statement-level triggers keep the references (0022), SQLite its keys: a batch with one
    missing reference writes nothing, a single add is a 409, and an update to a missing one is refused."""
    t = await make_tenant(engine)
    ids = await _book(ctx, t.tenant_id)
    now = datetime.now(UTC)
    extra = await _accounts(ctx, t.tenant_id, 3)
    before = await _assigned(engine, t.tenant_id)
    batch = [_assignment(ids, t.tenant_id, a, now) for a in extra]
    batch[1][column] = uuid.uuid4()
    with pytest.raises(IntegrityError) as err:
        async with engine.begin() as conn:
            await insert_many(conn, "assignments", batch)
    assert "foreign key" in str(err.value).lower()
    assert await _assigned(engine, t.tenant_id) == before
    async with ctx.uow(t.tenant_id) as uow:
        values = {"plan_id": ids["plan"], "account_id": extra[0], "rep_id": ids["rep"], "territory_id": None}
        values[column] = uuid.uuid4()
        with pytest.raises(Conflict) as conflict:
            await uow.assignments.add(
                Assignment(uuid.uuid4(), t.tenant_id, role=Role.AE, valid_from=now, **values)
            )
        assert conflict.value.code == "conflict"
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(
                sa.update(ASSIGNMENTS)
                .where(ASSIGNMENTS.c.account_id == ids["a1"])
                .values({column: uuid.uuid4()})
            )
    assert await _assigned(engine, t.tenant_id) == before


async def test_deleting_what_assignments_refer_to_does_what_the_keys_say(ctx, engine):
    """A deleted territory leaves its assignments without one, a deleted account takes its own, a rep with
    assignments is not deleted, and a deleted plan takes all of them (its territories with it)."""
    t = await make_tenant(engine)
    ids = await _book(ctx, t.tenant_id)
    other = await _book(ctx, t.tenant_id)

    async def delete(table, key):  # noqa: ANN001
        async with engine.begin() as conn:
            await conn.execute(sa.delete(TABLES[table]).where(TABLES[table].c.id == key))

    await delete("territories", ids["territory"])
    assert await _assigned(engine, t.tenant_id) == {
        ids["a1"]: None,
        ids["a2"]: None,
        other["a1"]: other["territory"],
        other["a2"]: other["territory"],
    }
    await delete("accounts", ids["a1"])
    assert set(await _assigned(engine, t.tenant_id)) == {ids["a2"], other["a1"], other["a2"]}
    with pytest.raises(IntegrityError):
        await delete("reps", ids["rep"])
    await delete("plans", other["plan"])
    assert await _assigned(engine, t.tenant_id) == {ids["a2"]: None}
    await delete("plans", ids["plan"])
    await delete("reps", ids["rep"])
    async with engine.connect() as conn:
        reps = await conn.execute(sa.select(sa.func.count()).where(TABLES["reps"].c.tenant_id == t.tenant_id))
        assert reps.scalar_one() == 1


@pytest.mark.pg_only
async def test_an_assignment_and_a_delete_of_its_account_at_once_leave_no_orphan(ctx, engine):
    """The insert locks what it refers to (FOR KEY SHARE), as a key does: a delete that comes second waits
    for it and then takes the new assignment too; an insert that comes second waits for the delete and
    then fails. Either way no assignment is left referring to an account that is gone."""
    t = await make_tenant(engine)
    ids = await _book(ctx, t.tenant_id)
    accounts = TABLES["accounts"]
    now = datetime.now(UTC)
    extra = await _accounts(ctx, t.tenant_id, 2)

    async def delete_account(key):  # noqa: ANN001
        async with engine.begin() as conn:
            await conn.execute(sa.delete(accounts).where(accounts.c.id == key))

    # the insert first: the delete waits, then takes it
    async with engine.connect() as inserting:
        await inserting.begin()
        await insert_many(inserting, "assignments", [_assignment(ids, t.tenant_id, extra[0], now)])
        deleting = asyncio.create_task(delete_account(extra[0]))
        await asyncio.sleep(0.5)
        assert not deleting.done()
        await inserting.commit()
    await asyncio.wait_for(deleting, 10)
    assert extra[0] not in await _assigned(engine, t.tenant_id)

    # the delete first: the insert waits, then fails
    async with engine.connect() as deleting_conn:
        await deleting_conn.begin()
        await deleting_conn.execute(sa.delete(accounts).where(accounts.c.id == extra[1]))

        async def insert() -> None:
            async with engine.begin() as conn:
                await insert_many(conn, "assignments", [_assignment(ids, t.tenant_id, extra[1], now)])

        inserting_task = asyncio.create_task(insert())
        await asyncio.sleep(0.5)
        assert not inserting_task.done()
        await deleting_conn.commit()
    with pytest.raises(IntegrityError):
        await asyncio.wait_for(inserting_task, 10)
    assert extra[1] not in await _assigned(engine, t.tenant_id)


async def test_a_bulk_insert_stores_what_sqlalchemys_own_insert_stores(ctx, engine):
    """insert_many writes by COPY (PostgreSQL) or one executemany of values made as SQLite stores them
    (persistence/db.py, sqlite_binder): the stored text and numbers are the same as SQLAlchemy's insert
    of the same row gives (datetimes with a zone, uuids, booleans, JSON, dates, enums and nulls)."""
    from datetime import date, timedelta, timezone

    from domain.model import RampStatus, RepRole

    t = await make_tenant(engine)
    at = datetime(2026, 12, 3, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5)))
    rows = {
        "accounts": {
            "tenant_id": t.tenant_id,
            "name": "Acme",
            "stage": Stage.CUSTOMER,
            "strategic": True,
            "tags": ["a", {"b": 1}],
            "current_arr": 1.5,
            "employees": 40,
            "parent_id": None,
            "created_at": at,
        },
        "reps": {
            "tenant_id": t.tenant_id,
            "name": "Ann",
            "email": "ann@example.com",
            "role": RepRole.AE,
            "ramp_status": RampStatus.RAMPED,
            "expertise": ["retail"],
            "start_date": date(2026, 1, 5),
            "end_date": None,
            "capacity": 1.0,
        },
    }
    for kind, row in rows.items():
        bulk, own = uuid.uuid4(), uuid.uuid4()
        async with engine.begin() as conn:
            await insert_many(conn, kind, [row | {"id": bulk, "external_id": f"bulk-{kind}"}])
            await conn.execute(sa.insert(TABLES[kind]), [row | {"id": own, "external_id": f"own-{kind}"}])
        async with engine.connect() as conn:
            stored = {}
            for key in (bulk, own):
                got = await conn.execute(
                    sa.select(sa.text("*")).select_from(TABLES[kind]).where(TABLES[kind].c.id == key)
                )
                stored[key] = {
                    k: v for k, v in got.mappings().one().items() if k not in ("id", "external_id")
                }
        assert stored[bulk] == stored[own], kind


async def test_the_change_log_stores_what_sqlalchemys_own_insert_stores(engine):
    """The log's bulk append (COPY on PostgreSQL, one executemany of values made as SQLite stores them)
    stores, column for column, what SQLAlchemy's insert of the same rows stores, and reads back as the
    changes it was given (as_stored): owner changes with nothing in their data, and account changes with
    a uuid in theirs and a time in another zone."""
    from datetime import timedelta, timezone

    from sqlalchemy.ext.asyncio import AsyncSession

    from domain.changes import Change, ChangeKind
    from persistence import changes as log

    t = await make_tenant(engine)
    at = datetime(2026, 12, 3, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5)))
    account, plan, rep = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    changes = [
        Change(ChangeKind.OWNER, account, at, role="AE", plan_id=plan, to_rep_id=rep, reason="boundary"),
        Change(ChangeKind.ACCOUNT, account, at, data={"external_id": "A-1", "parent_id": uuid.uuid4()}),
    ] * (log.ONE_STATEMENT // 2 + 1)  # more than one statement's worth: the bulk path
    async with AsyncSession(engine) as session:
        head = await log.append(session, t.tenant_id, changes)
        await session.commit()
    first = head - len(changes) + 1
    now = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    own = [log._row(t.tenant_id, head + 1 + i, c, now, None, None) for i, c in enumerate(changes[:2])]
    async with engine.begin() as conn:
        await conn.execute(sa.insert(log.CHANGES), own)
    async with engine.connect() as conn:
        got = await conn.execute(
            sa.select(sa.text("*"))
            .select_from(log.CHANGES)
            .where(
                log.CHANGES.c.tenant_id == t.tenant_id,
                log.CHANGES.c.seq.in_([first, first + 1, head + 1, head + 2]),
            )
            .order_by(log.CHANGES.c.seq)
        )
        rows = [dict(r) for r in got.mappings()]
        read = await log.read_after(conn, t.tenant_id, first - 1, 2)
    skip = ("seq", "recorded_at")
    assert [{k: v for k, v in r.items() if k not in skip} for r in rows[:2]] == [
        {k: v for k, v in r.items() if k not in skip} for r in rows[2:]
    ]
    assert [log.to_change(r) for r in read] == [c for _, c in log.as_stored(first + 1, changes[:2])]
