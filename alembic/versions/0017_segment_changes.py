"""segment changes: an account's new segment waits for the next review, which applies it in a draft

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

PENDING = "state = 'pending'"


def upgrade() -> None:
    op.create_table(
        "segment_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("account_id", sa.Uuid(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("from_segment", sa.String(16), nullable=False),
        sa.Column("to_segment", sa.String(16), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("plan_id", sa.Uuid(), sa.ForeignKey("plans.id", ondelete="SET NULL"), nullable=True),
        sa.Column(
            "territory_id", sa.Uuid(), sa.ForeignKey("territories.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("rep_id", sa.Uuid(), sa.ForeignKey("reps.id", ondelete="SET NULL"), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("reason", sa.String(1000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_segment_changes_tenant_id_state_due_on", "segment_changes", ["tenant_id", "state", "due_on"]
    )
    op.create_index("ix_segment_changes_tenant_id_account_id", "segment_changes", ["tenant_id", "account_id"])
    op.create_index(
        "uq_segment_changes_one_pending",
        "segment_changes",
        ["tenant_id", "account_id"],
        unique=True,
        postgresql_where=sa.text(PENDING),
        sqlite_where=sa.text(PENDING),
    )


def downgrade() -> None:
    op.drop_table("segment_changes")
