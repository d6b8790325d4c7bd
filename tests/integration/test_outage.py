"""A PostgreSQL outage, end to end: a throwaway cluster of our own, the real app under uvicorn, HTTP only.

While the database is down, lookups answer from memory (with `Ownership-Age`), everything else answers 503
`database_unavailable` with `Retry-After` (never 500, never a hang) and /readyz is not ready; once it is
back, everything recovers without a restart and no acknowledged write is lost.

The test needs no `db_url` fixture, so it is not parametrized: it runs once (conftest deselects pg_only
tests only by their "[sqlite" parameter). The helpers here are also used by test_workers.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx
import pytest

from persistence.db import make_engine, upgrade
from persistence.keys import create_key
from persistence.tenants import create_tenant

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = httpx.Timeout(5.0)  # no answer may hang: a few seconds at most
KEYPROBE_SQL = "FROM api_keys k JOIN tenants t"  # persistence.keyprobe.SQL


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin() -> Path:
    """The directory of initdb/pg_ctl: TERRITORY_TEST_PG_BIN, else the newest /usr/lib/postgresql/*/bin."""
    given = os.environ.get("TERRITORY_TEST_PG_BIN")
    if given:
        return Path(given)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        on_path = shutil.which("initdb")
        if on_path is None:
            raise RuntimeError("initdb not found: install PostgreSQL or set TERRITORY_TEST_PG_BIN")
        return Path(on_path).parent
    return Path(found[-1]).parent


def _open_log(path: Path) -> IO[bytes]:
    return path.open("ab")


def _tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


async def _run(*cmd: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    async with asyncio.timeout(60):
        out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {out.decode(errors='replace')}")


class Cluster:
    """A PostgreSQL cluster in a temporary directory, on a free port, trust auth for user postgres.

    initdb refuses to run as root, so as root every PostgreSQL command runs as the `postgres` OS user
    (which then owns the directory)."""

    def __init__(self) -> None:
        self.bin = _pg_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="territory-outage-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.dir, "postgres")
        self.running = False

    def _cmd(self, tool: str, *args: str) -> list[str]:
        cmd = [str(self.bin / tool), *args]
        return ["runuser", "-u", "postgres", "--", *cmd] if self.as_root else cmd

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    async def init(self) -> None:
        await _run(*self._cmd("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-N"))

    async def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        await _run(
            *self._cmd("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        )
        self.running = True

    async def stop(self) -> None:
        await _run(*self._cmd("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop"))
        self.running = False

    async def destroy(self) -> None:
        try:
            if self.running:
                await self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class Keys:
    tenant_id: uuid.UUID
    key: str  # read, write, admin
    read_key: str  # read only: the lookups'
    unused_key: str  # valid, but never shown to the server before an outage

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    @property
    def read_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.read_key}"}


async def prepare_database(url: str) -> Keys:
    """Migrate to head, then a tenant with its keys (persistence.tenants)."""
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        await upgrade(engine)
        tenant_id = await create_tenant(engine, f"outage-{uuid.uuid4().hex[:8]}")
        _, key = await create_key(engine, tenant_id, ["read", "write", "admin"])
        _, read_key = await create_key(engine, tenant_id, ["read"])
        _, unused_key = await create_key(engine, tenant_id, ["read"])
    finally:
        await engine.dispose()
    return Keys(tenant_id, key, read_key, unused_key)


@dataclass
class Server:
    base: str
    log: Path
    proc: asyncio.subprocess.Process


@asynccontextmanager
async def serve(database_url: str, log_dir: Path, **env: str) -> AsyncIterator[Server]:
    """The real app: `python -m uvicorn api.app:create_app --factory` on a free port, until it answers."""
    port = free_port()
    log = log_dir / f"uvicorn-{port}.log"
    out = _open_log(log)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "uvicorn",
        "api.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "TERRITORY_DATABASE_URL": database_url, **env},
        stdout=out,
        stderr=asyncio.subprocess.STDOUT,
    )
    server = Server(f"http://127.0.0.1:{port}", log, proc)
    try:
        async with httpx.AsyncClient(timeout=1) as c:
            deadline = time.monotonic() + 20
            while True:
                assert proc.returncode is None, f"uvicorn exited:\n{_tail(log)}"
                with contextlib.suppress(httpx.TransportError):
                    if (await c.get(f"{server.base}/healthz")).status_code == 200:
                        break
                assert time.monotonic() < deadline, f"uvicorn did not answer:\n{_tail(log)}"
                await asyncio.sleep(0.1)
        yield server
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        out.close()
        print(f"--- {log.name} (tail) ---\n{_tail(log)}")  # shown when the test fails


@dataclass
class Calls:
    """Every answer the test got, so that it can say none was a 500."""

    seen: list[tuple[str, str, int]] = field(default_factory=list)

    async def __call__(self, client: httpx.AsyncClient, method: str, url: str, **kw: Any) -> httpx.Response:
        r = await client.request(method, url, **kw)
        self.seen.append((method, url, r.status_code))
        assert r.status_code != 500, f"{method} {url} answered 500: {r.text}"
        return r


async def seed(call: Calls, client: httpx.AsyncClient, headers: dict[str, str], n: int = 3) -> dict[str, Any]:
    """Through the API: an active plan, reps A and B, a territory of A's, and n accounts owned by A."""

    async def create(path: str, **body: Any) -> dict[str, Any]:
        r = await call(client, "POST", f"/v1/{path}", json=body, headers=headers)
        assert r.status_code == 201, r.text
        return r.json()

    tag = uuid.uuid4().hex[:6]
    plan = await create("plans", name="FY27", state="active")
    rep_a = await create("reps", external_id=f"A-{tag}", name="Sarah Chen", email=f"a-{tag}@example.com")
    rep_b = await create("reps", external_id=f"B-{tag}", name="James Okafor", email=f"b-{tag}@example.com")
    territory = await create("territories", plan_id=plan["id"], name="East", primary_rep_id=rep_a["id"])
    accounts, assignments = [], []
    for i in range(n):
        account = await create("accounts", external_id=f"ACC-{tag}-{i}", name=f"Acme {i}")
        assignment = await create(
            "assignments",
            plan_id=plan["id"],
            account_id=account["id"],
            rep_id=rep_a["id"],
            territory_id=territory["id"],
            role="AE",
        )
        accounts.append(account)
        assignments.append(assignment)
    return {
        "plan": plan,
        "rep_a": rep_a,
        "rep_b": rep_b,
        "territory": territory,
        "accounts": accounts,
        "assignments": assignments,
    }


async def answered_from_memory(admin_dsn: str, database: str, lookup: Callable[[], Awaitable[Any]]) -> bool:
    """Whether `lookup` was answered from the in-memory index: while it ran, no connection to `database`
    started any statement but the per-request key read (and the asyncpg pool's reset, and the change
    listener's keep-alive). A lookup answered from SQL runs its queries on the app's engine; a catch-up or
    a build running meanwhile also shows, and makes this say no (try again)."""
    admin = await asyncpg.connect(admin_dsn, timeout=5)
    try:
        started = await admin.fetchval("SELECT clock_timestamp()")
        await lookup()
        rows = await admin.fetch(
            "SELECT query FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() "
            "AND query_start >= $2",
            database,
            started,
        )
    finally:
        await admin.close()

    def harmless(query: str) -> bool:
        q = query.strip()
        return (
            KEYPROBE_SQL in q or q == "SELECT 1" or q.startswith(("LISTEN", "SELECT pg_advisory_unlock_all"))
        )

    return all(harmless(r["query"] or "") for r in rows)


async def warm(
    admin_dsn: str,
    database: str,
    call: Calls,
    client: httpx.AsyncClient,
    external_id: str,
    headers: dict[str, str],
    within: float = 15,
) -> None:
    """Repeat a lookup until it is answered from memory (the index is built in the background on first
    use), twice in a row."""
    deadline = time.monotonic() + within
    in_a_row = 0

    async def lookup() -> None:
        r = await call(client, "GET", f"/v1/ownership/{external_id}", headers=headers)
        assert r.status_code == 200, r.text

    while in_a_row < 2:
        assert time.monotonic() < deadline, f"lookups of {external_id} never answered from memory"
        if await answered_from_memory(admin_dsn, database, lookup):
            in_a_row += 1
        else:
            in_a_row = 0
            await asyncio.sleep(0.1)


def assert_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, (r.request.method, str(r.request.url), r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    assert r.json()["code"] == "database_unavailable", r.text
    assert int(r.headers["retry-after"]) > 0


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    c = Cluster()
    try:
        await c.init()
        await c.start()
        yield c
    finally:
        await c.destroy()


@pytest.mark.pg_only
async def test_lookups_answer_from_memory_through_an_outage_and_everything_recovers(cluster: Cluster):
    admin = await asyncpg.connect(cluster.admin_dsn, timeout=5)
    try:
        await admin.execute('CREATE DATABASE "territory"')
    finally:
        await admin.close()
    url = cluster.url("territory")
    keys = await prepare_database(url)
    cold = await prepare_database(url)  # a second tenant, whose index is never built
    call = Calls()

    async with (
        serve(url, cluster.dir) as server,
        httpx.AsyncClient(base_url=server.base, timeout=TIMEOUT) as c,
    ):
        world = await seed(call, c, keys.headers)
        cold_world = await seed(call, c, cold.headers, n=1)
        # the database confirms the cold tenant's read key, but no lookup builds its index
        assert (await call(c, "GET", "/v1/reps", headers=cold.read_headers)).status_code == 200
        acc = world["accounts"]
        ext = [a["external_id"] for a in acc]
        rep_a, rep_b = world["rep_a"], world["rep_b"]

        async def owner(i: int, headers: dict[str, str] = keys.read_headers) -> httpx.Response:
            r = await call(c, "GET", f"/v1/ownership/{ext[i]}", headers=headers)
            assert r.status_code == 200, r.text
            return r

        await warm(cluster.admin_dsn, "territory", call, c, ext[0], keys.read_headers)

        # acknowledged writes before the outage: account 0 moves to rep B, account 1 is renamed
        r = await call(
            c,
            "PATCH",
            f"/v1/assignments/{world['assignments'][0]['id']}",
            json={"rep_id": rep_b["id"]},
            headers=keys.headers,
        )
        assert r.status_code == 200, r.text
        current = r.json()  # a reassignment ends the assignment and answers its successor
        r = await call(
            c, "PATCH", f"/v1/accounts/{acc[1]['id']}", json={"name": "Acme One"}, headers=keys.headers
        )
        assert r.status_code == 200, r.text
        expected = {0: ("James Okafor", "Acme 0"), 1: ("Sarah Chen", "Acme One"), 2: ("Sarah Chen", "Acme 2")}

        def check(body: dict[str, Any], i: int) -> None:
            assert body["status"] == "owned", body
            assert (body["rep"]["name"], body["account"]["name"]) == expected[i], body

        for i in expected:
            got = await owner(i)
            check(got.json(), i)
            assert got.headers["ownership-age"] == "0"
        await warm(cluster.admin_dsn, "territory", call, c, ext[2], keys.read_headers)
        seq_before = (await owner(0)).headers["ownership-seq"]

        # -- the outage ------------------------------------------------------------------------------------
        await cluster.stop()
        stopped = time.monotonic()
        ages = []
        for _ in range(3):  # a few rounds, across the key probe's retry pause
            for i in expected:
                got = await owner(i)
                check(got.json(), i)
                assert got.headers["ownership-seq"] == seq_before
                ages.append(int(got.headers["ownership-age"]))
            r = await call(
                c,
                "POST",
                "/v1/ownership/lookup",
                json={"external_ids": [ext[1], "ghost", ext[0]]},
                headers=keys.read_headers,
            )
            assert r.status_code == 200, r.text
            results = r.json()["results"]
            assert [x["status"] for x in results] == ["owned", "not_found", "owned"]
            assert results[0]["account"]["name"] == "Acme One" and results[2]["rep"]["name"] == "James Okafor"
            assert "ownership-age" in r.headers
            r = await call(c, "GET", "/v1/ownership/ghost", headers=keys.read_headers)
            assert r.status_code == 404, r.text
            # a key the database never confirmed cannot be checked: 503, not 401
            assert_unavailable(
                await call(
                    c,
                    "GET",
                    f"/v1/ownership/{ext[0]}",
                    headers={"Authorization": f"Bearer {keys.unused_key}"},
                )
            )
            # a write, and a list: both need the database
            assert_unavailable(
                await call(
                    c, "PATCH", f"/v1/accounts/{acc[2]['id']}", json={"name": "Lost"}, headers=keys.headers
                )
            )
            assert_unavailable(await call(c, "GET", "/v1/accounts", headers=keys.headers))
            r = await call(c, "GET", "/readyz")
            assert r.status_code == 503, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            # a lookup that memory cannot answer (no index yet) needs the database: 503 as well, and the
            # connection stays usable (the next request on it is answered)
            cold_ext = cold_world["accounts"][0]["external_id"]
            assert_unavailable(await call(c, "GET", f"/v1/ownership/{cold_ext}", headers=cold.read_headers))
            got = await owner(0)
            check(got.json(), 0)
            await asyncio.sleep(0.7)
        assert ages == sorted(ages) and ages[-1] >= 1, ages  # seconds since the index was known current
        assert ages[-1] <= time.monotonic() - stopped + 1

        # -- back ----------------------------------------------------------------------------------------
        await cluster.start()
        deadline = time.monotonic() + 10
        while True:
            r = await call(
                c, "PATCH", f"/v1/accounts/{acc[2]['id']}", json={"name": "Acme Two"}, headers=keys.headers
            )
            if r.status_code == 200:
                break
            assert_unavailable(r)
            assert time.monotonic() < deadline, "writes did not recover"
            await asyncio.sleep(0.2)
        expected[2] = ("Sarah Chen", "Acme Two")
        while (r := await call(c, "GET", "/readyz")).status_code != 200:
            assert r.status_code == 503 and time.monotonic() < deadline, r.text
            await asyncio.sleep(0.2)
        assert r.json()["status"] == "ready"
        for i in expected:  # the write shows on the next lookup; the index is current again
            got = await owner(i)
            check(got.json(), i)
            assert got.headers["ownership-age"] == "0"
            assert int(got.headers["ownership-seq"]) > int(seq_before)
        r = await call(
            c,
            "PATCH",
            f"/v1/assignments/{current['id']}",
            json={"rep_id": rep_a["id"]},
            headers=keys.headers,
        )
        assert r.status_code == 200, r.text
        expected[0] = ("Sarah Chen", "Acme 0")
        got = await owner(0)
        check(got.json(), 0)
        assert got.headers["ownership-age"] == "0"
        # a key never seen before the outage works again
        assert (await owner(1, {"Authorization": f"Bearer {keys.unused_key}"})).json()["account"]["name"] == (
            "Acme One"
        )

        # every acknowledged write is there, in the database itself; the refused one is not
        r = await call(c, "GET", "/v1/accounts", params={"page_size": 100}, headers=keys.headers)
        assert r.status_code == 200, r.text
        names = {a["id"]: a["name"] for a in r.json()["items"]}
        assert names == {acc[i]["id"]: expected[i][1] for i in expected}
        r = await call(
            c, "GET", "/v1/assignments", params={"plan_id": world["plan"]["id"]}, headers=keys.headers
        )
        assert r.status_code == 200, r.text
        owners = {a["account_id"]: a["rep_id"] for a in r.json()["items"] if a["valid_to"] is None}
        want = {0: rep_a["id"], 1: rep_a["id"], 2: rep_a["id"]}
        assert owners == {acc[i]["id"]: want[i] for i in want}
        r = await call(
            c, "GET", f"/v1/ownership/{cold_world['accounts'][0]['external_id']}", headers=cold.read_headers
        )
        assert r.status_code == 200 and r.json()["rep"]["name"] == "Sarah Chen", r.text
        # no request failed inside the app (a 503 that went through Starlette's last-resort handler is
        # logged as an unhandled exception and costs the client its connection)
        assert "Exception in ASGI application" not in server.log.read_text(errors="replace")
    assert not [s for s in call.seen if s[2] >= 500 and s[2] != 503], call.seen
