"""SQLModel tables. Every row belongs to a tenant; the schema changes only through Alembic migrations."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel

from domain.defaults import MAX_POLICY_CHARS

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(sa.TypeDecorator):
    """Timezone-aware UTC datetimes on both databases (SQLite stores them naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @staticmethod
    def sqlite_bind(value: datetime | None) -> str | None:
        """The text SQLite stores, as SQLAlchemy's binding makes it (naive UTC, microseconds), in one call
        (persistence/db.py, sqlite_binder): SQLAlchemy's formats each field on its own."""
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(" ", "microseconds")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _id() -> Any:
    return Field(default_factory=uuid.uuid4, primary_key=True, sa_type=sa.Uuid)


def _tenant() -> Any:
    return Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)
    )


# the info of a foreign key that PostgreSQL keeps by statement-level triggers instead (migration 0022)
BY_TRIGGERS_ON_POSTGRESQL = {"postgresql": "statement triggers"}


def _fk(target: str, ondelete: str | None = None, nullable: bool = True, info: dict | None = None) -> Any:
    key = sa.ForeignKey(target, ondelete=ondelete, info=info or {})
    return Field(default=None, sa_column=sa.Column(sa.Uuid, key, nullable=nullable))


def _ts(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=nullable))


def _str(length: int, nullable: bool = True, default: Any = None) -> Any:
    return Field(default=default, sa_column=sa.Column(sa.String(length), nullable=nullable))


def _version() -> Any:
    """A row's version (domain/preconditions.py): 1 when inserted, one more with every update. The ORM
    updates it as a compare-and-set (`WHERE version = <read>`, `Versioned`); set-based writes add one."""
    return Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False, server_default="1"))


class Versioned:
    """A table whose ORM updates check and bump `version`: an update of a row another transaction changed
    since it was read matches nothing and raises StaleDataError (a concurrent change), never overwrites."""

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


def next_version(table: sa.Table) -> dict[str, Any]:
    """The values a set-based UPDATE adds so that a versioned table's rows go up one version too."""
    return {"version": table.c.version + 1} if "version" in table.c else {}


def _json(default_factory: Any) -> Any:
    return Field(default_factory=default_factory, sa_column=sa.Column(JSONType, nullable=False))


class TenantRow(SQLModel, table=True):
    __tablename__ = "tenants"
    id: uuid.UUID = _id()
    name: str = Field(sa_column=sa.Column(sa.String(200), nullable=False, unique=True))
    settings: dict = _json(dict)
    settings_version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))
    ownership_version: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    created_at: datetime | None = _ts()


class ApiKeyRow(SQLModel, table=True):
    __tablename__ = "api_keys"
    __table_args__ = (sa.Index(None, "tenant_id"),)
    id: uuid.UUID = _id()
    tenant_id: uuid.UUID = _tenant()
    name: str = _str(200, nullable=False)
    prefix: str = _str(16, nullable=False)
    key_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    scopes: str = _str(64, nullable=False)
    created_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()
    expires_at: datetime | None = _ts()  # refused from then on (persistence/keyprobe.py)
    last_used_at: datetime | None = _ts()  # to the minute, written in batches (persistence/keyprobe.py)
    rotated_from: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, nullable=True))


class AccountRow(Versioned, SQLModel, table=True):
    __tablename__ = "accounts"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "external_id"),
        sa.Index(None, "tenant_id", "parent_id"),
        sa.Index(None, "tenant_id", "segment"),
        sa.Index(None, "tenant_id", "stage"),
    )
    id: uuid.UUID = _id()
    tenant_id: uuid.UUID = _tenant()
    external_id: str = _str(255, nullable=False)
    name: str = _str(255, nullable=False)
    parent_id: uuid.UUID | None = _fk("accounts.id", ondelete="SET NULL")
    industry: str | None = _str(255)
    country: str | None = _str(64)
    region: str | None = _str(64)
    postal_code: str | None = _str(32)
    latitude: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    longitude: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    employees: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    annual_revenue: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    current_arr: float = Field(default=0.0, sa_column=sa.Column(sa.Float, nullable=False))
    expansion_estimate: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    whitespace_units: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    growth_rate: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    strategic: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False))
    churn_risk: str | None = _str(16)
    stage: str = _str(16, nullable=False, default="cold")
    segment: str | None = _str(16)
    intent: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    engagement: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    relationship: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    competitive: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    tags: list = _json(list)
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()
    deleted_at: datetime | None = _ts()
    version: int = _version()


