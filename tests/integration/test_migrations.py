"""Migrations: a stairway (upgrade, downgrade, upgrade per revision) and models-vs-migrations drift."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from persistence.db import current_revision, downgrade, make_engine, revisions_in_order, upgrade
from persistence.tables import metadata
from tests.conftest import create_pg_database, drop_pg_database


@pytest.fixture
async def fresh_pg():
    url = await create_pg_database("territory_migrations")
    engine = make_engine(url)
    yield engine
    await engine.dispose()
    await drop_pg_database(url)


@pytest.mark.pg_only
async def test_stairway_every_revision_upgrades_downgrades_and_upgrades_again(fresh_pg):
    revisions = revisions_in_order()
    assert revisions, "no migrations found"
    previous = "base"
    for revision in revisions:
        await upgrade(fresh_pg, revision)
        assert await current_revision(fresh_pg) == revision
        await downgrade(fresh_pg, previous)
        assert await current_revision(fresh_pg) == (None if previous == "base" else previous)
        await upgrade(fresh_pg, revision)
        previous = revision


def _kept_by_triggers(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
    """False for a model's foreign key that PostgreSQL keeps by triggers (0022), so not as a key."""
    if type_ == "foreign_key_constraint" and not reflected:
        return not any("postgresql" in key.info for key in obj.elements)
    return True


@pytest.mark.pg_only
async def test_models_match_the_migrations(fresh_pg):
    await upgrade(fresh_pg)
    opts = {"compare_type": True, "include_object": _kept_by_triggers}
    async with fresh_pg.connect() as conn:
        diff = await conn.run_sync(
            lambda c: compare_metadata(MigrationContext.configure(c, opts=opts), metadata)
        )
        triggers = (
            await conn.execute(
                sa.text(
                    "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE 'assignments_%'"
                )
            )
        ).scalars()
        keys = (
            await conn.execute(
                sa.text(
                    "SELECT conname FROM pg_constraint "
                    "WHERE conrelid = 'assignments'::regclass AND contype = 'f'"
                )
            )
        ).scalars()
        assert set(keys) == set()
        assert len(set(triggers)) == 6  # insert, update, and the delete of each of the four tables
    assert diff == []


async def test_sqlite_upgrades_to_head_too(tmp_path):
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    await upgrade(engine)
    assert await current_revision(engine) == revisions_in_order()[-1]
    await downgrade(engine, "base")
    assert await current_revision(engine) is None
    await engine.dispose()


@pytest.mark.pg_only
async def test_ownership_events_become_the_first_changes_of_each_tenants_log(fresh_pg):
    import uuid
    from datetime import UTC, datetime

    import sqlalchemy as sa

    await upgrade(fresh_pg, "0006")
    tenants = [uuid.uuid4(), uuid.uuid4()]
    account, rep = uuid.uuid4(), uuid.uuid4()
    now = datetime(2026, 11, 1, tzinfo=UTC)
    async with fresh_pg.begin() as conn:
        for i, t in enumerate(tenants):
            await conn.execute(
                sa.text(
                    "INSERT INTO tenants (id, name, settings, settings_version, ownership_version) "
                    "VALUES (:id, :name, '{}', 1, 40)"
                ),
                {"id": t, "name": f"t{i}"},
            )
        for k, t in enumerate([tenants[0], tenants[1], tenants[0]]):
            await conn.execute(
                sa.text(
                    "INSERT INTO ownership_events (tenant_id, account_id, role, plan_id, to_rep_id, reason, "
                    "note, changed_at) VALUES (:t, :a, 'AE', :p, :r, 'rule', :n, :at)"
                ),
                {"t": t, "a": account, "p": uuid.uuid4(), "r": rep, "n": f"note {k}", "at": now},
            )
    await upgrade(fresh_pg, "0007")
    async with fresh_pg.connect() as conn:
        rows = (
            await conn.execute(
                sa.text("SELECT tenant_id, seq, kind, cause, reason FROM change_log ORDER BY tenant_id, seq")
            )
        ).all()
        heads = dict((await conn.execute(sa.text("SELECT id, ownership_version FROM tenants"))).all())
    mine = [(r.seq, r.kind, r.cause, r.reason) for r in rows if r.tenant_id == tenants[0]]
    assert mine == [(1, "owner", "rule", "note 0"), (2, "owner", "rule", "note 2")]
    assert heads == {tenants[0]: 2, tenants[1]: 1}
    await downgrade(fresh_pg, "0006")
    async with fresh_pg.connect() as conn:
        notes = (await conn.execute(sa.text("SELECT note FROM ownership_events ORDER BY id"))).scalars().all()
    assert sorted(notes) == ["note 0", "note 1", "note 2"]


