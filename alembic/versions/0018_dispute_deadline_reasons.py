"""disputes keep how their deadline was counted: the business days, the holidays it skipped and the reason
in words, on the tenant's calendar when the dispute was opened (null for disputes opened before)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.add_column("disputes", sa.Column("deadline", JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("disputes", "deadline")  # SQLite 3.35 and later drop a column in place
