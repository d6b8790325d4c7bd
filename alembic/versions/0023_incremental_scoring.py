"""account_scores: the account version each row was computed from; scoring_basis: what a tenant's scores
were computed from (settings version, win rates, rules revision)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 14:30:00

A scoring run then rescores only the accounts changed since the last one, unless the basis moved
(docs/domain.md, "Scoring after an import"). Existing rows get version 0 and no tenant has a basis yet, so
the first run after this migration rescores every account, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "account_scores", sa.Column("account_version", sa.Integer(), server_default="0", nullable=False)
    )
    op.create_table(
        "scoring_basis",
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("settings_version", sa.Integer(), nullable=False),
        sa.Column("win_rates", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_scoring_basis")),
    )


def downgrade() -> None:
    op.drop_table("scoring_basis")
    with op.batch_alter_table("account_scores") as batch:
        batch.drop_column("account_version")