@pytest.mark.parametrize("database", ["postgres", "sqlite"])
async def test_retired_settings_sections_leave_stored_overrides(database, tmp_path):
    """0012: the disputes section nothing read is taken out of every tenant's stored overrides, the
    others kept, so a later read does not refuse them as unknown."""
    import json
    import uuid

    import sqlalchemy as sa

    if database == "postgres":
        url = await create_pg_database("territory_migrations")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"
    engine = make_engine(url)
    try:
        await upgrade(engine, "0011")
        kept = {"tiers": {"tier1_share": 0.1}}
        async with engine.begin() as conn:
            for name, settings in (("a", {**kept, "disputes": {"resolution_business_days": 3}}), ("b", {})):
                await conn.execute(
                    sa.text(
                        "INSERT INTO tenants (id, name, settings, settings_version, ownership_version) "
                        "VALUES (:id, :name, :settings, 1, 0)"
                    ),
                    {
                        "id": uuid.uuid4() if database == "postgres" else uuid.uuid4().hex,
                        "name": name,
                        "settings": json.dumps(settings),
                    },
                )
        await upgrade(engine)
        async with engine.connect() as conn:
            rows = dict((await conn.execute(sa.text("SELECT name, settings FROM tenants"))).all())
        stored = {k: json.loads(v) if isinstance(v, str) else v for k, v in rows.items()}
        assert stored == {"a": kept, "b": {}}
    finally:
        await engine.dispose()
        if database == "postgres":
            await drop_pg_database(url)


@pytest.mark.parametrize("database", ["postgres", "sqlite"])
async def test_path_facts_are_backfilled_from_the_activities(database, tmp_path):
    """0014: facts computed before the paths were facts get each path's latest activity (as of when they
    were computed), so the coverage map answers a path without a refresh."""
    import uuid
    from datetime import UTC, datetime, timedelta

    import sqlalchemy as sa

    from persistence.coverage import COVERAGE
    from persistence.imports import insert_many
    from tests.conftest import make_tenant

    if database == "postgres":
        url = await create_pg_database("territory_migrations")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"
    engine = make_engine(url)
    as_of = datetime(2026, 11, 20, tzinfo=UTC)
    try:
        await upgrade(engine, "0012")
        tenant = (await make_tenant(engine)).tenant_id
        account = uuid.uuid4()

        def act(ext: str, days: int, path: str | None) -> dict:
            return {
                "id": uuid.uuid4(),
                "tenant_id": tenant,
                "external_id": ext,
                "account_id": account,
                "occurred_at": as_of - timedelta(days=days),
                "kind": "call",
                "direction": "outbound",
                "path": path,
            }

        async with engine.begin() as conn:
            row = {"id": account, "tenant_id": tenant, "external_id": "A", "name": "a", "current_arr": 0.0}
            await insert_many(conn, "accounts", [row | {"stage": "cold", "tags": [], "strategic": False}])
            activities = [act("E1", 9, "event"), act("E2", 3, "event"), act("E3", -5, "event")]
            await insert_many(conn, "activities", [*activities, act("M1", 4, "marketing"), act("D", 1, None)])
            await conn.execute(
                sa.insert(COVERAGE).values(
                    account_id=account, tenant_id=tenant, open_pipeline=0.0, open_opportunities=0, as_of=as_of
                )
            )
        await upgrade(engine)
        async with engine.connect() as conn:
            cols = [
                COVERAGE.c[f"last_{p}_path_at"] for p in ("event", "marketing", "executive", "relationship")
            ]
            got = (await conn.execute(sa.select(*cols))).one()
        # the planned event (after as_of) is not a touch yet
        assert tuple(got) == (as_of - timedelta(days=3), as_of - timedelta(days=4), None, None)
    finally:
        await engine.dispose()
        if database == "postgres":
            await drop_pg_database(url)
