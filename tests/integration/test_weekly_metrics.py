"""The weekly metrics in SQL agree with the domain's rules: every book's tally from the store's aggregates
equals the domain's fold of the same activities and opportunities (both databases)."""

import dataclasses
import random
import uuid
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from domain.coverage import KINDS
from domain.criteria import evaluate
from domain.defaults import DEFAULTS
from domain.metrics import WeekTally, account_week, add_account_week, opportunity_created, week_of
from persistence.db import make_session_factory
from persistence.imports import insert_many
from persistence.tables import PlanRow
from persistence.unit_of_work import SqlUnitOfWork
from tests.conftest import make_tenant

NOW = datetime(2026, 11, 25, 15, tzinfo=UTC)  # a Wednesday: part of the week is still to come
MODEL = dataclasses.replace(
    DEFAULTS.coverage_model, tier1_touches=(4, 6), tier2_touches=(3, 5), tier3_touches=(2, 3)
)


async def _random_book(engine, tenant_id, rnd):
    plan_id = uuid.uuid4()
    reps = [
        {
            "id": uuid.uuid4(),
            "tenant_id": tenant_id,
            "external_id": f"R{i}",
            "name": f"r{i}",
            "email": f"r{i}@x.io",
            "role": "AE",
            "ramp_status": "ramped",
            "expertise": [],
        }
        for i in range(4)
    ]
    accounts = [
        {
            "id": uuid.uuid4(),
            "tenant_id": tenant_id,
            "external_id": f"A{i}",
            "name": f"a{i}",
            "current_arr": 0.0,
            "stage": "prospected",
            "tags": [],
            "strategic": False,
        }
        for i in range(60)
    ]
    scores, assignments, activities, opportunities = [], [], [], []
    for i, account in enumerate(accounts):
        if i % 7:  # every seventh account is not scored: no tier
            scores.append(
                {
                    "account_id": account["id"],
                    "tenant_id": tenant_id,
                    "score": 50.0,
                    "confidence": 1.0,
                    "potential": 1.0,
                    "win_probability": 0.2,
                    "tier": rnd.choice([1, 2, 3]),
                    "icp_fit": True,
                    "factors": [],
                    "settings_version": 1,
                    "computed_at": NOW,
                }
            )
        if i % 5:  # every fifth account has no owner
            assignments.append(
                {
                    "id": uuid.uuid4(),
                    "tenant_id": tenant_id,
                    "plan_id": plan_id,
                    "account_id": account["id"],
                    "rep_id": rnd.choice(reps)["id"],
                    "role": "AE",
                    "locked": False,
                    "reason": "manual",
                    "valid_from": NOW - timedelta(days=90),
                }
            )
    for i in range(700):
        activities.append(
            {
                "id": uuid.uuid4(),
                "tenant_id": tenant_id,
                "external_id": f"X{i}",
                "account_id": rnd.choice(accounts[:55])["id"],  # the last five are never worked
                "rep_id": None,
                # whole hours from 40 days back to 5 days ahead: the week's edges and the future happen
                "occurred_at": NOW - timedelta(hours=rnd.randint(-24 * 5, 24 * 40)),
                "kind": rnd.choice(KINDS),
                "direction": rnd.choice(["outbound", "outbound", "inbound"]),
            }
        )
    for i in range(80):
        opportunities.append(
            {
                "id": uuid.uuid4(),
                "tenant_id": tenant_id,
                "external_id": f"O{i}",
                "account_id": rnd.choice(accounts)["id"],
                "amount": float(rnd.randint(1, 9) * 1000),
                "status": rnd.choice(["open", "won", "lost"]),
                "created_on": NOW.date() - timedelta(days=rnd.randint(-3, 20)),
            }
        )
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(PlanRow.__table__).values(
                id=plan_id, tenant_id=tenant_id, name="p", state="active", created_at=NOW, updated_at=NOW
            )
        )
        for kind, rows in (
            ("reps", reps),
            ("accounts", accounts),
            ("account_scores", scores),
            ("assignments", assignments),
            ("activities", activities),
            ("opportunities", opportunities),
        ):
            await insert_many(conn, kind, rows)
    owner = {a["account_id"]: a["rep_id"] for a in assignments}
    tier = {s["account_id"]: s["tier"] for s in scores}
    return accounts, owner, tier, activities, opportunities


def _domain_tallies(week, accounts, owner, tier, activities, opportunities):
    tallies: dict = {}
    rules = DEFAULTS.coverage
    for account in accounts:
        key = (owner.get(account["id"]), tier.get(account["id"]))
        tally = tallies.setdefault(key, WeekTally())
        own = [a for a in activities if a["account_id"] == account["id"]]
        add_account_week(tally, key[1], account_week(own, week, NOW, rules), MODEL, rules)
        for o in opportunities:
            if o["account_id"] == account["id"] and evaluate(opportunity_created(week), o):
                tally.pipeline += o["amount"]
                tally.opportunities += 1
    return tallies


async def test_weekly_tallies_in_sql_equal_the_domain_fold(engine):
    rnd = random.Random(4)
    tenant = await make_tenant(engine)
    book = await _random_book(engine, tenant.tenant_id, rnd)
    for week in (week_of(None, NOW.date()), week_of(date(2026, 11, 11), NOW.date())):
        async with SqlUnitOfWork(make_session_factory(engine), tenant.tenant_id) as uow:
            in_sql = await uow.reports.weekly_tallies("AE", week, NOW, DEFAULTS.coverage, MODEL)
        expected = _domain_tallies(week, *book)
        assert in_sql == expected, week
        assert sum(t.worked for t in expected.values()) > 10  # the data exercise every count
        assert sum(t.completed for t in expected.values()) > 0
        assert sum(t.replied for t in expected.values()) > 0
        assert sum(t.met for t in expected.values()) > 0
        assert sum(t.opportunities for t in expected.values()) > 0
