"""Assign 100,000 accounts by the boundaries of 50 territories through the real server, then activate.

The book: bench/common.account_csv (postal codes 10000-99999 in two regions); 50 territories, one rep each,
each holding a band of postal codes in its region. It times the first assignment (every account new), a
second one (nothing changes), and the activation, on SQLite and PostgreSQL.

Usage: .venv/bin/python bench/assign_by_rules.py [--rows 100000] [--territories 50] [--db sqlite,postgresql]
Target (issue 14): at most 5 s for 100,000 accounts over 50 territories. Prints a table and one JSON
object per line.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx
from common import Server, account_csv, drop_pg_database, emit, fresh_pg_database, pg_url, run

from persistence.db import make_engine, upgrade
from persistence.tenants import create_key, create_tenant


async def prepare(url: str) -> str:
    engine = make_engine(url)
    await upgrade(engine)
    tenant = await create_tenant(engine, "bench")
    _, key = await create_key(engine, tenant, ["admin"])
    await engine.dispose()
    return key


def territories(n: int) -> list[dict]:
    """n territories: half in each region, each a band of postal codes."""
    per_region = max(n // 2, 1)
    width = 90_000 // per_region
    out = []
    for i in range(n):
        region = "East" if i % 2 else "West"
        k = i // 2
        low, high = 10_000 + k * width, 10_000 + (k + 1) * width - 1 if k < per_region - 1 else 99_999
        rules = [
            {"field": "region", "op": "eq", "value": region},
            {"field": "postal_code", "op": "between", "value": [f"{low:05d}", f"{high:05d}"]},
        ]
        out.append({"name": f"{region} {k + 1}", "boundary": {"rules": rules}, "priority": 1})
    return out


def measure(url: str, db: str, rows: int, n_territories: int) -> dict:
    key = run(prepare(url))
    server = Server("api.app:create_app", {"TERRITORY_DATABASE_URL": url})
    try:
        client = httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {key}"}, timeout=900)
        r = client.post(
            "/v1/accounts/import", content=account_csv(rows), headers={"content-type": "text/csv"}
        )
        assert r.status_code == 200, r.text[:300]
        plan = client.post("/v1/plans", json={"name": "FY27"}).json()["id"]
        for i, t in enumerate(territories(n_territories)):
            rep = client.post(
                "/v1/reps", json={"name": f"Rep {i}", "email": f"rep{i}@example.com", "external_id": f"R{i}"}
            ).json()["id"]
            r = client.post("/v1/territories", json={**t, "plan_id": plan, "primary_rep_id": rep})
            assert r.status_code == 201, r.text[:300]
        times = {}
        for name in ("first", "again"):
            start = time.perf_counter()
            r = client.post(f"/v1/plans/{plan}/assign-by-rules")
            times[name] = time.perf_counter() - start
            assert r.status_code == 200, r.text[:300]
            body = r.json()
            if name == "first":
                assert body["assigned"] == rows, body
        start = time.perf_counter()
        r = client.post(f"/v1/plans/{plan}/activate")
        times["activate"] = time.perf_counter() - start
        assert r.status_code == 200, r.text[:300]
    finally:
        server.stop()
    return {
        "bench": "assign_by_rules",
        "db": db,
        "accounts": rows,
        "territories": n_territories,
        "assign_s": round(times["first"], 3),
        "assign_again_s": round(times["again"], 3),
        "activate_s": round(times["activate"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--territories", type=int, default=50)
    parser.add_argument("--db", default="sqlite,postgresql")
    args = parser.parse_args()
    records = []
    for db in args.db.split(","):
        if db == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
                records.append(measure(url, db, args.rows, args.territories))
        else:
            name = run(fresh_pg_database("bench_rules"))
            try:
                records.append(measure(pg_url(name), db, args.rows, args.territories))
            finally:
                run(drop_pg_database(name))
    print(f"{'db':<12}{'accounts':>10}{'terr.':>7}{'assign':>9}{'again':>9}{'activate':>10}")
    for r in records:
        print(
            f"{r['db']:<12}{r['accounts']:>10,}{r['territories']:>7}{r['assign_s']:>8.2f}s"
            f"{r['assign_again_s']:>8.2f}s{r['activate_s']:>9.2f}s"
        )
    for r in records:
        emit(r)


if __name__ == "__main__":
    main()
