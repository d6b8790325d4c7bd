"""Ownership lookups while a 100,000-row account import is parsed and written, on PostgreSQL and SQLite.

Loads an owned book (--accounts, 10,000 by default), serves the real app with uvicorn (1 worker), and sends
lookups at a steady rate (--rate a second, each on one keep-alive connection, one at a time) while it
first idles, then imports --rows new accounts as CSV and then as JSON (POST /v1/accounts/import), then
waits --after seconds more (the index catching up with the import's changes, the rescoring after it).
Prints lookup p50/p99/max per phase: idle, during (the import sent until it answered) and after.
Usage: .venv/bin/python bench/lookup_during_import.py [--rows 100000] [--rate 200] [--db postgresql,sqlite]
                                                    [--worker in-process,separate]
--worker separate runs the operations (the rescoring after the import) in a `territory worker` process
beside the API process, which then runs none (TERRITORY_WORKER_IN_PROCESS=false), as a production set-up
would; in-process (the embedded default) runs them in the API process, in threads.
Every figure is printed as one JSON object per line.
"""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time

import httpx
import orjson
from common import Server, account_csv, drop_pg_database, emit, fresh_pg_database, pg_url, run, wait_quiet
from lookup import load, pct


class Prober(threading.Thread):
    """Lookups at `rate` a second on one keep-alive connection: (sent at, seconds, status) each. A lookup
    that takes longer than the interval delays the next, so a stalled loop shows as one long lookup."""

    def __init__(self, port: int, key: str, rate: float, ids: list[str]):
        super().__init__(daemon=True)
        self.port, self.key, self.interval, self.ids = port, key, 1.0 / rate, ids
        self.samples: list[tuple[float, float, int]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Authorization": f"Bearer {self.key}"}
        due = time.perf_counter()
        i = 0
        while not self.stopping.is_set():
            now = time.perf_counter()
            if now < due:
                time.sleep(due - now)
            sent = time.perf_counter()
            conn.request("GET", f"/v1/ownership/{self.ids[i % len(self.ids)]}?role=AE", headers=headers)
            response = conn.getresponse()
            response.read()
            self.samples.append((sent, time.perf_counter() - sent, response.status))
            i += 1
            due = max(due + self.interval, sent)
        conn.close()

    def between(self, start: float, end: float) -> list[tuple[float, float, int]]:
        return [s for s in self.samples if start <= s[0] < end]


def figures(samples: list[tuple[float, float, int]]) -> dict:
    ms = [s[1] * 1000 for s in samples]
    return {
        "lookups": len(ms),
        "p50_ms": round(pct(ms, 0.5) or 0, 1),
        "p99_ms": round(pct(ms, 0.99) or 0, 1),
        "max_ms": round(max(ms, default=0), 1),
        "over_100ms": sum(m > 100 for m in ms),
        "not_200": sum(s[2] != 200 for s in samples),
    }


def bodies(rows: int) -> dict[str, tuple[bytes, str]]:
    """New accounts (no external id of the loaded book) as CSV and as JSON."""
    csv_body = account_csv(rows).replace(b"B-", b"C-")
    lines = account_csv(rows).decode().splitlines()
    names = lines[0].split(",")
    numbers = {"employees", "annual_revenue", "current_arr"}
    records = []
    for line in lines[1:]:
        record = dict(zip(names, line.split(","), strict=True))
        record["external_id"] = record["external_id"].replace("B-", "J-")
        records.append({k: float(v) if k in numbers else v for k, v in record.items()})
    return {"csv": (csv_body, "text/csv"), "json": (orjson.dumps(records), "application/json")}


def measure(db: str, url: str, args: argparse.Namespace, worker: str) -> None:
    key, write_key, _ = run(load(url, args.accounts))
    env = {"TERRITORY_DATABASE_URL": url}
    separate = None
    if worker == "separate":
        env["TERRITORY_WORKER_IN_PROCESS"] = "false"
        separate = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "worker"], env={**os.environ, **env}, stderr=subprocess.DEVNULL
        )
    server = Server("api.app:create_app", env)
    try:
        ids = [f"B-{i:07d}" for i in range(0, args.accounts, 7)]
        with httpx.Client(base_url=server.base, timeout=600) as client:
            for _ in range(50):  # until the index is built: lookups answered in well under 5 ms
                client.get(f"/v1/ownership/{ids[0]}?role=AE", headers={"Authorization": f"Bearer {key}"})
                time.sleep(0.05)
            files = bodies(args.rows)
            wait_quiet(30)
            prober = Prober(server.port, key, args.rate, ids)
            prober.start()
            time.sleep(args.idle)
            idle_end = time.perf_counter()
            emit(
                {"bench": "lookup_during_import", "db": db, "worker": worker}
                | {"phase": "idle", "rate": args.rate}
                | figures(prober.between(0, idle_end))
            )
            for fmt, (body, content_type) in files.items():
                start = time.perf_counter()
                r = client.post(
                    "/v1/accounts/import",
                    content=body,
                    headers={"Authorization": f"Bearer {write_key}", "content-type": content_type},
                )
                end = time.perf_counter()
                assert r.status_code == 200 and r.json()["created"] == args.rows, r.text[:300]
                time.sleep(args.after)
                after_end = time.perf_counter()
                common = {
                    "bench": "lookup_during_import",
                    "db": db,
                    "worker": worker,
                    "format": fmt,
                    "rows": args.rows,
                }
                emit(
                    common
                    | {"phase": "during", "import_s": round(end - start, 2)}
                    | figures(prober.between(start, end))
                )
                emit(
                    common
                    | {"phase": "after", "seconds": args.after}
                    | figures(prober.between(end, after_end))
                )
            prober.stopping.set()
            prober.join()
    finally:
        server.stop()
        if separate is not None:
            separate.terminate()
            separate.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--idle", type=float, default=5)
    parser.add_argument("--after", type=float, default=8)
    parser.add_argument("--db", default="postgresql,sqlite")
    parser.add_argument("--worker", default="in-process")
    args = parser.parse_args()
    for worker in args.worker.split(","):
        for db in args.db.split(","):
            if db == "postgresql":
                name = run(fresh_pg_database("bench_lookup_import"))
                try:
                    measure(db, pg_url(name), args, worker)
                finally:
                    run(drop_pg_database(name))
            else:
                with tempfile.TemporaryDirectory() as tmp:
                    measure(db, f"sqlite+aiosqlite:///{tmp}/bench.db", args, worker)


if __name__ == "__main__":
    main()
