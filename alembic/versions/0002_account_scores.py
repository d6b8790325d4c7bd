"""account scores

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 17:45:52.005249
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_scores",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("potential", sa.Float(), nullable=False),
        sa.Column("win_probability", sa.Float(), nullable=False),
        sa.Column("tier", sa.SmallInteger(), nullable=False),
        sa.Column("icp_fit", sa.Boolean(), nullable=False),
        sa.Column("factors", JSONType, nullable=False),
        sa.Column("settings_version", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_account_scores_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_account_scores_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_scores")),
    )
    with op.batch_alter_table("account_scores", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_account_scores_tenant_id_tier"), ["tenant_id", "tier"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("account_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_scores_tenant_id_tier"))

    op.drop_table("account_scores")
