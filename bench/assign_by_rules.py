"""Assign 100,000 accounts by the rules of engagement over 50 territories through the real server, then
activate.

The book: bench/common.account_csv (postal codes 10000-99999 in two regions); 50 territories, one rep each,
each holding a band of postal codes in its region; every tenth account (a West one) has two meetings in the
last month by the rep of East 1, so the policy's existing relationship gives 10% of the book to that rep
against the boundary. A book that large runs as an operation (202): the time is from the POST to the
operation read as succeeded (polled every 50 ms). It times the first assignment (every account new), a
second one (nothing changes), and the activation, on SQLite and PostgreSQL; and the domain alone (the
boundaries, the candidates and the policy over the same book in 10,000-account chunks, no database).
Then a second draft is assigned from nothing while a CRM sync imports updates of 500 accounts at a time and
ownership lookups of the active plan go on: its time, the lookups' and the syncs' answer times, and the
same load without a run (once lookups answer from the index rebuilt after the activation again).

Usage: .venv/bin/python bench/assign_by_rules.py [--rows 100000] [--territories 50] [--db sqlite,postgresql]
                                                [--worker in-process,separate]

Target (issue 14): at most 5 s for 100,000 accounts over 50 territories. Prints a table and one JSON
object per line.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from common import Server, account_csv, drop_pg_database, emit, fresh_pg_database, pct, pg_url, run

from api.services.engagement import DEFAULTS as POLICY
from domain.assigning import Book, Evidence, RuleRep, decide_chunk
from domain.boundaries import RuleTerritory, match_boundaries, parse_boundary
from persistence.db import make_engine, upgrade
from persistence.keys import create_key
from persistence.tenants import create_tenant


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


def related(rows: int) -> list[int]:
    """The accounts the rep of East 1 has worked: every tenth (all in the West)."""
    return list(range(0, rows, 10))


def meetings(rows: int) -> list[dict]:
    now = datetime.now(UTC)
    return [
        {
            "external_id": f"M-{i}-{k}",
            "account_external_id": f"B-{i:07d}",
            "rep_external_id": "R1",
            "occurred_at": (now - timedelta(days=3 + 10 * k)).isoformat(),
            "kind": "meeting",
        }
        for i in related(rows)
        for k in range(2)
    ]


def assign(client: httpx.Client, plan: str) -> dict:
    """POST assign-by-rules; a 202 is followed until its operation ends: the answer."""
    r = client.post(f"/v1/plans/{plan}/assign-by-rules")
    if r.status_code == 200:
        return r.json()
    assert r.status_code == 202, r.text[:300]
    while True:
        op = client.get(r.headers["location"]).json()
        if op["state"] not in ("queued", "running"):
            assert op["state"] == "succeeded", op
            return op["result"]
        time.sleep(0.05)


def new_plan(client: httpx.Client, name: str, n_territories: int, reps: list[str]) -> str:
    plan = client.post("/v1/plans", json={"name": name}).json()["id"]
    for t, rep in zip(territories(n_territories), reps, strict=True):
        r = client.post("/v1/territories", json={**t, "plan_id": plan, "primary_rep_id": rep})
        assert r.status_code == 201, r.text[:300]
    return plan


class Load:
    """While a run goes on, what it meets: a CRM sync updating 500 accounts an import, one after another,
    and ownership lookups of the active plan, one after another, each on its own client; their answer
    times (ms) and any answer that was not a success."""

    def __init__(self, base: str, headers: dict[str, str], rows: int):
        self.base, self.headers, self.rows = base, headers, rows
        self.stop = threading.Event()
        self.lookups: list[float] = []
        self.syncs: list[float] = []
        self.failures: list[str] = []
        self.from_database = 0  # lookups answered from SQL (Ownership-Source), not the index
        self.threads = [threading.Thread(target=self._sync), threading.Thread(target=self._lookup)]

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()

    def _sync(self) -> None:
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=120) as c:
            k = 0
            while not self.stop.is_set():
                ids = [(k * 500 + i) % self.rows for i in range(500)]
                lines = ["external_id,name,employees"] + [
                    f"B-{n:07d},Company {n},{1 + (k + n) % 5000}" for n in ids
                ]
                start = time.perf_counter()
                r = c.post(
                    "/v1/accounts/import",
                    content="\n".join(lines) + "\n",
                    headers={"content-type": "text/csv"},
                )
                self.syncs.append((time.perf_counter() - start) * 1000)
                if r.status_code != 200:
                    self.failures.append(f"sync {r.status_code} {r.text[:100]}")
                k += 1

    def _lookup(self) -> None:
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=120) as c:
            k = 0
            while not self.stop.is_set():
                start = time.perf_counter()
                r = c.get(f"/v1/ownership/B-{(k * 7919) % self.rows:07d}")
                self.lookups.append((time.perf_counter() - start) * 1000)
                self.from_database += r.headers.get("ownership-source") == "database"
                if r.status_code != 200:
                    self.failures.append(f"lookup {r.status_code} {r.text[:100]}")
                k += 1


def settle(client: httpx.Client, rows: int, limit_s: float = 120.0) -> float:
    """Seconds until lookups answer from the rebuilt index again (20 in a row with `Ownership-Source:
    index`): after a plan switch the index is rebuilt whole, and lookups are answered from SQL meanwhile."""
    start, from_index, k = time.perf_counter(), 0, 0
    while from_index < 20 and time.perf_counter() - start < limit_s:
        r = client.get(f"/v1/ownership/B-{(k * 7919) % rows:07d}")
        from_index = from_index + 1 if r.headers.get("ownership-source") == "index" else 0
        k += 1
        time.sleep(0.01)
    return time.perf_counter() - start


def domain_only(rows: int, n_territories: int) -> float:
    """The domain's part of the first assignment: boundaries, candidates and the policy, chunk by chunk."""
    accounts = [
        {**r, "id": uuid.UUID(int=i + 1), "employees": int(r["employees"]), "owner_rep_id": None}
        for i, r in enumerate(csv.DictReader(io.StringIO(account_csv(rows).decode())))
    ]
    listed = territories(n_territories)
    ruled = [
        RuleTerritory(uuid.UUID(int=10**9 + j), t["name"], t["priority"], parse_boundary(t["boundary"]))
        for j, t in enumerate(listed)
    ]
    owners = {t.id: f"rep{j}" for j, t in enumerate(ruled)}
    reps = {f"rep{j}": RuleRep(f"rep{j}", f"Rep {j}") for j in range(len(ruled))}
    now = datetime.now(UTC)
    worked = set(related(rows))
    notes = {t.id: f"boundary of {t.name}" for t in ruled}
    start = time.perf_counter()
    for at in range(0, rows, 10_000):
        chunk = accounts[at : at + 10_000]
        touches = {
            (a["id"], "rep1"): (2, now) for i, a in enumerate(chunk, at) if i in worked
        }  # its own, as read
        matches = match_boundaries(enumerate(chunk), ruled)
        decide_chunk(Book(chunk, matches, owners, reps, Evidence(touches, {}), POLICY), now.date(), notes)
    return time.perf_counter() - start


