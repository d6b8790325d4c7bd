"""Score, value and tier a large book on PostgreSQL, end to end: `POST /v1/scoring/run`'s use case.

Generates the accounts (and closed opportunities for win rates) straight into a fresh database with COPY,
then runs the scoring use case once and prints time, rows/s and peak memory (also as one JSON line).
Usage: .venv/bin/python bench/scoring.py [--accounts 1000000]
Target (issue 4): 1M accounts within 60 s on 2 cores. The coverage report part comes with coverage facts.
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
from api.services.scoring import run_scoring
from persistence.db import make_engine, make_session_factory, upgrade
from persistence.tenants import create_tenant

SEGMENTS = ["enterprise", "mid_market", "smb"]


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
                    "cold",
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


async def score(db: str, tenant: uuid.UUID) -> dict:
    engine = make_engine(pg_url(db))
    ctx = AppContext(engine, make_session_factory(engine))
    try:
        return await run_scoring(ctx, Principal(tenant, frozenset({"admin"})))
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1_000_000)
    args = parser.parse_args()
    db = asyncio.run(fresh_pg_database("bench_scoring"))
    try:
        start = time.perf_counter()
        tenant = asyncio.run(generate(db, args.accounts))
        generate_s = time.perf_counter() - start
        start = time.perf_counter()
        result = asyncio.run(score(db, tenant))
        run_s = time.perf_counter() - start
    finally:
        asyncio.run(drop_pg_database(db))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"accounts               {args.accounts:>12,}")
    print(f"generate (COPY)        {generate_s:>11.1f}s")
    print(
        f"score + tier + store   {run_s:>11.1f}s  {args.accounts / run_s:>10,.0f} accounts/s"
        "  (target <= 60 s for 1M)"
    )
    print(f"tiers                  {result['tiers']}")
    print(f"peak RSS of the run    {peak_mb:>10.0f} MB")
    emit(
        {
            "bench": "scoring",
            "db": "postgresql",
            "accounts": args.accounts,
            "seconds": round(run_s, 2),
            "accounts_per_s": round(args.accounts / run_s),
            "peak_rss_mb": round(peak_mb),
            "tiers": result["tiers"],
        }
    )


if __name__ == "__main__":
    main()