class RepRow(Versioned, SQLModel, table=True):
    __tablename__ = "reps"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "external_id"), sa.Index(None, "tenant_id", "email"))
    id: uuid.UUID = _id()
    tenant_id: uuid.UUID = _tenant()
    external_id: str = _str(255, nullable=False)
    name: str = _str(255, nullable=False)
    email: str = _str(320, nullable=False)
    role: str = _str(16, nullable=False, default="AE")
    ramp_status: str = _str(16, nullable=False, default="ramped")
    capacity: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    expertise: list = _json(list)
    home_region: str | None = _str(64)
    start_date: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    end_date: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    quota: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()
    version: int = _version()


class PlanRow(Versioned, SQLModel, table=True):
    __tablename__ = "plans"
    __table_args__ = (
        sa.Index(
            "uq_plans_one_active_per_tenant",
            "tenant_id",
            unique=True,
            postgresql_where=sa.text("state = 'active'"),
            sqlite_where=sa.text("state = 'active'"),
        ),
        sa.Index(None, "tenant_id", "state"),
    )
    id: uuid.UUID = _id()
    tenant_id: uuid.UUID = _tenant()
    name: str = _str(200, nullable=False)
    state: str = _str(16, nullable=False, default="draft")
    source_plan_id: uuid.UUID | None = _fk("plans.id", ondelete="SET NULL")
    activated_at: datetime | None = _ts()
    archived_at: datetime | None = _ts()
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()
    version: int = _version()


class TerritoryRow(Versioned, SQLModel, table=True):
    __tablename__ = "territories"
    __table_args__ = (sa.UniqueConstraint("plan_id", "name"), sa.Index(None, "tenant_id", "plan_id"))
    id: uuid.UUID = _id()
    tenant_id: uuid.UUID = _tenant()
    plan_id: uuid.UUID = _fk("plans.id", ondelete="CASCADE", nullable=False)
    name: str = _str(200, nullable=False)
    type: str = _str(16, nullable=False, default="geographic")
    parent_id: uuid.UUID | None = _fk("territories.id", ondelete="SET NULL")
    boundary: dict = _json(dict)
    priority: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    primary_rep_id: uuid.UUID | None = _fk("reps.id", ondelete="SET NULL")
    backup_rep_id: uuid.UUID | None = _fk("reps.id", ondelete="SET NULL")
    quota: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    weekly_pipeline_target: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    meeting_rate_target: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    quarterly_review_date: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    escalation_policy: str | None = _str(MAX_POLICY_CHARS)
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()
    version: int = _version()


class AssignmentRow(Versioned, SQLModel, table=True):
    __tablename__ = "assignments"
    __table_args__ = (
        sa.Index(
            "uq_assignments_one_current_owner",
            "plan_id",
            "account_id",
            "role",
            unique=True,
            postgresql_where=sa.text("valid_to IS NULL"),
            sqlite_where=sa.text("valid_to IS NULL"),
        ),
        sa.Index(None, "plan_id", "rep_id"),  # no tenant_id: a plan has one (migration 0024)
        sa.Index(None, "plan_id", "territory_id"),
        sa.Index(None, "account_id"),
    )
    id: uuid.UUID = _id()
    # no foreign key to tenants: the plan's holds (a tenant's plans and so their assignments go with it),
    # and the check cost 0.4-0.5 s of writing 100,000 assignments (docs/domain.md, "Boundaries and
    # assignment by rules")
    tenant_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    # on PostgreSQL these four are kept by statement-level triggers, not per-row keys: a key's check cost
    # about 1 s of writing 100,000 assignments (docs/domain.md, "Boundaries and assignment by rules")
    plan_id: uuid.UUID = _fk("plans.id", ondelete="CASCADE", nullable=False, info=BY_TRIGGERS_ON_POSTGRESQL)
    account_id: uuid.UUID = _fk(
        "accounts.id", ondelete="CASCADE", nullable=False, info=BY_TRIGGERS_ON_POSTGRESQL
    )
    territory_id: uuid.UUID | None = _fk(
        "territories.id", ondelete="SET NULL", info=BY_TRIGGERS_ON_POSTGRESQL
    )
    rep_id: uuid.UUID = _fk("reps.id", ondelete="RESTRICT", nullable=False, info=BY_TRIGGERS_ON_POSTGRESQL)
    role: str = _str(8, nullable=False, default="AE")
    locked: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False))
    reason: str = _str(16, nullable=False, default="manual")
    note: str | None = _str(1000)
    valid_from: datetime | None = _ts(nullable=False)
    valid_to: datetime | None = _ts()
    version: int = _version()