def measure(url: str, db: str, rows: int, n_territories: int, worker: str) -> dict:
    key = run(prepare(url))
    env = {"TERRITORY_DATABASE_URL": url}
    separate = None
    if worker == "separate":  # as production runs: the API process runs no operation, a worker does
        env["TERRITORY_WORKER_IN_PROCESS"] = "false"
        separate = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "worker"], env={**os.environ, **env}, stderr=subprocess.DEVNULL
        )
    server = Server("api.app:create_app", env)
    try:
        client = httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {key}"}, timeout=900)
        r = client.post(
            "/v1/accounts/import", content=account_csv(rows), headers={"content-type": "text/csv"}
        )
        assert r.status_code == 200, r.text[:300]
        reps = [
            client.post(
                "/v1/reps", json={"name": f"Rep {i}", "email": f"rep{i}@example.com", "external_id": f"R{i}"}
            ).json()["id"]
            for i in range(n_territories)
        ]
        plan = new_plan(client, "FY27", n_territories, reps)
        r = client.post("/v1/activities/import", json=meetings(rows))
        assert r.status_code == 200, r.text[:300]
        times, by_rule = {}, {}
        for name in ("first", "again"):
            start = time.perf_counter()
            body = assign(client, plan)
            times[name] = time.perf_counter() - start
            if name == "first":
                assert body["assigned"] == rows, body
                by_rule = body["by_rule"]
                assert by_rule.get("existing_relationship") == len(related(rows)), by_rule
        start = time.perf_counter()
        r = client.post(f"/v1/plans/{plan}/activate")
        times["activate"] = time.perf_counter() - start
        assert r.status_code == 200, r.text[:300]
        # a proposal without the relationship rule: the related accounts would go back to their boundary
        proposal = {"rules": [{"kind": "named_account"}, {"kind": "boundary"}]}
        start = time.perf_counter()
        r = client.post("/v1/engagement/policy/dry-run", json=proposal)
        times["dry_run"] = time.perf_counter() - start
        assert r.status_code == 200, r.text[:300]
        assert r.json()["owners"]["changed"] == len(related(rows)), r.json()["owners"]["changed"]
        # a second draft assigned from nothing again, while a CRM sync writes and lookups read
        second = new_plan(client, "FY27 second", n_territories, reps)
        times["settle"] = settle(client, rows)
        with Load(server.base, dict(client.headers), rows) as alone:  # the same load without a run
            time.sleep(6.0)
        with Load(server.base, dict(client.headers), rows) as load:
            time.sleep(1.0)  # both under way first
            start = time.perf_counter()
            body = assign(client, second)
            times["under_load"] = time.perf_counter() - start
        assert body["assigned"] == rows, body
        assert not load.failures and not alone.failures, (load.failures + alone.failures)[:5]
    finally:
        server.stop()
        if separate is not None:
            separate.terminate()
            separate.wait(30)
    return {
        "bench": "assign_by_rules",
        "db": db,
        "worker": worker,
        "accounts": rows,
        "territories": n_territories,
        "assign_s": round(times["first"], 3),
        "assign_again_s": round(times["again"], 3),
        "activate_s": round(times["activate"], 3),
        "dry_run_s": round(times["dry_run"], 3),
        "assign_under_load_s": round(times["under_load"], 3),
        "index_settled_s": round(times["settle"], 1),
        "alone_lookup_p50_ms": pct(alone.lookups, 0.5),
        "alone_lookup_p99_ms": pct(alone.lookups, 0.99),
        "alone_sync_p50_ms": pct(alone.syncs, 0.5),
        "alone_from_database": alone.from_database,
        "lookups_during": len(load.lookups),
        "lookups_from_database": load.from_database,
        "lookup_p50_ms": pct(load.lookups, 0.5),
        "lookup_p99_ms": pct(load.lookups, 0.99),
        "lookup_max_ms": round(max(load.lookups), 1) if load.lookups else None,
        "syncs_during": len(load.syncs),
        "sync_p50_ms": pct(load.syncs, 0.5),
        "sync_max_ms": round(max(load.syncs), 1) if load.syncs else None,
        "by_rule": by_rule,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--territories", type=int, default=50)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument(
        "--worker",
        default="in-process",
        choices=["in-process", "separate"],
        help="separate: the operations and rescorings in a `territory worker` process, as in production",
    )
    args = parser.parse_args()
    records = []
    for db in args.db.split(","):
        if db == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
                records.append(measure(url, db, args.rows, args.territories, args.worker))
        else:
            name = run(fresh_pg_database("bench_rules"))
            try:
                records.append(measure(pg_url(name), db, args.rows, args.territories, args.worker))
            finally:
                run(drop_pg_database(name))
        emit(records[-1])  # at once: a later database's failure keeps this one's figures
    print(f"{'db':<12}{'accounts':>10}{'terr.':>7}{'assign':>9}{'again':>9}{'activate':>10}{'loaded':>9}")
    for r in records:
        print(
            f"{r['db']:<12}{r['accounts']:>10,}{r['territories']:>7}{r['assign_s']:>8.2f}s"
            f"{r['assign_again_s']:>8.2f}s{r['activate_s']:>9.2f}s{r['assign_under_load_s']:>8.2f}s"
        )
        print(
            f"  under load: {r['lookups_during']} lookups ({r['lookups_from_database']} from SQL) p50"
            f" {r['lookup_p50_ms']} ms p99 {r['lookup_p99_ms']} ms max {r['lookup_max_ms']} ms;"
            f" {r['syncs_during']} syncs of 500"
            f" accounts p50 {r['sync_p50_ms']} ms max {r['sync_max_ms']} ms"
        )
        print(
            f"  lookups from the index again {r['index_settled_s']} s after the activation and the dry run;"
            f" then the same load without a run: lookups ({r['alone_from_database']} from SQL) p50"
            f" {r['alone_lookup_p50_ms']} ms"
            f" p99 {r['alone_lookup_p99_ms']} ms; syncs p50 {r['alone_sync_p50_ms']} ms"
        )
    spent = domain_only(args.rows, args.territories)
    print(f"domain alone (boundaries, candidates, policy; no database): {spent:.2f}s")
    emit({"bench": "assign_by_rules_domain", "accounts": args.rows, "domain_s": round(spent, 3)})


if __name__ == "__main__":
    main()
