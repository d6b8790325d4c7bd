"""The rescoring a CRM sync causes: a book of 100,000 accounts, then imports of 500 changed accounts, each
followed by the scoring run an import triggers (docs/domain.md, "Scoring after an import").

For each database it times the first run (every account, no basis stored yet), then rounds of: an import
of 500 accounts with a changed current ARR (the use case the REST import calls), the run after it (only
those accounts are rescored, and the tiers the new boundaries move are moved), and a full run of the same
book (`full`: what every run cost before runs were incremental). It prints how long each run held the
tenant's scoring lock (`locked_seconds`): on SQLite the one write lock, which every other writer waits for.
`--ahead-limit 0` scores the changed accounts under the lock, as runs did before they were scored first.

Usage: .venv/bin/python bench/scoring_after_import.py [--rows 100000] [--changed 500] [--rounds 5]
                                                      [--db sqlite,postgresql] [--ahead-limit N]
Prints a table and one JSON object per line.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

from common import account_csv, drop_pg_database, emit, fresh_pg_database, pct, pg_url

from api.services import scoring
from api.services.context import AppContext, Principal
from api.services.imports import import_records, records_from_csv
from api.services.scoring import run_scoring
from persistence.db import make_engine, make_session_factory, upgrade
from persistence.tenants import create_tenant


async def measure(url: str, rows: int, changed: int, rounds: int) -> dict:
    engine = make_engine(url)
    await upgrade(engine)
    tenant = await create_tenant(engine, "bench")
    ctx = AppContext(engine, make_session_factory(engine))
    p = Principal(tenant, frozenset({"admin"}))
    rng = random.Random(3)
    try:
        header, records = records_from_csv(account_csv(rows))
        book = list(records)
        await import_records(ctx, p, "accounts", book, header=header)
        start = time.perf_counter()
        first = await run_scoring(ctx, p)
        first_s = time.perf_counter() - start
        imports, after, full, retiered, held = [], [], [], [], []
        for _ in range(rounds):
            sync = []
            for i in rng.sample(range(rows), changed):
                row = dict(book[i])
                row["current_arr"] = str(rng.randint(0, 2_000) * 1000)
                sync.append(row)
            start = time.perf_counter()
            await import_records(ctx, p, "accounts", sync, header=header)
            imports.append(time.perf_counter() - start)
            start = time.perf_counter()
            run = await run_scoring(ctx, p)
            after.append(time.perf_counter() - start)
            held.append(run.locked_seconds)
            assert not run.full and 0 < run.rescored <= changed, run  # a drawn ARR may be the same
            retiered.append(run.retiered)
            start = time.perf_counter()
            again = await run_scoring(ctx, p, full=True)
            full.append(time.perf_counter() - start)
            assert again.tiers == run.tiers, (again.tiers, run.tiers)
    finally:
        await engine.dispose()
    return {
        "first_full_s": round(first_s, 2),
        "first_scored": first.scored,
        "import_p50_s": pct(imports, 0.5),
        "after_import_p50_s": pct(after, 0.5),
        "after_import_max_s": round(max(after), 2),
        "retiered_p50": pct([float(r) for r in retiered], 0.5),
        "locked_p50_s": pct(held, 0.5),
        "locked_max_s": round(max(held), 2),
        "full_p50_s": pct(full, 0.5),
        "full_max_s": round(max(full), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--changed", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument(
        "--ahead-limit",
        type=int,
        default=scoring.AHEAD_LIMIT,
        help="changed accounts scored before the run's lock, at most (0: none, as before 2026-12-03)",
    )
    args = parser.parse_args()
    scoring.AHEAD_LIMIT = args.ahead_limit
    for db in args.db.split(","):
        if db == "postgresql":
            name = asyncio.run(fresh_pg_database("bench_rescoring"))
            try:
                r = asyncio.run(measure(pg_url(name), args.rows, args.changed, args.rounds))
            finally:
                asyncio.run(drop_pg_database(name))
        else:
            with tempfile.TemporaryDirectory() as d:
                url = f"sqlite+aiosqlite:///{Path(d) / 'bench.db'}"
                r = asyncio.run(measure(url, args.rows, args.changed, args.rounds))
        print(
            f"{db}: {args.rows:,} accounts, first run {r['first_full_s']} s; after an import of "
            f"{args.changed} changed accounts (p50 {r['import_p50_s']} s): run p50 "
            f"{r['after_import_p50_s']} s max {r['after_import_max_s']} s ({r['retiered_p50']} retiered); "
            f"holding the lock p50 {r['locked_p50_s']} s max {r['locked_max_s']} s; "
            f"a full run p50 {r['full_p50_s']} s max {r['full_max_s']} s",
            flush=True,
        )
        emit({"bench": "scoring_after_import", "db": db, "rows": args.rows, "changed": args.changed} | r)


if __name__ == "__main__":
    main()
