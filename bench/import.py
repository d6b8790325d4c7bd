"""Import 100,000 accounts on PostgreSQL through the real server; compare with psql \\copy into a bare table.

Usage: .venv/bin/python bench/import.py [--rows 100000]
Prints a table and one JSON object per line.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from common import Server, account_csv, drop_pg_database, emit, fresh_pg_database, pg_url, run

from persistence.db import make_engine, upgrade
from persistence.keys import create_key
from persistence.tenants import create_tenant

NOW = "2026-11-23 00:00:00+00"
FULL_COLUMNS = (
    "id,tenant_id,external_id,name,industry,country,region,postal_code,employees,annual_revenue,current_arr,"
    "stage,segment,strategic,tags,created_at,updated_at"
)
BARE = """CREATE TABLE bare_accounts (external_id text, name text, industry text, country text,
region text, postal_code text, employees integer, annual_revenue double precision,
current_arr double precision, stage text)"""


async def prepare(db: str) -> tuple[str, uuid.UUID]:
    engine = make_engine(pg_url(db))
    await upgrade(engine)
    tenant = await create_tenant(engine, "bench")
    _, key = await create_key(engine, tenant, ["admin"])
    floor_tenant = await create_tenant(engine, "floor")
    await engine.dispose()
    return key, floor_tenant


def full_rows_csv(body: bytes, tenant: uuid.UUID) -> bytes:
    """The same rows as the accounts table stores them (ids, tenant, segment, defaults, timestamps)."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in list(csv.reader(io.StringIO(body.decode())))[1:]:
        writer.writerow([str(uuid.uuid4()), str(tenant), *row, "smb", "false", "[]", NOW, NOW])
    return out.getvalue().encode()


def psql(db: str, *args: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-q", *args],
        check=True,
        capture_output=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    body = account_csv(args.rows)
    db = run(fresh_pg_database("bench_import"))
    try:
        key, floor_tenant = run(prepare(db))
        # baseline: psql \copy of the same CSV into a bare table (no indexes, no constraints)
        with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as f:
            f.write(body)
            path = f.name
        psql(db, "-c", BARE)
        start = time.perf_counter()
        psql(db, "-c", f"\\copy bare_accounts FROM '{path}' WITH (FORMAT csv, HEADER true)")
        copy_s = time.perf_counter() - start
        # the floor: the same rows copied straight into the real accounts table (indexes, foreign keys)
        with open(path, "wb") as f:
            f.write(full_rows_csv(body, floor_tenant))
        start = time.perf_counter()
        psql(db, "-c", f"\\copy accounts ({FULL_COLUMNS}) FROM '{path}' WITH (FORMAT csv)")
        floor_s = time.perf_counter() - start
        os.unlink(path)

        server = Server("api.app:create_app", {"TERRITORY_DATABASE_URL": pg_url(db)})
        try:
            headers = {"Authorization": f"Bearer {key}", "content-type": "text/csv"}
            start = time.perf_counter()
            r = httpx.post(f"{server.base}/v1/accounts/import", content=body, headers=headers, timeout=600)
            import_s = time.perf_counter() - start
            assert r.status_code == 200 and r.json()["created"] == args.rows, r.text[:300]
            start = time.perf_counter()
            r = httpx.post(f"{server.base}/v1/accounts/import", content=body, headers=headers, timeout=600)
            reimport_s = time.perf_counter() - start
            assert r.json()["unchanged"] == args.rows
            start = time.perf_counter()
            exported = httpx.get(f"{server.base}/v1/accounts/export?format=csv", headers=headers, timeout=600)
            export_s = time.perf_counter() - start
            assert exported.text.count("\n") == args.rows + 1
        finally:
            server.stop()
    finally:
        run(drop_pg_database(db))
    print(f"rows                     {args.rows:>10,}")
    print(f"psql \\copy (bare table)  {copy_s:>9.2f}s  {args.rows / copy_s:>10,.0f} rows/s")
    print(
        f"psql \\copy (accounts)    {floor_s:>9.2f}s  {args.rows / floor_s:>10,.0f} rows/s  "
        f"{floor_s / copy_s:.1f}x copy: the floor set by the table's indexes and foreign keys"
    )
    print(
        f"import (new rows)        {import_s:>9.2f}s  {args.rows / import_s:>10,.0f} rows/s  "
        f"{import_s / copy_s:.1f}x copy (target <= 3x), {import_s / floor_s:.1f}x the floor"
    )
    print(f"re-import (unchanged)    {reimport_s:>9.2f}s  {args.rows / reimport_s:>10,.0f} rows/s")
    print(f"export csv               {export_s:>9.2f}s  {args.rows / export_s:>10,.0f} rows/s")
    emit(
        {
            "bench": "import",
            "db": "postgresql",
            "rows": args.rows,
            "copy_s": round(copy_s, 3),
            "copy_into_accounts_s": round(floor_s, 3),
            "import_s": round(import_s, 3),
            "reimport_s": round(reimport_s, 3),
            "export_s": round(export_s, 3),
            "import_rows_per_s": round(args.rows / import_s),
            "ratio_to_copy": round(import_s / copy_s, 2),
            "ratio_to_floor": round(import_s / floor_s, 2),
        }
    )


if __name__ == "__main__":
    Path(__file__).resolve()
    main()
