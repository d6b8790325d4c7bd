"""whitespace units: an account's business units not yet using the product, and the expansion estimate a
score used (given, or derived from the growth signals)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("whitespace_units", sa.Integer(), nullable=True))
    op.add_column(
        "account_scores", sa.Column("expansion_estimate", sa.Float(), server_default="0", nullable=False)
    )
    op.add_column(
        "account_scores",
        sa.Column("expansion_derived", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("account_scores") as batch:
        batch.drop_column("expansion_derived")
        batch.drop_column("expansion_estimate")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("whitespace_units")
