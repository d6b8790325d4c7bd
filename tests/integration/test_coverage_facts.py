"""The SQL side of coverage agrees with the domain: facts computed set-based equal the domain's fold, and
every rule compiled to SQL selects exactly the accounts the domain's evaluator selects (both databases)."""

import random
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from domain.coverage import FACT_FIELDS, KINDS, Activity, coverage_facts, covered, rep_touches, review_lists
from domain.criteria import evaluate
from domain.defaults import DEFAULTS
from persistence import coverage as store
from persistence.imports import insert_many
from tests.conftest import make_tenant

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


async def _random_book(engine, tenant_id, rnd):
    accounts, reps, activities, opportunities = [], [], [], []
    for i in range(4):
        reps.append(
            {
                "id": uuid.uuid4(),
                "tenant_id": tenant_id,
                "external_id": f"R{i}",
                "name": "r",
                "email": "r@x.io",
                "role": "AE" if i < 3 else "SDR",
                "ramp_status": "ramped",
                "expertise": [],
            }
        )
    for i in range(40):
        accounts.append(
            {
                "id": uuid.uuid4(),
                "tenant_id": tenant_id,
                "external_id": f"A{i}",
                "name": f"a{i}",
                "current_arr": 0.0,
                "stage": rnd.choice(["cold", "prospected", "customer", "lapsed", "pipeline"]),
                "tags": rnd.choice([[], ["partner"], ["referral", "x"], ["x"]]),
                "churn_risk": rnd.choice([None, "high", "low"]),
                "expansion_estimate": rnd.choice([None, 0.0, 5e4]),
                "strategic": False,
            }
        )
    for i in range(400):
        account = rnd.choice(accounts[:36])  # the last four have no activity
        activities.append(
            {
                "id": uuid.uuid4(),
                "tenant_id": tenant_id,
                "external_id": f"X{i}",
                "account_id": account["id"],
                "rep_id": rnd.choice([None, *(r["id"] for r in reps)]),
                # whole hours: equal timestamps happen, so the next-step tie rule is exercised
                "occurred_at": NOW - timedelta(hours=rnd.randint(-24 * 20, 24 * 200)),
                "kind": rnd.choice(KINDS),
                "next_step": rnd.choice([None, "", "a", "b"]),
                "contact": rnd.choice([None, "", "CFO"]),
                "direction": rnd.choice(["outbound", "inbound"]),
                "path": rnd.choice(
                    [None, "partner", "referral", "direct", "marketing", "executive", "event", "relationship"]
                ),
            }
        )
    for i, account in enumerate(accounts[:12]):  # latest activities at one moment, steps in either order
        for j, step in enumerate(rnd.sample(["a", "b", None], 3)):
            activities.append(
                {
                    "id": uuid.uuid4(),
                    "tenant_id": tenant_id,
                    "external_id": f"T{i}-{j}",
                    "account_id": account["id"],
                    "rep_id": None,
                    "occurred_at": NOW - timedelta(minutes=30),
                    "kind": "call",
                    "next_step": step,
                    "contact": None,
                    "direction": "outbound",
                    "path": None,
                }
            )
    for i in range(30):
        opportunities.append(
            {
                "id": uuid.uuid4(),
                "tenant_id": tenant_id,
                "external_id": f"O{i}",
                "account_id": rnd.choice(accounts)["id"],
                "amount": float(rnd.randint(1, 9) * 1000),
                "status": rnd.choice(["open", "won", "lost"]),
            }
        )
    async with engine.begin() as conn:
        for kind, rows in (
            ("reps", reps),
            ("accounts", accounts),
            ("activities", activities),
            ("opportunities", opportunities),
        ):
            await insert_many(conn, kind, rows)
    return accounts, reps, activities, opportunities


