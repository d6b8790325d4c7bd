"""change log: ownership events become the first entries of a per-tenant, gap-free change log

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:40:00

Each tenant's ownership events, in the order they were written, become its changes 1..n (kind `owner`,
the reason as the cause, the note as the reason text), and the tenant's ownership version, which is now
the log's head, is set to n. The downgrade writes the owner changes back as ownership events.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "change_log",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("role", sa.String(length=8), nullable=True),
        sa.Column("plan_id", sa.Uuid(), nullable=True),
        sa.Column("from_rep_id", sa.Uuid(), nullable=True),
        sa.Column("to_rep_id", sa.Uuid(), nullable=True),
        sa.Column("from_territory_id", sa.Uuid(), nullable=True),
        sa.Column("to_territory_id", sa.Uuid(), nullable=True),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("data", JSON, nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_change_log_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "seq", name=op.f("pk_change_log")),
    )
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_change_log_tenant_id_subject_id_role_seq"),
            ["tenant_id", "subject_id", "role", "seq"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_change_log_tenant_id_kind_valid_from"), ["tenant_id", "kind", "valid_from"]
        )
        batch_op.create_index(
            batch_op.f("ix_change_log_tenant_id_external_id_seq"),
            ["tenant_id", "external_id", "seq"],
            unique=False,
            postgresql_where=sa.text("external_id IS NOT NULL"),
            sqlite_where=sa.text("external_id IS NOT NULL"),
        )
    op.execute(
        "INSERT INTO change_log (tenant_id, seq, kind, subject_id, role, plan_id, from_rep_id, to_rep_id, "
        "from_territory_id, to_territory_id, cause, reason, data, valid_from, recorded_at) "
        "SELECT tenant_id, ROW_NUMBER() OVER (PARTITION BY tenant_id ORDER BY id), 'owner', account_id, "
        "role, plan_id, from_rep_id, to_rep_id, from_territory_id, to_territory_id, reason, note, '{}', "
        "changed_at, changed_at FROM ownership_events"
    )
    op.execute(
        "UPDATE tenants SET ownership_version = "
        "(SELECT COALESCE(MAX(seq), 0) FROM change_log WHERE change_log.tenant_id = tenants.id)"
    )
    with op.batch_alter_table("ownership_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ownership_events_tenant_id_changed_at"))
        batch_op.drop_index(batch_op.f("ix_ownership_events_tenant_id_account_id_changed_at"))
    op.drop_table("ownership_events")


def downgrade() -> None:
    op.create_table(
        "ownership_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("from_rep_id", sa.Uuid(), nullable=True),
        sa.Column("to_rep_id", sa.Uuid(), nullable=True),
        sa.Column("from_territory_id", sa.Uuid(), nullable=True),
        sa.Column("to_territory_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_ownership_events_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ownership_events")),
    )
    with op.batch_alter_table("ownership_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ownership_events_tenant_id_account_id_changed_at"),
            ["tenant_id", "account_id", "changed_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ownership_events_tenant_id_changed_at"), ["tenant_id", "changed_at"], unique=False
        )
    op.execute(
        "INSERT INTO ownership_events (tenant_id, account_id, role, plan_id, from_rep_id, to_rep_id, "
        "from_territory_id, to_territory_id, reason, note, changed_at) "
        "SELECT tenant_id, subject_id, role, plan_id, from_rep_id, to_rep_id, from_territory_id, "
        "to_territory_id, cause, reason, valid_from FROM change_log "
        "WHERE kind = 'owner' AND role IS NOT NULL AND plan_id IS NOT NULL ORDER BY tenant_id, seq"
    )
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_log_tenant_id_external_id_seq"))
        batch_op.drop_index(batch_op.f("ix_change_log_tenant_id_kind_valid_from"))
        batch_op.drop_index(batch_op.f("ix_change_log_tenant_id_subject_id_role_seq"))
    op.drop_table("change_log")
