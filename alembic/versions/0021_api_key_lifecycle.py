"""api_keys: an expiry, the last time a key was used (to the minute) and the key a rotation replaced

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("rotated_from", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_api_keys_tenant_id"), ["tenant_id"])


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_tenant_id"))
        batch_op.drop_column("rotated_from")
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("expires_at")
