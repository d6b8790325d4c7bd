"""Migrations: a stairway (upgrade, downgrade, upgrade per revision) and models-vs-migrations drift."""

import pytest
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


@pytest.mark.pg_only
async def test_models_match_the_migrations(fresh_pg):
    await upgrade(fresh_pg)
    async with fresh_pg.connect() as conn:
        diff = await conn.run_sync(
            lambda c: compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), metadata)
        )
    assert diff == []


async def test_sqlite_upgrades_to_head_too(tmp_path):
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    await upgrade(engine)
    assert await current_revision(engine) == revisions_in_order()[-1]
    await downgrade(engine, "base")
    assert await current_revision(engine) is None
    await engine.dispose()
