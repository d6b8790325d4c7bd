"""The evidence assigning by rules gathers set-wise for a chunk (two aggregates by account-id range and the
boundaries over the whole chunk, domain.assigning.Book) is the evidence a dispute gathers for one account
at a time (api.services.disputes._candidates), on random small books, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import aclosing
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.services.assigning import _owners
from api.services.context import AppContext
from api.services.disputes import _candidates
from api.services.engagement import DEFAULTS, relationship_since
from domain.assigning import Book, Evidence
from domain.boundaries import RuleTerritory, match_boundaries, parse_boundary
from domain.defaults import DEFAULTS as SETTINGS
from domain.model import Account, Assignment, Plan, Rep, Role, Territory
from persistence.db import make_engine, make_session_factory
from persistence.tables import ActivityRow, OpportunityRow
from persistence.tenants import create_tenant

NOW = datetime.now(UTC).replace(microsecond=0)
REGIONS = ("East", "West")

territory_s = st.fixed_dictionaries(
    {
        "region": st.sampled_from((*REGIONS, None)),  # None: named accounts only
        "named": st.lists(st.integers(0, 5), max_size=2),
        "priority": st.integers(0, 2),
        "rep": st.one_of(st.none(), st.integers(0, 3)),
    }
)
book_s = st.fixed_dictionaries(
    {
        "accounts": st.lists(st.sampled_from(REGIONS), min_size=1, max_size=6),
        "departed": st.lists(st.booleans(), min_size=4, max_size=4),
        "territories": st.lists(territory_s, min_size=1, max_size=4),
        "owners": st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=6, max_size=6),
        "touches": st.lists(
            st.tuples(
                st.integers(0, 5), st.integers(0, 3), st.sampled_from(("call", "email")), st.integers(1, 200)
            ),
            max_size=12,
        ),
        "deals": st.lists(
            st.tuples(
                st.integers(0, 5),
                st.integers(0, 3),
                st.sampled_from(("open", "won", "lost")),
                st.integers(1, 200),
            ),
            max_size=6,
        ),
    }
)


def closed(status: str, days: int):
    return (NOW - timedelta(days=days)).date() if status != "open" else None


async def _check(url: str, book: dict) -> None:
    engine = make_engine(url)
    try:
        tenant_id = await create_tenant(engine, f"evidence-{uuid.uuid4().hex[:8]}")
        ctx = AppContext(engine, make_session_factory(engine))
        async with ctx.uow(tenant_id) as uow:
            reps = [
                Rep(
                    uuid.uuid4(),
                    tenant_id,
                    f"R{i}",
                    f"Rep {i}",
                    f"r{i}@example.com",
                    end_date=(NOW - timedelta(days=30)).date() if gone else None,
                )
                for i, gone in enumerate(book["departed"])
            ]
            for r in reps:
                await uow.reps.add(r)
            plan = await uow.plans.add(Plan(uuid.uuid4(), tenant_id, "Draft"))
            accounts = [
                Account(uuid.uuid4(), tenant_id, f"A{i}", f"Account {i}", region=region)
                for i, region in enumerate(book["accounts"])
            ]
            for a in accounts:
                await uow.accounts.add(a)
            territories = []
            for j, t in enumerate(book["territories"]):
                boundary: dict = {"named_accounts": [f"A{i}" for i in t["named"]]}
                if t["region"]:
                    boundary["rules"] = [{"field": "region", "op": "eq", "value": t["region"]}]
                rep_id = reps[t["rep"]].id if t["rep"] is not None else None
                territories.append(
                    await uow.territories.add(
                        Territory(
                            uuid.uuid4(),
                            tenant_id,
                            plan.id,
                            f"T{j}",
                            boundary=boundary,
                            priority=t["priority"],
                            primary_rep_id=rep_id,
                        )
                    )
                )
            for a, owner in zip(accounts, book["owners"], strict=False):
                if owner is not None:
                    theirs = next((t.id for t in territories if t.primary_rep_id == reps[owner].id), None)
                    await uow.assignments.add(
                        Assignment(
                            uuid.uuid4(),
                            tenant_id,
                            plan.id,
                            a.id,
                            reps[owner].id,
                            Role.AE,
                            theirs,
                            valid_from=NOW - timedelta(days=10),
                        )
                    )
            conn = await uow.connection()
            rows = [
                (ActivityRow, n, i, r, {"occurred_at": NOW - timedelta(days=days), "kind": kind})
                for n, (i, r, kind, days) in enumerate(book["touches"])
            ] + [
                (
                    OpportunityRow,
                    n,
                    i,
                    r,
                    {"amount": 1000.0, "status": status, "closed_on": closed(status, days)},
                )
                for n, (i, r, status, days) in enumerate(book["deals"])
            ]
            for table, n, i, r, values in rows:
                if i < len(accounts):
                    row = {"id": uuid.uuid4(), "tenant_id": tenant_id, "external_id": f"{table.__name__}{n}"}
                    row |= {"account_id": accounts[i].id, "rep_id": reps[r].id, **values}
                    await conn.execute(sa.insert(table.__table__).values(**row))
            await uow.commit()

        async with ctx.uow(tenant_id) as uow:
            policy = DEFAULTS
            since = relationship_since(policy, NOW)
            kinds = SETTINGS.coverage.meaningful_kinds
            rows = await uow.assigning.plan_territories(plan.id)
            owners, rule_reps = await _owners(uow, rows, NOW.date())
            reads = uow.assigning.chunks_with_evidence(plan.id, "AE", 100, None, [since], kinds)
            (chunk, evidence), *more = [c async for c in reads]
            assert not more
            touches, sourced = evidence[since]
            ruled = [RuleTerritory(t.id, t.name, t.priority, parse_boundary(t.boundary)) for t in rows]
            matches = match_boundaries(enumerate(chunk), ruled)
            set_wise = Book(chunk, matches, owners, rule_reps, Evidence(touches, sourced), policy)
            for i, a in enumerate(chunk):
                account = await uow.disputes.account(a["id"])
                owner = await uow.assignments.current_owner(plan.id, a["id"], "AE")
                for c in set_wise.candidates(i):
                    one = {
                        x.rep_id: x
                        for x in await _candidates(uow, account, c.rep_id, plan, owner, policy, NOW, kinds)
                    }[c.rep_id]
                    assert not one.departed
                    fields = (
                        "rep_name",
                        "boundary_priority",
                        "named",
                        "owner_of_record",
                        "owner_since",
                        "meaningful_touches",
                        "sourced_opportunities",
                        "started_on",
                    )
                    assert {k: getattr(c, k) for k in fields} == {k: getattr(one, k) for k in fields}
                    assert (c.last_touch_at is None) == (one.last_touch_at is None)
                    if c.last_touch_at is not None:
                        assert c.last_touch_at.replace(tzinfo=None) == one.last_touch_at.replace(tzinfo=None)
                    if c.boundary_priority is not None:
                        assert (c.territory_id, c.territory_name) == (one.territory_id, one.territory_name)
                # who the dispute's gathering would make a candidate, and assigning leaves out: departed
                # reps, reps who own no territory of the plan, and reps (the owner of record among them)
                # whose boundaries do not hold the account and who have no relationship with it
                got = {c.rep_id for c in set_wise.candidates(i)}
                for other in await _candidates(uow, account, reps[0].id, plan, owner, policy, NOW, kinds):
                    if other.rep_id in got or other.departed or other.rep_id not in rule_reps:
                        continue
                    assert other.boundary_priority is None, other
                    assert other.meaningful_touches < 2 and other.sourced_opportunities == 0, other
    finally:
        await engine.dispose()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(book=book_s)
def test_set_wise_evidence_is_the_disputes_evidence(engine, db_url, book):
    asyncio.run(_check(db_url, book))


async def test_the_reads_go_ahead_in_order_and_stop_when_left_early(engine):
    """chunks_with_evidence reads on a connection of its own: every account once, in id order, in the
    chunks asked for; leaving after the first chunk (as a cancel does) stops the reads and gives the
    connection back."""
    tenant_id = await create_tenant(engine, f"ahead-{uuid.uuid4().hex[:8]}")
    ctx = AppContext(engine, make_session_factory(engine))
    async with ctx.uow(tenant_id) as uow:
        plan = await uow.plans.add(Plan(uuid.uuid4(), tenant_id, "Draft"))
        for i in range(23):
            await uow.accounts.add(Account(uuid.uuid4(), tenant_id, f"A{i}", f"Account {i}"))
        await uow.commit()
    since, kinds = NOW - timedelta(days=90), SETTINGS.coverage.meaningful_kinds
    async with ctx.uow(tenant_id) as uow:
        await uow.connection()  # the unit of work's transaction, beside the reader's
        reads = uow.assigning.chunks_with_evidence(plan.id, "AE", 5, None, [since], kinds)
        chunks = [chunk async for chunk, _ in reads]
        ids = [a["id"] for chunk in chunks for a in chunk]
        assert [len(c) for c in chunks] == [5, 5, 5, 5, 3] and ids == sorted(ids) and len(set(ids)) == 23

        reads = uow.assigning.chunks_with_evidence(plan.id, "AE", 5, None, [since], kinds)
        async with aclosing(reads):
            async for _chunk, evidence in reads:
                assert set(evidence) == {since}
                break
        await asyncio.sleep(0)
        assert engine.pool.checkedout() == 1  # this unit of work's own; the reader's is back
