"""territory plan fields (seed 004's template): a territory's weekly pipeline target, meeting-rate target,
quarterly review date and escalation policy, so the territory plan report holds its whole entry

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 12:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("territories", sa.Column("weekly_pipeline_target", sa.Float(), nullable=True))
    op.add_column("territories", sa.Column("meeting_rate_target", sa.Float(), nullable=True))
    op.add_column("territories", sa.Column("quarterly_review_date", sa.Date(), nullable=True))
    op.add_column("territories", sa.Column("escalation_policy", sa.String(2000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("territories") as batch:
        batch.drop_column("escalation_policy")
        batch.drop_column("quarterly_review_date")
        batch.drop_column("meeting_rate_target")
        batch.drop_column("weekly_pipeline_target")