class ActivityRow(SQLModel, table=True):
    __tablename__ = "activities"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "external_id"),
        sa.Index(None, "tenant_id", "account_id", "occurred_at"),
        sa.Index(None, "tenant_id", "occurred_at"),
    )
    id: uuid.UUID = _id()
    tenant_id: uuid.UUID = _tenant()
    external_id: str = _str(255, nullable=False)
    account_id: uuid.UUID = _fk("accounts.id", ondelete="CASCADE", nullable=False)
    rep_id: uuid.UUID | None = _fk("reps.id", ondelete="SET NULL")
    occurred_at: datetime | None = _ts(nullable=False)
    kind: str = _str(16, nullable=False)
    next_step: str | None = _str(2000)
    contact: str | None = _str(255)
    direction: str = Field(
        default="outbound",
        sa_column=sa.Column(sa.String(8), nullable=False, server_default="outbound"),
    )
    path: str | None = _str(16)
    created_at: datetime | None = _ts()


class OpportunityRow(SQLModel, table=True):
    __tablename__ = "opportunities"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "external_id"),
        sa.Index(None, "tenant_id", "account_id"),
    )
    id: uuid.UUID = _id()
    tenant_id: uuid.UUID = _tenant()
    external_id: str = _str(255, nullable=False)
    account_id: uuid.UUID = _fk("accounts.id", ondelete="CASCADE", nullable=False)
    rep_id: uuid.UUID | None = _fk("reps.id", ondelete="SET NULL")
    amount: float = Field(default=0.0, sa_column=sa.Column(sa.Float, nullable=False))
    status: str = _str(8, nullable=False, default="open")
    stage: str | None = _str(64)
    created_on: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    closed_on: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    created_at: datetime | None = _ts()


class AccountScoreRow(SQLModel, table=True):
    """The last scoring run's result for an account, with the settings version that made it."""

    __tablename__ = "account_scores"
    # Derived rows, replaced by every scoring run: no foreign keys (a run writes a million rows, and the two
    # triggers per row measured 9 s of a 1M-account run) and no index beyond the key (reads join on the
    # account, or read a whole tenant). Reads always start from the live accounts.
    account_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    tenant_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    score: float = Field(sa_column=sa.Column(sa.Float, nullable=False))
    confidence: float = Field(sa_column=sa.Column(sa.Float, nullable=False))
    potential: float = Field(sa_column=sa.Column(sa.Float, nullable=False))
    win_probability: float = Field(sa_column=sa.Column(sa.Float, nullable=False))
    # the expansion estimate the potential used, and whether it was derived from the growth signals
    expansion_estimate: float = Field(
        default=0.0, sa_column=sa.Column(sa.Float, nullable=False, server_default="0")
    )
    expansion_derived: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    tier: int = Field(sa_column=sa.Column(sa.SmallInteger, nullable=False))
    icp_fit: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
    factors: list = _json(list)
    settings_version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    computed_at: datetime | None = _ts(nullable=False)
    # the account's version the row was computed from: a run rescores only the accounts whose version
    # differs (0: unknown, rescored by the next run)
    account_version: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )


