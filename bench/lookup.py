"""Ownership lookup req/s and p50/p99 on PostgreSQL and SQLite, next to a bare FastAPI endpoint.

Loads 100,000 owned accounts, serves the real app with uvicorn (1 worker) and a bare FastAPI endpoint the
same way, and drives both with wrk (apt-get install wrk) from one thread on random external ids.
Usage: .venv/bin/python bench/lookup.py [--accounts 100000] [--seconds 10] [--connections 32]
                                        [--db postgresql,sqlite] [--during-optimize]
--during-optimize skews and scores the book, then measures again while an optimisation of it runs in the
same worker (POST /v1/plans/{id}/optimize).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa
from common import Server, account_csv, drop_pg_database, emit, fresh_pg_database, pg_url

from api.services.context import AppContext, Principal
from api.services.imports import import_records, records_from_csv
from persistence.db import make_engine, make_session_factory, upgrade
from persistence.tables import AccountRow, AssignmentRow, PlanRow, RepRow, TerritoryRow
from persistence.tenants import create_key, create_tenant

LUA = """
math.randomseed(42)
wrk.headers["Authorization"] = "Bearer {key}"
request = function()
  return wrk.format("GET", string.format("/v1/ownership/B-%07d?role=AE", math.random(0, {n} - 1)))
end
"""


async def load(url: str, n: int, reps: int = 200, skew: bool = False) -> tuple[str, str, str]:
    """The book; with `skew`, owners far out of balance (rep i holds a share growing with i) and scored,
    for the optimiser to have work. Returns a read key, a write key and the plan's id."""
    engine = make_engine(url)
    await upgrade(engine)
    tenant = await create_tenant(engine, "bench")
    _, key = await create_key(engine, tenant, ["read"])
    _, write_key = await create_key(engine, tenant, ["read", "write"])
    ctx = AppContext(engine, make_session_factory(engine))
    header, records = records_from_csv(account_csv(n))
    await import_records(ctx, Principal(tenant, frozenset({"admin"})), "accounts", records, header=header)
    now = datetime.now(UTC)
    plan_id = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(PlanRow.__table__).values(
                id=plan_id,
                tenant_id=tenant,
                name="bench",
                state="active",
                activated_at=now,
                created_at=now,
                updated_at=now,
            )
        )
        rep_ids = [uuid.uuid4() for _ in range(reps)]
        await conn.execute(
            sa.insert(RepRow.__table__),
            [
                {
                    "id": r,
                    "tenant_id": tenant,
                    "external_id": f"R{i}",
                    "name": f"Rep {i}",
                    "email": f"r{i}@example.com",
                    "role": "AE",
                    "ramp_status": "ramped",
                    "expertise": [],
                }
                for i, r in enumerate(rep_ids)
            ],
        )
        territory_ids = [uuid.uuid4() for _ in range(reps)]
        await conn.execute(
            sa.insert(TerritoryRow.__table__),
            [
                {
                    "id": t,
                    "tenant_id": tenant,
                    "plan_id": plan_id,
                    "name": f"T{i}",
                    "type": "geographic",
                    "boundary": {},
                    "priority": 0,
                    "primary_rep_id": rep_ids[i],
                }
                for i, t in enumerate(territory_ids)
            ],
        )
        accounts = AccountRow.__table__

        def owner(i: int) -> int:
            return min(reps - 1, int(reps * (i / n) ** 0.5)) if skew else i % reps

        account_ids = [
            r.id
            for r in await conn.execute(
                sa.select(accounts.c.id)
                .where(accounts.c.tenant_id == tenant)
                .order_by(accounts.c.external_id)
            )
        ]
        rows = [
            {
                "id": uuid.uuid4(),
                "tenant_id": tenant,
                "plan_id": plan_id,
                "account_id": a,
                "territory_id": territory_ids[owner(i)],
                "rep_id": rep_ids[owner(i)],
                "role": "AE",
                "locked": False,
                "reason": "rule",
                "valid_from": now,
            }
            for i, a in enumerate(account_ids)
        ]
        for start in range(0, len(rows), 5000):
            await conn.execute(sa.insert(AssignmentRow.__table__), rows[start : start + 5000])
    if skew:
        from api.services.scoring import run_scoring

        await run_scoring(ctx, Principal(tenant, frozenset({"admin"})))
    await engine.dispose()
    return key, write_key, str(plan_id)


