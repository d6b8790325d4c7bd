"""versions: every resource a client can change carries a version, for ETag and If-Match

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 07:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# a constant default: PostgreSQL adds the column without rewriting the table, SQLite in place
TABLES = ("accounts", "reps", "plans", "territories", "assignments", "webhook_endpoints")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("version")