class ScoringBasisRow(SQLModel, table=True):
    """What a tenant's stored scores were computed from (domain.scoring.ScoringBasis): a run rescores
    every account when it changed, else only the changed accounts."""

    __tablename__ = "scoring_basis"
    tenant_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    )
    settings_version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    win_rates: dict = _json(dict)
    revision: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    computed_at: datetime | None = _ts(nullable=False)


KINDS = ("email", "call", "meeting", "visit", "video", "social")  # domain.model.ActivityKind


class AccountCoverageRow(SQLModel, table=True):
    """An account's coverage facts (domain.coverage.FACT_FIELDS), kept current on ingest.

    `as_of` is when they were computed; activities planned after it are in `next_*_at`, and `due_at` (the
    earliest of those) says when the facts must be computed again because a planned activity happened.
    """

    __tablename__ = "account_coverage"
    __table_args__ = (
        # only accounts with a planned activity are ever due
        sa.Index(
            None,
            "tenant_id",
            "due_at",
            postgresql_where=sa.text("due_at IS NOT NULL"),
            sqlite_where=sa.text("due_at IS NOT NULL"),
        ),
    )
    # Derived rows, rebuilt from activities and opportunities at will: no foreign keys (a bulk recompute of
    # a million rows would pay a trigger per row, and measured 15 s more for it). Reports always start from
    # the live accounts, so a row of a removed account is never read; refresh_facts replaces them all.
    account_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    tenant_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    last_email_at: datetime | None = _ts()
    last_call_at: datetime | None = _ts()
    last_meeting_at: datetime | None = _ts()
    last_visit_at: datetime | None = _ts()
    last_video_at: datetime | None = _ts()
    last_social_at: datetime | None = _ts()
    next_email_at: datetime | None = _ts()
    next_call_at: datetime | None = _ts()
    next_meeting_at: datetime | None = _ts()
    next_visit_at: datetime | None = _ts()
    next_video_at: datetime | None = _ts()
    next_social_at: datetime | None = _ts()
    last_contact_at: datetime | None = _ts()
    last_inbound_at: datetime | None = _ts()
    last_partner_at: datetime | None = _ts()
    last_marketing_path_at: datetime | None = _ts()
    last_executive_path_at: datetime | None = _ts()
    last_event_path_at: datetime | None = _ts()
    last_relationship_path_at: datetime | None = _ts()
    last_activity_at: datetime | None = _ts()
    next_step: str | None = _str(2000)
    open_pipeline: float = Field(default=0.0, sa_column=sa.Column(sa.Float, nullable=False))
    open_opportunities: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    due_at: datetime | None = _ts()
    as_of: datetime | None = _ts(nullable=False)


class ChangeRow(SQLModel, table=True):
    """The change log: every change a lookup can see (owners, accounts, reps, territories, plan switches)
    and every event other services hear of, in one gap-free sequence per tenant. Never updated.

    `seq` comes from the tenant row (tenants.ownership_version is the head), taken as the last step of the
    writing transaction, so seq order is commit order per tenant. Keys lead with tenant_id
    (docs/change-stream.md, running at scale)."""

    __tablename__ = "change_log"
    __table_args__ = (
        sa.Index(None, "tenant_id", "subject_id", "role", "seq"),
        sa.Index(None, "tenant_id", "kind", "valid_from"),
        sa.Index(
            None,
            "tenant_id",
            "external_id",
            "seq",
            postgresql_where=sa.text("external_id IS NOT NULL"),
            sqlite_where=sa.text("external_id IS NOT NULL"),
        ),
    )
    tenant_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    seq: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=False))
    kind: str = _str(16, nullable=False)
    subject_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    external_id: str | None = _str(255)  # account changes: the external id after the change
    role: str | None = _str(8)
    plan_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid))
    from_rep_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid))
    to_rep_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid))
    from_territory_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid))
    to_territory_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid))
    cause: str = _str(16, nullable=False)
    reason: str | None = _str(1000)
    data: dict = _json(dict)
    valid_from: datetime | None = _ts(nullable=False)
    recorded_at: datetime | None = _ts(nullable=False)
    actor: str | None = _str(64)
    request_id: str | None = _str(64)


