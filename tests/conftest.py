"""Fixtures: every database test runs on SQLite and on PostgreSQL (a fresh database, never skipped)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from api.app import create_app
from api.config import AppSettings
from api.services.worker import Worker
from persistence.db import make_engine, upgrade
from persistence.keys import create_key
from persistence.tenants import create_tenant

PG_ADMIN_DSN = os.environ.get("TERRITORY_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _asyncpg_dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://")


async def create_pg_database(prefix: str = "territory_test") -> str:
    """A fresh, uniquely named database; a failure here fails the tests, it never skips them."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    except Exception as exc:
        raise RuntimeError(
            f"PostgreSQL is required for the test suite and is not reachable at {PG_ADMIN_DSN}: {exc!r}. "
            "Start it (see .ci/run) or set TERRITORY_TEST_PG_ADMIN."
        ) from exc
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


async def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def pg_url() -> AsyncIterator[str]:
    given = os.environ.get("TERRITORY_TEST_DATABASE_URL")
    if given:
        yield given
        return
    url = await create_pg_database()
    yield url
    await drop_pg_database(url)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'territory.db'}"


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture(scope="session")
async def engine(db_url: str) -> AsyncIterator:
    eng = make_engine(db_url)
    await upgrade(eng)
    yield eng
    await _bounded("engine", eng.dispose())


@pytest.fixture(scope="session")
async def app(engine):  # noqa: ANN001
    # rate limits off for the shared app: many tests spend one key's budget many times over (the limits
    # themselves: tests/api/test_rate_limits.py, each on an app of its own)
    settings = AppSettings(database_url=str(engine.url), rate_limit="", rate_limit_lookup="")
    application = create_app(settings, engine=engine)
    # httpx's ASGI transport runs no lifespan: start the in-process worker's operations as serve would
    # (webhook delivery is driven by the tests that need it, step by step)
    worker = Worker(application.state.ctx, webhooks=False)
    worker.start()
    yield application
    ctx = application.state.ctx
    for step, closing in (
        ("worker", worker.stop),
        ("operations", ctx.operations.close),
        ("ownership", ctx.ownership.close),
    ):
        await _bounded(step, closing())


async def _bounded(step: str, closing) -> None:  # noqa: ANN001
    """A teardown step that does not finish in 30 s is reported and left, not waited for forever: a full
    run under load once hung here, waiting for a cancelled task (see the session notes)."""
    try:
        await asyncio.wait_for(closing, 30)
    except TimeoutError:
        import warnings

        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        warnings.warn(f"teardown of {step} did not finish in 30 s; pending tasks: {pending!r}", stacklevel=1)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # noqa: ANN001
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@dataclass
class TenantKeys:
    tenant_id: uuid.UUID
    key: str
    read_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    @property
    def read_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.read_key}"}


async def make_tenant(engine, settings: dict | None = None) -> TenantKeys:  # noqa: ANN001
    tenant_id = await create_tenant(engine, f"t-{uuid.uuid4().hex[:10]}", settings)
    _, key = await create_key(engine, tenant_id, ["read", "write", "admin"])
    _, read_key = await create_key(engine, tenant_id, ["read"])
    return TenantKeys(tenant_id, key, read_key)


@pytest.fixture
async def tenant(engine) -> TenantKeys:  # noqa: ANN001
    return await make_tenant(engine)


@pytest.fixture
async def other_tenant(engine) -> TenantKeys:  # noqa: ANN001
    return await make_tenant(engine)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """pg_only tests run only on the PostgreSQL parameter, sqlite_only ones only on SQLite (deselected on
    the other, not skipped)."""
    keep = [
        i
        for i in items
        if not (i.get_closest_marker("pg_only") and "[sqlite" in i.nodeid)
        and not (i.get_closest_marker("sqlite_only") and "[postgres" in i.nodeid)
    ]
    items[:] = keep


ROOT = Path(__file__).resolve().parent.parent
_ = asyncio
