"""coverage paths: the latest activity through each path into an account (marketing, executive, event,
existing relationship) as coverage facts, backfilled from the activities, for seed 000's coverage map

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

PATHS = ("marketing", "executive", "event", "relationship")


def upgrade() -> None:
    for path in PATHS:
        op.add_column("account_coverage", sa.Column(f"last_{path}_path_at", sa.DateTime(timezone=True)))
    # backfill: the latest past activity (as of when the facts were computed) through each path
    for path in PATHS:
        op.execute(
            sa.text(
                f"UPDATE account_coverage SET last_{path}_path_at = ("
                "SELECT max(a.occurred_at) FROM activities a WHERE a.tenant_id = account_coverage.tenant_id "
                "AND a.account_id = account_coverage.account_id AND a.path = :path "
                "AND a.occurred_at <= account_coverage.as_of)"
            ).bindparams(path=path)
        )


def downgrade() -> None:
    with op.batch_alter_table("account_coverage") as batch:
        for path in reversed(PATHS):
            batch.drop_column(f"last_{path}_path_at")