class OperationRow(SQLModel, table=True):
    """A long-running piece of work (an optimisation): its state, progress and result, readable from any
    worker. The worker running it writes a heartbeat; one that stops writing is reported as lost."""

    __tablename__ = "operations"
    __table_args__ = (
        sa.Index(None, "tenant_id", "created_at"),
        sa.Index(
            None,
            "state",
            "created_at",
            postgresql_where=sa.text("state = 'queued'"),
            sqlite_where=sa.text("state = 'queued'"),
        ),
    )
    id: uuid.UUID = _id()
    tenant_id: uuid.UUID = _tenant()
    kind: str = _str(40, nullable=False)
    state: str = _str(16, nullable=False)
    progress: float = Field(default=0.0, sa_column=sa.Column(sa.Float, nullable=False))
    message: str | None = _str(500)
    subject_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid))
    request: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(JSONType, nullable=False))
    result: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(JSONType))
    error: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(JSONType))
    cancel_requested: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False))
    actor: str | None = _str(64)  # the API key that started it (its changes are recorded as that key's)
    worker: str | None = _str(100)  # the worker process running it
    created_at: datetime | None = _ts(nullable=False)
    started_at: datetime | None = _ts()
    finished_at: datetime | None = _ts()
    heartbeat_at: datetime | None = _ts()


class WebhookEndpointRow(SQLModel, table=True):
    """A tenant's webhook receiver and its place in the change log: every event up to `delivered_seq` was
    delivered (or is not of a type it wants). One worker at a time holds a lease on it, taken with
    FOR UPDATE SKIP LOCKED, so its events go out in log order; a lease that is not renewed expires."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (sa.Index(None, "enabled", "next_attempt_at"),)
    tenant_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    url: str = _str(2000, nullable=False)
    description: str | None = _str(500)
    types: list = _json(list)  # empty: every type
    secret: str = _str(100, nullable=False)
    previous_secret: str | None = _str(100)
    previous_until: datetime | None = _ts()
    enabled: bool = Field(default=True, sa_column=sa.Column(sa.Boolean, nullable=False))
    disabled_reason: str | None = _str(500)
    delivered_seq: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    attempts: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    next_attempt_at: datetime | None = _ts()
    replay_from: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    replay_to: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))
    lease_owner: str | None = _str(100)  # the worker delivering to it now
    lease_until: datetime | None = _ts()  # after this, another worker may take it over
    created_at: datetime | None = _ts(nullable=False)
    updated_at: datetime | None = _ts(nullable=False)
    version: int = _version()  # of what a client can change: url, description, types, secret, enabled


class WebhookAttemptRow(SQLModel, table=True):
    """Every delivery attempt of every event to every endpoint: the delivery log."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (sa.Index(None, "tenant_id", "endpoint_id", "at"),)
    tenant_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    endpoint_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    seq: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=False))
    attempt: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))
    event_id: str = _str(80, nullable=False)
    event_type: str = _str(40, nullable=False)
    status_code: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    error: str | None = _str(500)
    duration_ms: float = Field(default=0.0, sa_column=sa.Column(sa.Float, nullable=False))
    at: datetime | None = _ts(nullable=False)
    worker: str | None = _str(100)


class IdempotencyRow(SQLModel, table=True):
    """A POST sent with an Idempotency-Key: its request's fingerprint and, once answered, the answer, which a
    retry with the same key gets again for 24 hours (docs/http.md). No status yet: the first is running."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.Index(None, "created_at"),)
    tenant_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    key: str = Field(sa_column=sa.Column(sa.String(255), primary_key=True))
    fingerprint: str = _str(64, nullable=False)  # sha256 of the path, the query and the body
    status_code: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    content_type: str | None = _str(200)
    location: str | None = _str(1000)
    body: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary))
    created_at: datetime | None = _ts(nullable=False)


class EngagementPolicyRow(SQLModel, table=True):
    """A saved version of a tenant's rules of engagement (docs/domain.md, "Rules of engagement"): never
    changed once written; the highest version is in force, and every ruling names the version it used."""

    __tablename__ = "engagement_policies"
    tenant_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    )
    version: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=False))
    body: dict = _json(dict)  # domain.engagement.policy_to_dict
    note: str | None = _str(1000)
    saved_at: datetime | None = _ts(nullable=False)


class DepartureRow(SQLModel, table=True):
    """A rep's recorded departure (docs/domain.md, "Departures and arrivals"): the last day it was recorded
    for, the interim owner of open pipeline, and when. The lookup answers the rep's accounts frozen while
    the rep's end date is that last day; clearing or moving the end date withdraws it."""

    __tablename__ = "departures"
    rep_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("reps.id", ondelete="CASCADE"), primary_key=True)
    )
    tenant_id: uuid.UUID = _tenant()
    last_day: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    interim_rep_id: uuid.UUID | None = _fk("reps.id", ondelete="SET NULL")
    recorded_at: datetime | None = _ts(nullable=False)


