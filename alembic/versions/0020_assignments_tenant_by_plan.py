"""assignments: no foreign key to tenants (the plan's holds)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 16:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_assignments_tenant_id_tenants"), type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_assignments_tenant_id_tenants"),
            "tenants",
            ["tenant_id"],
            ["id"],
            ondelete="CASCADE",
        )
