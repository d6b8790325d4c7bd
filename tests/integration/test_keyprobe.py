"""The per-request key and version read: correct, fresh, and coalesced under concurrency on PostgreSQL."""

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from domain.changes import rep_change
from persistence import changes
from persistence.keyprobe import KeyProbe
from persistence.keys import create_key, revoke_key
from tests.conftest import make_tenant


@pytest.fixture
async def probe(engine):
    p = KeyProbe(engine.url.render_as_string(hide_password=False))
    yield p
    await p.close()


async def test_reads_key_scopes_and_current_version(engine, probe):
    t = await make_tenant(engine)
    record = await probe.read(t.read_key)
    assert record.tenant_id == t.tenant_id and record.scopes == frozenset({"read"})
    assert await probe.read("te_unknown") is None
    async with engine.begin() as conn:
        await changes.append(conn, t.tenant_id, [rep_change(uuid.uuid4(), datetime.now(UTC), "R", "r@x.io")])
    assert (await probe.read(t.read_key)).ownership_version == record.ownership_version + 1


async def test_a_revoked_key_is_refused_on_the_next_read(engine, probe):
    t = await make_tenant(engine)
    key_id, key = await create_key(engine, t.tenant_id, ["read"])
    assert await probe.read(key) is not None
    await revoke_key(engine, key_id)
    assert await probe.read(key) is None


async def test_an_expired_key_is_refused_by_the_read_and_by_the_outage_cache(engine, probe):
    import dataclasses
    from datetime import timedelta

    t = await make_tenant(engine)
    _, past = await create_key(
        engine, t.tenant_id, ["read"], expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    _, later = await create_key(
        engine, t.tenant_id, ["read"], expires_at=datetime.now(UTC) + timedelta(hours=1)
    )
    assert await probe.read(past) is None
    record = await probe.read(later)
    assert record is not None and record.expires_at > datetime.now(UTC)
    assert probe.cached(later) is not None
    # the cache answers what the database said, but never past the key's expiry (as if it had passed)
    digest, (kept, when) = next(iter(probe._verified.items()))
    probe._verified[digest] = (
        dataclasses.replace(kept, expires_at=datetime.now(UTC) - timedelta(seconds=1)),
        when,
    )
    assert probe.cached(later) is None


async def test_last_use_is_one_update_for_every_key_read_since_the_last(engine):
    from persistence.keys import get_key

    probe = KeyProbe(engine.url.render_as_string(hide_password=False), engine=engine, last_used_seconds=3600)
    t = await make_tenant(engine)
    try:
        for key in (t.key, t.read_key, t.key):
            assert await probe.read(key) is not None
        assert probe._flush_at is not None  # one write is scheduled, not one per read
        ids = {(await probe.read(k)).key_id for k in (t.key, t.read_key)}
        await probe.close()  # writes what was read since the last write
        for key_id in ids:
            assert (await get_key(engine, key_id)).last_used_at is not None
    finally:
        await probe.close()


async def test_last_use_is_the_minute_of_the_use_not_of_the_write(engine, monkeypatch):
    from persistence import keyprobe
    from persistence.keys import get_key

    probe = KeyProbe(engine.url.render_as_string(hide_password=False), engine=engine, last_used_seconds=3600)
    t = await make_tenant(engine)
    used = datetime(2026, 12, 3, 7, 37, 20, tzinfo=UTC)
    monkeypatch.setattr(keyprobe.time, "time", lambda: used.timestamp())
    try:
        key_id = (await probe.read(t.read_key)).key_id
    finally:
        monkeypatch.undo()
        await probe.close()  # the write, minutes after the use
    stored = (await get_key(engine, key_id)).last_used_at
    assert stored.replace(tzinfo=UTC) == datetime(2026, 12, 3, 7, 37, tzinfo=UTC)


@pytest.mark.pg_only
async def test_concurrent_reads_share_queries_and_each_gets_its_own_answer(engine, probe):
    tenants = [await make_tenant(engine) for _ in range(3)]
    keys = [t.key for t in tenants] * 20 + ["te_nope"] * 5
    before = probe.queries
    records = await asyncio.gather(*(probe.read(k) for k in keys))
    for key, record in zip(keys, records, strict=True):
        expected = next((t.tenant_id for t in tenants if t.key == key), None)
        assert (record.tenant_id if record else None) == expected
    assert probe.queries - before < len(keys)


def test_behind_pgbouncer_raw_connections_prepare_nothing_either():
    from persistence.db import asyncpg_dsn

    dsn, options = asyncpg_dsn(
        "postgresql+asyncpg://app@pgb:6432/t?prepared_statement_cache_size=0&ssl=require"
    )
    assert (dsn, options) == ("postgresql://app@pgb:6432/t?ssl=require", {"statement_cache_size": 0})
    assert asyncpg_dsn("postgresql+asyncpg://app@db/t") == ("postgresql://app@db/t", {})


@pytest.mark.pg_only
async def test_with_the_pgbouncer_option_no_statement_outlives_its_transaction(engine):
    """Named prepared statements stay on a pooled server connection behind PgBouncer and collide with
    another process's; with the option the engine prepares only unnamed ones."""
    import sqlalchemy as sa

    from persistence.db import make_engine

    url = engine.url.render_as_string(hide_password=False) + "?prepared_statement_cache_size=0"
    plain = make_engine(url, pool_size=1, max_overflow=0)
    try:
        async with plain.connect() as conn:
            for _ in range(3):
                await conn.execute(sa.text("SELECT count(*) FROM tenants WHERE name <> :n"), {"n": "x"})
            left = (await conn.execute(sa.text("SELECT count(*) FROM pg_prepared_statements"))).scalar()
        assert left == 0
    finally:
        await plain.dispose()
