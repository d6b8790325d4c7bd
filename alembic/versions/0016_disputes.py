"""disputes: claims on accounts, the evidence, the proposed ruling and the decision

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 12:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
LIVE = "state IN ('open', 'decided')"


def upgrade() -> None:
    op.create_table(
        "disputes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("account_id", sa.Uuid(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("claimant_rep_id", sa.Uuid(), sa.ForeignKey("reps.id", ondelete="CASCADE"), nullable=False),
        sa.Column("owner_rep_id", sa.Uuid(), sa.ForeignKey("reps.id", ondelete="SET NULL"), nullable=True),
        sa.Column("basis", sa.String(32), nullable=False),
        sa.Column("note", sa.String(2000), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("proposal", JSON, nullable=False),
        sa.Column("decision", JSON, nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_disputes_tenant_id_state_due_on", "disputes", ["tenant_id", "state", "due_on"])
    op.create_index("ix_disputes_tenant_id_account_id", "disputes", ["tenant_id", "account_id"])
    op.create_index(
        "uq_disputes_one_live_claim",
        "disputes",
        ["tenant_id", "account_id", "role", "claimant_rep_id"],
        unique=True,
        postgresql_where=sa.text(LIVE),
        sqlite_where=sa.text(LIVE),
    )


def downgrade() -> None:
    op.drop_table("disputes")