def _domain_facts(account, activities, opportunities):
    acts = [
        Activity(
            a["occurred_at"], a["kind"], a["rep_id"], a["next_step"], a["contact"], a["direction"], a["path"]
        )
        for a in activities
        if a["account_id"] == account["id"]
    ]
    opps = [(o["amount"], o["status"]) for o in opportunities if o["account_id"] == account["id"]]
    return coverage_facts(acts, NOW, opps), rep_touches(acts, NOW)


async def test_sql_facts_equal_the_domain_fold_and_sql_rules_select_what_the_domain_selects(engine):
    rnd = random.Random(7)
    tenant = await make_tenant(engine)
    accounts, reps, activities, opportunities = await _random_book(engine, tenant.tenant_id, rnd)
    async with engine.begin() as conn:
        # first a partial refresh (as an import does), then the whole tenant: both give the same facts
        await store.refresh_facts(conn, tenant.tenant_id, NOW, [a["id"] for a in accounts[:10]])
        await store.refresh_facts(conn, tenant.tenant_id, NOW)
    async with engine.connect() as conn:
        for account in accounts:
            stored = await store.read_facts(conn, tenant.tenant_id, account["id"])
            expected, touches = _domain_facts(account, activities, opportunities)
            if stored is None:
                assert expected == coverage_facts([], NOW), account["external_id"]
                continue
            assert {k: stored[k] for k in FACT_FIELDS} == expected, account["external_id"]
            got = await store.read_touches(conn, tenant.tenant_id, [account["id"]], NOW)
            assert {t.rep_id: (t.last_touch_at, t.touches) for t in got} == touches

        rows = store.ReportRows(tenant.tenant_id, "AE", engine.dialect.name)
        cols = [c.label(n) for n, c in rows.fields.items()]
        all_rows = (await conn.execute(rows.select(*cols))).mappings().all()
        assert len(all_rows) == len(accounts)
        preds = {"covered": covered(DEFAULTS.coverage, NOW)}
        preds |= {name: rule.holds for name, rule in review_lists(DEFAULTS.coverage, NOW).items()}
        for name, pred in preds.items():
            in_sql = set(
                (
                    await conn.execute(rows.select(rows.fields["account_id"]).where(rows.compile(pred)))
                ).scalars()
            )
            in_python = {r["account_id"] for r in all_rows if evaluate(pred, r)}
            assert in_sql == in_python, name
        # the random book puts accounts on most lists, so the comparison above is not vacuous
        assert sum(1 for p in preds.values() if any(evaluate(p, r) for r in all_rows)) >= 7


async def test_a_planned_activity_that_happened_is_picked_up_when_due(engine):
    tenant = await make_tenant(engine)
    account = {
        "id": uuid.uuid4(),
        "tenant_id": tenant.tenant_id,
        "external_id": "P",
        "name": "p",
        "current_arr": 0.0,
        "stage": "cold",
        "tags": [],
        "strategic": False,
    }
    meeting = {
        "id": uuid.uuid4(),
        "tenant_id": tenant.tenant_id,
        "external_id": "M",
        "account_id": account["id"],
        "occurred_at": NOW + timedelta(days=2),
        "kind": "meeting",
        "direction": "outbound",
        "contact": "CTO",
        "next_step": "pilot",
    }
    async with engine.begin() as conn:
        await insert_many(conn, "accounts", [account])
        await insert_many(conn, "activities", [meeting])
        await store.refresh_facts(conn, tenant.tenant_id, NOW)
        assert await store.refresh_due(conn, tenant.tenant_id, NOW + timedelta(days=1)) == 0
        later = NOW + timedelta(days=3)
        assert await store.refresh_due(conn, tenant.tenant_id, later) == 1
        facts = await store.read_facts(conn, tenant.tenant_id, account["id"])
        assert facts["last_meeting_at"] == meeting["occurred_at"] and facts["next_meeting_at"] is None
        assert facts["due_at"] is None and facts["next_step"] == "pilot"
        count = (
            sa.select(sa.func.count())
            .select_from(store.COVERAGE)
            .where(store.COVERAGE.c.tenant_id == tenant.tenant_id)
        )
        assert (await conn.execute(count)).scalar_one() == 1
