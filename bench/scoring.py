"""Score, value and tier a large book on PostgreSQL, end to end, then track its coverage.

Generates the accounts (and closed opportunities for win rates) straight into a fresh database with COPY,
runs the scoring use case (`POST /v1/scoring/run`) once and prints time, rows/s and peak memory. Then it
owns every account by one of 200 reps in an active plan, generates the activities server-side, and times
the coverage facts recompute over all of them and the coverage report (`GET /v1/coverage`) over the book.
Usage: .venv/bin/python bench/scoring.py [--accounts 1000000] [--activities 10000000]
Targets (issue 4), 2 cores: scoring 1M accounts within 60 s; a coverage report over 1M accounts within 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import time
import uuid
from datetime import UTC, datetime

import asyncpg
from common import drop_pg_database, emit, fresh_pg_database, pg_url

from api.services.context import AppContext, Principal
from api.services.coverage import coverage_accounts, coverage_report, rep_review
from api.services.scoring import ScoringRunRead, run_scoring
from persistence.coverage import refresh_facts
from persistence.db import make_engine, make_session_factory, upgrade
from persistence.tenants import create_tenant

SEGMENTS = ["enterprise", "mid_market", "smb"]
STAGES = ["cold", "cold", "prospected", "pipeline", "active_deal", "customer", "lapsed"]
REPS = 200


async def generate(db: str, n: int, seed: int = 5) -> uuid.UUID:
    engine = make_engine(pg_url(db))
    await upgrade(engine)
    tenant = await create_tenant(engine, "bench")
    await engine.dispose()
    rng = random.Random(seed)
    now = datetime.now(UTC)
    conn = await asyncpg.connect(pg_url(db).replace("postgresql+asyncpg://", "postgresql://"))
    try:
        ids = []
        batch = []
        columns = [
            "id",
            "tenant_id",
            "external_id",
            "name",
            "segment",
            "stage",
            "current_arr",
            "expansion_estimate",
            "growth_rate",
            "engagement",
            "annual_revenue",
            "intent",
            "strategic",
            "tags",
            "created_at",
            "updated_at",
        ]
        for i in range(n):
            account_id = uuid.uuid4()
            ids.append(account_id)
            batch.append(
                (
                    account_id,
                    tenant,
                    f"ACC-{i:08d}",
                    f"Company {i}",
                    rng.choice(SEGMENTS),
                    rng.choice(STAGES),
                    rng.lognormvariate(10, 1.5),
                    rng.lognormvariate(11, 1.5) if rng.random() < 0.8 else None,
                    rng.uniform(-0.1, 0.6),
                    rng.uniform(0, 100) if rng.random() < 0.7 else None,
                    rng.lognormvariate(15, 2),
                    rng.uniform(0, 100) if rng.random() < 0.5 else None,
                    False,
                    "[]",
                    now,
                    now,
                )
            )
            if len(batch) == 50_000:
                await conn.copy_records_to_table("accounts", records=batch, columns=columns)
                batch = []
        if batch:
            await conn.copy_records_to_table("accounts", records=batch, columns=columns)
        opps = [
            (
                uuid.uuid4(),
                tenant,
                f"OPP-{i:07d}",
                rng.choice(ids),
                10_000.0,
                rng.choice(["won", "lost", "lost"]),
                now,
            )
            for i in range(min(50_000, n // 10))
        ]
        await conn.copy_records_to_table(
            "opportunities",
            records=opps,
            columns=["id", "tenant_id", "external_id", "account_id", "amount", "status", "created_at"],
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return tenant


async def score(db: str, tenant: uuid.UUID) -> ScoringRunRead:
    engine = make_engine(pg_url(db))
    ctx = AppContext(engine, make_session_factory(engine))
    try:
        return await run_scoring(ctx, Principal(tenant, frozenset({"admin"})))
    finally:
        await engine.dispose()


OWNERSHIP_SQL = """
INSERT INTO reps (id, tenant_id, external_id, name, email, role, ramp_status, expertise, created_at)
SELECT gen_random_uuid(), $1, 'REP-' || g, 'Rep ' || g, 'rep' || g || '@example.com',
       CASE WHEN g % 10 = 0 THEN 'SDR' ELSE 'AE' END, 'ramped', '[]', now()
