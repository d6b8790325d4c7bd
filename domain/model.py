"""Entities and value objects of the territory domain."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID


class Role(enum.StrEnum):
    """Ownership roles: an account has at most one owner of record per role and plan."""

    AE = "AE"
    SDR = "SDR"
    CSM = "CSM"


class RepRole(enum.StrEnum):
    AE = "AE"
    SDR = "SDR"
    CSM = "CSM"
    INSIDE_SALES = "inside_sales"
    MANAGER = "manager"


class RampStatus(enum.StrEnum):
    NEW_HIRE = "new_hire"
    RAMPING = "ramping"
    RAMPED = "ramped"
    SENIOR = "senior"


class Stage(enum.StrEnum):
    COLD = "cold"
    PROSPECTED = "prospected"
    PIPELINE = "pipeline"
    ACTIVE_DEAL = "active_deal"
    CUSTOMER = "customer"
    LAPSED = "lapsed"


class ChurnRisk(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Segment(enum.StrEnum):
    ENTERPRISE = "enterprise"
    MID_MARKET = "mid_market"
    SMB = "smb"


class PlanState(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    ARCHIVED = "archived"


class TerritoryType(enum.StrEnum):
    GEOGRAPHIC = "geographic"
    VERTICAL = "vertical"
    SEGMENT = "segment"
    NAMED_ACCOUNT = "named_account"
    HYBRID = "hybrid"


class AssignmentReason(enum.StrEnum):
    RULE = "rule"
    MANUAL = "manual"
    REBALANCE = "rebalance"
    DISPUTE = "dispute"
    DEPARTURE = "departure"
    ARRIVAL = "arrival"
    IMPORT = "import"


class ActivityKind(enum.StrEnum):
    EMAIL = "email"
    CALL = "call"
    MEETING = "meeting"
    VISIT = "visit"
    VIDEO = "video"
    SOCIAL = "social"


class ActivityDirection(enum.StrEnum):
    """Outbound: the rep reached out. Inbound: the account answered or came to us (a reply)."""

    OUTBOUND = "outbound"
    INBOUND = "inbound"


class ActivityPath(enum.StrEnum):
    """The path into the account an activity used (docs/domain.md, "Coverage map")."""

    DIRECT = "direct"
    PARTNER = "partner"
    REFERRAL = "referral"
    MARKETING = "marketing"
    EXECUTIVE = "executive"
    EVENT = "event"
    RELATIONSHIP = "relationship"


class OpportunityStatus(enum.StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class Scope(enum.StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


@dataclass
class Tenant:
    id: UUID
    name: str
    settings: dict = field(default_factory=dict)
    ownership_version: int = 0
    created_at: datetime | None = None


@dataclass
class Account:
    id: UUID
    tenant_id: UUID
    external_id: str
    name: str
    parent_id: UUID | None = None
    industry: str | None = None
    country: str | None = None
    region: str | None = None
    postal_code: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    employees: int | None = None
    annual_revenue: float | None = None
    current_arr: float = 0.0
    expansion_estimate: float | None = None
    whitespace_units: int | None = None  # business units or departments not yet using the product
    growth_rate: float | None = None
    strategic: bool = False
    churn_risk: ChurnRisk | None = None
    stage: Stage = Stage.COLD
    segment: Segment | None = None
    intent: float | None = None
    engagement: float | None = None
    relationship: float | None = None
    competitive: float | None = None
    tags: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None
    version: int = 1  # one more with every change (domain/preconditions.py)


@dataclass
class Rep:
    id: UUID
    tenant_id: UUID
    external_id: str
    name: str
    email: str
    role: RepRole = RepRole.AE
    ramp_status: RampStatus = RampStatus.RAMPED
    capacity: float | None = None
    expertise: list[str] = field(default_factory=list)
    home_region: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    quota: float | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1


def departed(end_date: date | None, today: date) -> bool:
    """A rep has left once the day after their end date (their last day) has come."""
    return end_date is not None and end_date < today


@dataclass
class Plan:
    id: UUID
    tenant_id: UUID
    name: str
    state: PlanState = PlanState.DRAFT
    source_plan_id: UUID | None = None
    activated_at: datetime | None = None
    archived_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1


@dataclass
class Territory:
    id: UUID
    tenant_id: UUID
    plan_id: UUID
    name: str
    type: TerritoryType = TerritoryType.GEOGRAPHIC
    parent_id: UUID | None = None
    boundary: dict = field(default_factory=dict)
    priority: int = 0
    primary_rep_id: UUID | None = None
    backup_rep_id: UUID | None = None
    quota: float | None = None
    # the territory plan template (docs/domain.md, "Territory plan")
    weekly_pipeline_target: float | None = None
    meeting_rate_target: float | None = None
    quarterly_review_date: date | None = None
    escalation_policy: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1


@dataclass
class Assignment:
    id: UUID
    tenant_id: UUID
    plan_id: UUID
    account_id: UUID
    rep_id: UUID
    role: Role = Role.AE
    territory_id: UUID | None = None
    locked: bool = False
    reason: AssignmentReason = AssignmentReason.MANUAL
    note: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    version: int = 1


@dataclass
class Activity:
    id: UUID
    tenant_id: UUID
    external_id: str
    account_id: UUID
    occurred_at: datetime
    kind: ActivityKind
    rep_id: UUID | None = None
    next_step: str | None = None
    contact: str | None = None
    direction: ActivityDirection = ActivityDirection.OUTBOUND
    path: ActivityPath | None = None
    created_at: datetime | None = None


@dataclass
class Opportunity:
    id: UUID
    tenant_id: UUID
    external_id: str
    account_id: UUID
    amount: float
    status: OpportunityStatus = OpportunityStatus.OPEN
    stage: str | None = None
    rep_id: UUID | None = None
    created_on: date | None = None
    closed_on: date | None = None
    created_at: datetime | None = None
