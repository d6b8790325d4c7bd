"""departures: a rep's recorded departure, its last day and interim owner, for the lookup's freeze

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "departures",
        sa.Column("rep_id", sa.Uuid(), sa.ForeignKey("reps.id", ondelete="CASCADE"), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("interim_rep_id", sa.Uuid(), sa.ForeignKey("reps.id", ondelete="SET NULL"), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("rep_id"),
    )


def downgrade() -> None:
    op.drop_table("departures")