FROM generate_series(1, {reps}) g;
INSERT INTO plans (id, tenant_id, name, state, created_at)
VALUES (gen_random_uuid(), $1, 'FY27', 'active', now());
CREATE TEMP TABLE rep_index AS
  SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM reps WHERE tenant_id = $1 AND role = 'AE';
CREATE TEMP TABLE account_index AS
  SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM accounts WHERE tenant_id = $1;
CREATE UNIQUE INDEX ON account_index (n);
INSERT INTO territories (id, tenant_id, plan_id, name, type, boundary, priority, primary_rep_id, created_at)
SELECT gen_random_uuid(), $1, (SELECT id FROM plans WHERE tenant_id = $1), 'T' || r.n, 'geographic',
       '{{}}', 0, r.id, now() FROM rep_index r;
INSERT INTO assignments
  (id, tenant_id, plan_id, account_id, territory_id, rep_id, role, locked, reason, valid_from)
SELECT gen_random_uuid(), $1, t.plan_id, a.id, t.id, t.primary_rep_id, 'AE', false, 'rule', now()
FROM account_index a JOIN rep_index r ON r.n = a.n % (SELECT count(*) FROM rep_index)
JOIN territories t ON t.primary_rep_id = r.id;
"""

ACTIVITY_SQL = """
INSERT INTO activities (id, tenant_id, external_id, account_id, rep_id, occurred_at, kind, next_step, contact,
                        direction, path, created_at)
SELECT gen_random_uuid(), $1, 'ACT-' || g, a.id, r.id,
       now() - (random() * 215 - 15) * interval '1 day',
       (ARRAY['email','email','call','meeting','visit','video','social'])[1 + floor(random() * 7)::int],
       CASE WHEN random() < 0.6 THEN 'follow up' END,
       CASE WHEN random() < 0.7 THEN 'Contact' END,
       CASE WHEN random() < 0.1 THEN 'inbound' ELSE 'outbound' END,
       CASE WHEN random() < 0.05 THEN 'partner' END,
       now()
