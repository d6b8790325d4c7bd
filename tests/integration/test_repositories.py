"""Repositories and the unit of work on both databases: tenant scoping and the constraints behind rules."""

import uuid
from datetime import UTC, datetime

import pytest

from api.services.context import AppContext
from domain.errors import Conflict
from domain.model import Account, Assignment, Plan, PlanState, Rep, Role, Stage, Territory
from persistence.db import make_session_factory
from tests.conftest import make_tenant


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
