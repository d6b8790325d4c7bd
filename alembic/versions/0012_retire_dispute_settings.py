"""retire the disputes settings section: nothing read it (the engagement work brings disputes with their
own settings); stored overrides lose it so that no later read refuses them as unknown

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 08:10:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

RETIRED = "disputes"


def upgrade() -> None:
    conn = op.get_bind()
    tenants = sa.table("tenants", sa.column("id", sa.Uuid()), sa.column("settings", sa.JSON()))
    for tenant_id, settings in conn.execute(sa.select(tenants.c.id, tenants.c.settings)).all():
        values = json.loads(settings) if isinstance(settings, str) else settings
        if isinstance(values, dict) and RETIRED in values:
            values.pop(RETIRED)
            conn.execute(tenants.update().where(tenants.c.id == tenant_id).values(settings=values))


def downgrade() -> None:
    pass  # the section held no value anything used