def wrk(base: str, script: str, seconds: int, connections: int) -> dict:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script, base],
        check=True,
        capture_output=True,
        text=True,
    ).stdout

    def ms(text: str) -> float:
        value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = ms(re.search(r"50%\s+(\S+)", out).group(1))
    p99 = ms(re.search(r"99%\s+(\S+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": round(rps),
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def warm_up(base: str, key: str, limit_s: float = 120.0) -> float:
    """Seconds until ten lookups in a row take under 5 ms each (the snapshot is built)."""
    headers = {"Authorization": f"Bearer {key}"}
    start = time.perf_counter()
    fast = 0
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        while fast < 10 and time.perf_counter() - start < limit_s:
            t = time.perf_counter()
            client.get("/v1/ownership/B-0000001")
            fast = fast + 1 if time.perf_counter() - t < 0.005 else 0
            time.sleep(0.02)
    return time.perf_counter() - start


def measure(
    name: str,
    app: str,
    env: dict,
    key: str,
    n: int,
    seconds: int,
    connections: int,
    optimize: tuple[str, str] | None = None,
) -> dict:
    """wrk against the server; with `optimize` (write key, plan id), wrk again while an optimisation of
    the plan runs in the same worker, to show what it costs the lookups."""
    server = Server(app, env)
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(LUA.replace("{key}", key).replace("{n}", str(n)))
        # Warm up: the first lookup schedules the snapshot build; wait until single lookups are fast
        # (answered from memory), then run wrk once before measuring.
        warm_s = warm_up(server.base, key)
        wrk(server.base, f.name, 3, connections)
        result = wrk(server.base, f.name, seconds, connections)
        if optimize is not None:
            write_key, plan_id = optimize
            headers = {"Authorization": f"Bearer {write_key}"}
            with httpx.Client(base_url=server.base, headers=headers, timeout=60) as client:
                started = time.perf_counter()
                op = client.post(f"/v1/plans/{plan_id}/optimize", json={"potential_band": 0.05}).json()
                during = wrk(server.base, f.name, seconds, connections)
                while (state := client.get(f"/v1/operations/{op['id']}").json())["state"] in (
                    "queued",
                    "running",
                ):
                    time.sleep(0.5)
                result["during_optimize"] = {
                    **during,
                    "optimize_state": state["state"],
                    "optimize_s": round(time.perf_counter() - started, 1),
                    "moves": (state.get("result") or {}).get("moves", {}).get("count"),
                }
        Path(f.name).unlink()
        return {**result, "warm_up_s": round(warm_s, 2), "rss_mb": server.rss_mb()}
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--db", default="postgresql,sqlite")
    parser.add_argument(
        "--during-optimize",
        action="store_true",
        help="skew and score the book, then measure again while POST /v1/plans/{id}/optimize runs",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    print(
        f"{'server':<28}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'ratio':>8}{'warm-up s':>11}{'RSS MB':>9}"
    )
    bare = measure(
        "bare",
        "bare_app:create_app",
        {"PYTHONPATH": str(Path(__file__).parent)},
        "x",
        args.accounts,
        args.seconds,
        args.connections,
    )
    row = f"{'bare FastAPI endpoint':<28}{bare['rps']:>10}{bare['p50_ms']:>10}{bare['p99_ms']:>10}{'1.00':>8}"
    print(f"{row}{bare['warm_up_s']:>11}{bare['rss_mb']:>9}")
    emit({"bench": "lookup", "server": "bare", **bare})
    for db in args.db.split(","):
        tmp = tempfile.mkdtemp()
        name = None
        if db == "postgresql":
            name = asyncio.run(fresh_pg_database("bench_lookup"))
            url = pg_url(name)
        else:
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        try:
            key, write_key, plan_id = asyncio.run(load(url, args.accounts, skew=args.during_optimize))
            result = measure(
                db,
                "api.app:create_app",
                {"TERRITORY_DATABASE_URL": url},
                key,
                args.accounts,
                args.seconds,
                args.connections,
                (write_key, plan_id) if args.during_optimize else None,
            )
        finally:
            if name:
                asyncio.run(drop_pg_database(name))
            shutil.rmtree(tmp, ignore_errors=True)
        ratio = result["rps"] / bare["rps"]
        label = f"lookup on {db}"
        row = f"{label:<28}{result['rps']:>10}{result['p50_ms']:>10}{result['p99_ms']:>10}{ratio:>8.2f}"
        print(f"{row}{result['warm_up_s']:>11}{result['rss_mb']:>9}")
        if "during_optimize" in result:
            d = result["during_optimize"]
            row = f"{'  while optimising':<28}{d['rps']:>10}{d['p50_ms']:>10}{d['p99_ms']:>10}"
            print(f"{row}  (optimize {d['optimize_state']} in {d['optimize_s']} s, {d['moves']} moves)")
        emit(
            {
                "bench": "lookup",
                "server": db,
                "accounts": args.accounts,
                "ratio_to_bare": round(ratio, 3),
                **result,
            }
        )


if __name__ == "__main__":
    main()
