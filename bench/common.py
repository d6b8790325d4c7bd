"""Shared helpers for the benchmarks: fresh databases, a real server on a free port, deterministic rows."""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("TERRITORY_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def emit(record: dict) -> None:
    """One JSON object per line, so runs can be compared."""
    print(json.dumps(record, sort_keys=True), flush=True)


async def fresh_pg_database(prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return name


async def drop_pg_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


def pg_url(name: str) -> str:
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def account_csv(n: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    header = (
        "external_id,name,industry,country,region,postal_code,employees,annual_revenue,current_arr,stage\n"
    )
    industries = ["software", "healthcare", "retail", "manufacturing"]
    lines = [header]
    for i in range(n):
        lines.append(
            f"B-{i:07d},Company {i},{rng.choice(industries)},US,{'East' if i % 2 else 'West'},"
            f"{rng.randint(10000, 99999)},{rng.randint(1, 5000)},{rng.randint(1, 500) * 100000},"
            f"{rng.randint(0, 50) * 1000},{rng.choice(['cold', 'prospected', 'customer'])}\n"
        )
    return "".join(lines).encode()


class Server:
    """`python -m uvicorn` serving an app factory, as `territory serve` does."""

    def __init__(self, app: str, env: dict[str, str], workers: int = 1):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        self.proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=ROOT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start")

    def rss_mb(self) -> float:
        """Resident memory of the server process, from /proc (Linux)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
        return 0.0

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.run(coro)