FROM generate_series($2::bigint, $3::bigint) g
JOIN account_index a ON a.n = (g * 7919) % $4
JOIN rep_index r ON r.n = (g * 31 + (g * 7919) % $4 % 3) % (SELECT count(*) FROM rep_index);
"""


async def own_and_touch(db: str, tenant: uuid.UUID, accounts: int, activities: int) -> None:
    """Reps, an active plan owning every account, and `activities` activities, generated server-side."""
    conn = await asyncpg.connect(pg_url(db).replace("postgresql+asyncpg://", "postgresql://"))
    try:
        for statement in OWNERSHIP_SQL.format(reps=REPS).split(";"):
            if statement.strip():
                await conn.execute(statement, *([tenant] if "$1" in statement else []))
        # generated rows are consistent by construction: skip the per-row foreign key triggers, and build
        # the indexes once after the load instead of row by row
        await conn.execute("SET session_replication_role = replica")
        constraints = await conn.fetch(
            "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint "
            "WHERE conrelid = 'activities'::regclass AND contype IN ('p', 'u')"
        )
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'activities' "
            "AND indexname <> ALL($1::text[])",
            [c["conname"] for c in constraints],
        )
        for i in indexes:
            await conn.execute(f'DROP INDEX "{i["indexname"]}"')
        for c in constraints:
            await conn.execute(f'ALTER TABLE activities DROP CONSTRAINT "{c["conname"]}"')
        step = 1_000_000
        for start in range(0, activities, step):
            end = min(start + step, activities) - 1
            await conn.execute(ACTIVITY_SQL, tenant, start, end, accounts)
        await conn.execute("SET maintenance_work_mem = '512MB'")
        for c in constraints:
            await conn.execute(f'ALTER TABLE activities ADD CONSTRAINT "{c["conname"]}" {c["def"]}')
        for i in indexes:
            await conn.execute(i["indexdef"])
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def track(db: str, tenant: uuid.UUID) -> dict:
    engine = make_engine(pg_url(db))
    ctx = AppContext(engine, make_session_factory(engine))
    p = Principal(tenant, frozenset({"admin"}))
    out = {}
    try:
        start = time.perf_counter()
        async with engine.begin() as conn:
            await refresh_facts(conn, tenant, ctx.clock.now())
        out["facts_s"] = time.perf_counter() - start
        async with engine.begin() as conn:
            await conn.exec_driver_sql("ANALYZE account_coverage")
        for i in range(3):  # the first run reads from disk; report each
            start = time.perf_counter()
            report = await coverage_report(ctx, p)
            out[f"report_s_{i}"] = time.perf_counter() - start
        out["report"] = report.total.model_dump()
        start = time.perf_counter()
        page = await coverage_accounts(ctx, p, tier=1, covered_only=False, page_size=100)
        out["failing_page_s"] = time.perf_counter() - start
        out["failing_page_items"] = len(page.items)
        rep_id = report.by_rep[0].rep_id
        start = time.perf_counter()
        await rep_review(ctx, p, rep_id)
        out["rep_review_s"] = time.perf_counter() - start
    finally:
        await engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--activities", type=int, default=10_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    args = parser.parse_args()
    db = asyncio.run(fresh_pg_database("bench_scoring"))
    try:
        start = time.perf_counter()
        tenant = asyncio.run(generate(db, args.accounts))
        generate_s = time.perf_counter() - start
        start = time.perf_counter()
        result = asyncio.run(score(db, tenant))
        run_s = time.perf_counter() - start
        score_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        start = time.perf_counter()
        asyncio.run(own_and_touch(db, tenant, args.accounts, args.activities))
        touch_s = time.perf_counter() - start
        tracked = asyncio.run(track(db, tenant))
    finally:
        if args.keep:
            print(f"kept database {db} (tenant {tenant})")
        else:
            asyncio.run(drop_pg_database(db))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report_s = min(tracked[f"report_s_{i}"] for i in range(3))
    print(f"accounts               {args.accounts:>12,}")
    print(f"generate (COPY)        {generate_s:>11.1f}s")
    print(
        f"score + tier + store   {run_s:>11.1f}s  {args.accounts / run_s:>10,.0f} accounts/s"
        "  (target <= 60 s for 1M)"
    )
    print(f"tiers                  {result.tiers}")
    print(f"peak RSS after scoring {score_peak_mb:>10.0f} MB")
    print(f"activities             {args.activities:>12,}  (generated server-side in {touch_s:.1f}s)")
    print(
        f"coverage facts         {tracked['facts_s']:>11.1f}s  "
        f"{args.activities / tracked['facts_s']:>10,.0f} activities/s (all of them, one statement)"
    )
    print(
        "coverage report        "
        + "  ".join(f"{tracked[f'report_s_{i}']:.2f}s" for i in range(3))
        + "  (target <= 10 s for 1M accounts)"
    )
    print(f"  total                {tracked['report']}")
    print(
        f"tier-1 failing, page   {tracked['failing_page_s']:>11.2f}s  ({tracked['failing_page_items']} items)"
    )
    print(
        f"one rep's review       {tracked['rep_review_s']:>11.2f}s"
        f"  ({args.accounts // (REPS * 9 // 10):,} accounts)"
    )
    print(f"peak RSS               {peak_mb:>10.0f} MB")
    emit(
        {
            "bench": "scoring",
            "db": "postgresql",
            "accounts": args.accounts,
            "seconds": round(run_s, 2),
            "accounts_per_s": round(args.accounts / run_s),
            "peak_rss_mb": round(peak_mb),
            "tiers": result["tiers"],
            "activities": args.activities,
            "facts_seconds": round(tracked["facts_s"], 2),
            "coverage_report_seconds": round(report_s, 2),
            "failing_page_seconds": round(tracked["failing_page_s"], 2),
            "rep_review_seconds": round(tracked["rep_review_s"], 2),
        }
    )


if __name__ == "__main__":
    main()