class DisputeRow(Versioned, SQLModel, table=True):
    """A rep's claim on an account another rep owns, with the evidence the engine gathered, the ruling the
    policy proposed and, once a decider confirmed or overrode it, the decision (domain/disputes.py)."""

    __tablename__ = "disputes"
    __table_args__ = (
        sa.Index(None, "tenant_id", "state", "due_on"),
        sa.Index(None, "tenant_id", "account_id"),
        sa.Index(
            "uq_disputes_one_live_claim",
            "tenant_id",
            "account_id",
            "role",
            "claimant_rep_id",
            unique=True,
            postgresql_where=sa.text("state IN ('open', 'decided')"),
            sqlite_where=sa.text("state IN ('open', 'decided')"),
        ),
    )
    id: uuid.UUID = _id()
    tenant_id: uuid.UUID = _tenant()
    account_id: uuid.UUID = _fk("accounts.id", ondelete="CASCADE", nullable=False)
    role: str = _str(8, nullable=False)
    claimant_rep_id: uuid.UUID = _fk("reps.id", ondelete="CASCADE", nullable=False)
    owner_rep_id: uuid.UUID | None = _fk("reps.id", ondelete="SET NULL")
    basis: str = _str(32, nullable=False)
    note: str | None = _str(2000)
    state: str = _str(16, nullable=False)
    opened_at: datetime | None = _ts(nullable=False)
    due_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    # how due_on was counted on the tenant's calendar when opened (docs/domain.md, "Business calendar")
    deadline: dict | None = Field(default=None, sa_column=sa.Column(JSONType, nullable=True))
    policy_version: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    proposal: dict = _json(dict)
    decision: dict | None = Field(default=None, sa_column=sa.Column(JSONType, nullable=True))
    decided_at: datetime | None = _ts()
    applied_at: datetime | None = _ts()
    withdrawn_at: datetime | None = _ts()
    version: int = _version()


class SegmentChangeRow(SQLModel, table=True):
    """An account's derived segment changed: the change waits for the next review, which applies it in a
    draft plan (domain/segment_changes.py). One pending change per account at a time."""

    __tablename__ = "segment_changes"
    __table_args__ = (
        sa.Index(None, "tenant_id", "state", "due_on"),
        sa.Index(None, "tenant_id", "account_id"),
        sa.Index(
            "uq_segment_changes_one_pending",
            "tenant_id",
            "account_id",
            unique=True,
            postgresql_where=sa.text("state = 'pending'"),
            sqlite_where=sa.text("state = 'pending'"),
        ),
    )
    id: uuid.UUID = _id()
    tenant_id: uuid.UUID = _tenant()
    account_id: uuid.UUID = _fk("accounts.id", ondelete="CASCADE", nullable=False)
    from_segment: str = _str(16, nullable=False)
    to_segment: str = _str(16, nullable=False)
    changed_at: datetime | None = _ts(nullable=False)
    due_on: date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    state: str = _str(16, nullable=False)
    applied_at: datetime | None = _ts()
    plan_id: uuid.UUID | None = _fk("plans.id", ondelete="SET NULL")
    territory_id: uuid.UUID | None = _fk("territories.id", ondelete="SET NULL")
    rep_id: uuid.UUID | None = _fk("reps.id", ondelete="SET NULL")
    outcome: str | None = _str(16)
    reason: str | None = _str(1000)


metadata = SQLModel.metadata
