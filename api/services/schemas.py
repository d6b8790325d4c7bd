"""Request and response models of the use cases, shared by REST (bodies) and GraphQL (validation)."""

from __future__ import annotations

from collections.abc import Collection
from copy import copy
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field, create_model

from domain.defaults import MAX_LOOKUP_BATCH, TenantSettings
from domain.model import (
    AssignmentReason,
    ChurnRisk,
    PlanState,
    RampStatus,
    RepRole,
    Role,
    Segment,
    Stage,
    TerritoryType,
)

ExternalId = Annotated[str, Field(min_length=1, max_length=255)]
Name = Annotated[str, Field(min_length=1, max_length=255)]
Money = Annotated[float, Field(ge=0)]
Signal = Annotated[float, Field(ge=0, le=100, description="0-100")]


class Input(BaseModel):
    """Bodies reject unknown and read-only fields instead of ignoring them."""

    model_config = ConfigDict(extra="forbid")


def optional_model(name: str, create: type[BaseModel], exclude: Collection[str] = ()) -> type[BaseModel]:
    """The PATCH body of a resource: every field of its create body, optional, same constraints.

    Only the fields sent are changed; null is refused where the create body does not allow it.
    """
    fields: dict[str, Any] = {}
    for field_name, info in create.model_fields.items():
        if field_name in exclude:
            continue
        optional = copy(info)
        optional.default, optional.default_factory = None, None
        fields[field_name] = (info.annotation | None, optional)
    model = create_model(name, __base__=Input, **fields)
    model.__doc__ = "Only the fields sent are changed."
    return model


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AccountFields(Input):
    name: Name
    parent_id: UUID | None = None
    industry: str | None = Field(None, max_length=255)
    country: str | None = Field(None, max_length=64)
    region: str | None = Field(None, max_length=64)
    postal_code: str | None = Field(None, max_length=32)
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    employees: int | None = Field(None, ge=0)
    annual_revenue: Money | None = Field(None, description="company annual revenue, dollars")
    current_arr: Money = 0.0
    expansion_estimate: Money | None = Field(None, description="whitespace dollars")
    growth_rate: float | None = Field(None, ge=-1, le=100, description="0.4 = 40% a year")
    strategic: bool = False
    churn_risk: ChurnRisk | None = None
    stage: Stage = Stage.COLD
    intent: Signal | None = None
    engagement: Signal | None = None
    relationship: Signal | None = None
    competitive: Signal | None = None
    tags: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=100)


class AccountCreate(AccountFields):
    external_id: ExternalId


AccountUpdate = optional_model("AccountUpdate", AccountCreate)


class AccountRead(AccountFields, Output):
    model_config = ConfigDict(from_attributes=True, extra="ignore")
    id: UUID
    external_id: str
    segment: Segment | None = Field(None, description="derived from revenue or employees")
    created_at: datetime
    updated_at: datetime


class RepFields(Input):
    name: Name
    email: EmailStr
    role: RepRole = RepRole.AE
    ramp_status: RampStatus = RampStatus.RAMPED
    capacity: float | None = Field(None, ge=0, description="accounts the rep can carry")
    expertise: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=100)
    home_region: str | None = Field(None, max_length=64)
    start_date: date | None = None
    end_date: date | None = None
    quota: Money | None = None


class RepCreate(RepFields):
    external_id: ExternalId


RepUpdate = optional_model("RepUpdate", RepCreate)


class RepRead(RepFields, Output):
    model_config = ConfigDict(from_attributes=True, extra="ignore")
    id: UUID
    external_id: str
    email: str
    created_at: datetime
    updated_at: datetime


class PlanCreate(Input):
    name: Name
    state: PlanState = Field(PlanState.DRAFT, description="draft or active; a second active plan is refused")
    source_plan_id: UUID | None = None


class PlanUpdate(Input):
    name: Name | None = None


class PlanRead(Output):
    id: UUID
    name: str
    state: PlanState
    source_plan_id: UUID | None
    activated_at: datetime | None
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime


class TerritoryFields(Input):
    name: Name
    type: TerritoryType = TerritoryType.GEOGRAPHIC
    parent_id: UUID | None = None
    boundary: dict[str, Any] = Field(
        default_factory=dict, description="boundary rules (see the assignment engine)"
    )
    priority: int = 0
    primary_rep_id: UUID | None = None
    backup_rep_id: UUID | None = None
    quota: Money | None = None


class TerritoryCreate(TerritoryFields):
    plan_id: UUID


TerritoryUpdate = optional_model("TerritoryUpdate", TerritoryCreate, exclude={"plan_id"})


class TerritoryRead(TerritoryFields, Output):
    model_config = ConfigDict(from_attributes=True, extra="ignore")
    id: UUID
    plan_id: UUID
    created_at: datetime
    updated_at: datetime


class AssignmentCreate(Input):
    plan_id: UUID
    account_id: UUID
    rep_id: UUID
    role: Role = Role.AE
    territory_id: UUID | None = None
    locked: bool = False
    reason: AssignmentReason = AssignmentReason.MANUAL
    note: str | None = Field(None, max_length=1000)


class AssignmentUpdate(Input):
    """An update ends the current assignment and starts a new one: history is never overwritten."""

    rep_id: UUID | None = None
    territory_id: UUID | None = None
    locked: bool | None = None
    reason: AssignmentReason | None = None
    note: str | None = Field(None, max_length=1000)


class AssignmentRead(Output):
    id: UUID
    plan_id: UUID
    account_id: UUID
    rep_id: UUID
    role: Role
    territory_id: UUID | None
    locked: bool
    reason: AssignmentReason
    note: str | None
    valid_from: datetime
    valid_to: datetime | None


class ActivityRead(Output):
    id: UUID
    external_id: str
    account_id: UUID
    rep_id: UUID | None
    occurred_at: datetime
    kind: str
    next_step: str | None
    contact: str | None
    direction: str
    path: str | None


class OpportunityRead(Output):
    id: UUID
    external_id: str
    account_id: UUID
    rep_id: UUID | None
    amount: float
    status: str
    stage: str | None
    created_on: date | None
    closed_on: date | None


class AccountPage(BaseModel):
    items: list[AccountRead]
    next_page_token: str | None = Field(
        None, description="pass as page_token for the next page; null at the end"
    )


class RepPage(BaseModel):
    items: list[RepRead]
    next_page_token: str | None = None


class PlanPage(BaseModel):
    items: list[PlanRead]
    next_page_token: str | None = None


class TerritoryPage(BaseModel):
    items: list[TerritoryRead]
    next_page_token: str | None = None


class AssignmentPage(BaseModel):
    items: list[AssignmentRead]
    next_page_token: str | None = None


class AccountRef(BaseModel):
    id: UUID
    external_id: str
    name: str


class RepRef(BaseModel):
    id: UUID
    name: str
    email: str
    end_date: date | None = Field(None, description="set when the rep leaves")


class TerritoryRef(BaseModel):
    id: UUID
    name: str


class OwnershipWhy(BaseModel):
    cause: str = Field(description="rule, manual, rebalance, departure, arrival, import or dispute")
    reason: str | None = Field(description="the rule, the move's reason or the note")


class OwnershipRead(BaseModel):
    external_id: str
    status: str = Field(description="owned, unassigned (no owner for the role) or not_found")
    account: AccountRef | None = None
    territory: TerritoryRef | None = None
    rep: RepRef | None = None
    role: Role
    plan_id: UUID | None = None
    since: datetime | None = Field(None, description="when this rep became the owner of record")
    why: OwnershipWhy | None = Field(None, description="why this rep owns the account")
    seq: int = Field(description="the change-log position the answer reflects")


class OwnershipLookup(Input):
    external_ids: list[ExternalId] = Field(min_length=1, max_length=MAX_LOOKUP_BATCH)
    role: Role = Role.AE
    as_of: AwareDatetime | None = Field(None, description="answer as of this time, from the change log")


class OwnershipLookupResult(BaseModel):
    results: list[OwnershipRead] = Field(description="in the order of the request")


class ImportRowError(BaseModel):
    row: int = Field(description="1 = the first data row; 0 = the file itself (a CSV header)")
    field: str
    code: str
    message: str


class ImportReport(BaseModel):
    created: int
    updated: int
    unchanged: int
    errors: list[ImportRowError]
    scoring: str | None = Field(
        None,
        description="'scheduled': the import changed what scores depend on; scores, potentials and tiers "
        "are recomputed right after this answer",
    )


class FieldProblem(BaseModel):
    field: str
    code: str
    message: str
    row: int | None = None


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable code and per-field errors."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldProblem] = Field(default_factory=list)


class SettingsRead(BaseModel):
    version: int = Field(description="goes up by one with every change; results say which version made them")
    overrides: dict[str, dict[str, Any]] = Field(description="what the tenant changed from the defaults")
    effective: TenantSettings = Field(description="the defaults with the overrides applied")


class SettingsUpdate(Input):
    overrides: dict[str, dict[str, Any]] = Field(
        description="the tenant's overrides, replacing the previous ones, "
        'e.g. {"tiers": {"tier1_share": 0.15}}; {} returns to the defaults'
    )


class FactorRead(BaseModel):
    factor: str
    value: float | None = Field(description="1-5; null when its source fields are missing")
    weight: float
    contribution: float = Field(description="this factor's part of the score; the parts add up to the score")
    source_fields: list[str]
    description: str


class MatrixCellRead(BaseModel):
    """Seed 003's tiering matrix: revenue band (current ARR) x growth potential (the whitespace factor)."""

    revenue_band: str = Field(description="enterprise > $500K ARR, mid_market $100K-500K, smb below")
    growth: str = Field(description="high, medium or low")
    rep_type: str
    strategy: str


class AccountScoreRead(BaseModel):
    account_id: UUID
    score: float = Field(description="composite score, 1-5")
    confidence: float = Field(description="share of the scoring model's weight that had data, 0-1")
    potential: float = Field(description="current ARR + expansion estimate x win probability, dollars")
    win_probability: float
    tier: int = Field(description="1 = top 20% by potential, 2 = next 30%, 3 = the rest (tenant settings)")
    icp_fit: bool
    settings_version: int = Field(description="the settings version that made this result")
    computed_at: datetime
    factors: list[FactorRead]
    missing_fields: list[str]
    matrix: MatrixCellRead


class WinRateRead(BaseModel):
    rate: float
    won: int
    lost: int
    source: str = Field(description="history (the tenant's closed opportunities) or default (too few)")


class ScoringRunRead(BaseModel):
    scored: int
    settings_version: int
    tiers: dict[str, int]
    icp_fit: int
    win_rates: dict[str, WinRateRead]
    seconds: float


class CoverageNeedRead(BaseModel):
    segment: str | None
    tier: int
    accounts: int
    touches_per_quarter: float
    hours: float = Field(description="hours a quarter; 0 for tiers covered reactively")
    proactive: bool


class ChoiceRead(BaseModel):
    kind: str = Field(description="hire | raise_threshold | accept_gap (seed 001, step 3)")
    summary: str
    figures: dict[str, float | int | None]


class HeadcountRead(BaseModel):
    reps_at_full_productivity: float
    existing_capacity: float = Field(description="ramped-rep equivalents after expected attrition")
    new_hire_productivity: float = Field(description="a new hire's first-year share of a ramped rep")
    hires: int
    explanation: str


class CapacityRead(BaseModel):
    scored_accounts: int
    active_reps: int
    needs: list[CoverageNeedRead]
    hours_needed: float
    hours_available: float
    shortfall: float
    choices: list[ChoiceRead] = Field(description="empty when the team has the hours")
    headcount: HeadcountRead | None = None


class ReasonRead(BaseModel):
    code: str = Field(description="stable code: no_meaningful_touch, no_next_step, no_active_contact")
    message: str


class CoverageBucketRead(BaseModel):
    accounts: int
    covered: int
    rate: float | None = Field(description="covered / accounts; null when there is no account")
    target: float | None = Field(description="the tier's target (tier 1 >= 90%, tier 2 >= 60%), else null")
    meets_target: bool | None
    failing: dict[str, int] = Field(description="accounts failing each rule, by reason code")


class TierCoverageRead(CoverageBucketRead):
    tier: int | None = Field(description="null: accounts not scored yet")


class RepCoverageRead(CoverageBucketRead):
    rep_id: UUID | None = Field(description="null: accounts with no owner for the role")
    rep_name: str | None


class TerritoryCoverageRead(CoverageBucketRead):
    territory_id: UUID | None
    territory_name: str | None


class CoverageReportRead(BaseModel):
    as_of: datetime
    role: str
    settings_version: int
    coverage_window_days: int
    rules: list[ReasonRead] = Field(description="covered = every rule holds (seed 001)")
    total: CoverageBucketRead
    by_tier: list[TierCoverageRead]
    by_rep: list[RepCoverageRead]
    by_territory: list[TerritoryCoverageRead]


class AccountCoverageItem(BaseModel):
    account_id: UUID
    external_id: str
    name: str
    stage: str
    tier: int | None
    potential: float | None
    icp_fit: bool | None
    rep_id: UUID | None = Field(description="owner of record for the role in the active plan")
    territory_id: UUID | None
    covered: bool
    reasons: list[ReasonRead] = Field(description="why the account is not covered; empty when it is")
    last_touch_at: datetime | None
    last_meaningful_touch_at: datetime | None
    last_contact_at: datetime | None
    next_step: str | None
    next_meeting_at: datetime | None
    open_pipeline: float
    lists: list[str] = Field(description="the monthly review lists the account is on")


class CoveragePage(BaseModel):
    as_of: datetime
    settings_version: int
    items: list[AccountCoverageItem]
    next_page_token: str | None


class TouchRead(BaseModel):
    rep_id: UUID
    rep_name: str | None
    role: str | None
    last_touch_at: datetime
    touches: int


class OverlapRepRead(BaseModel):
    rep_id: UUID
    rep_name: str | None
    last_touch_at: datetime


class OverlapRead(BaseModel):
    role: str | None
    reps: list[OverlapRepRead]


class AccountCoverageRead(AccountCoverageItem):
    as_of: datetime
    settings_version: int
    touched_by: list[TouchRead]
    overlaps: list[OverlapRead]


class OverlapItem(BaseModel):
    account_id: UUID
    external_id: str
    name: str
    overlaps: list[OverlapRead]


class OverlapPage(BaseModel):
    as_of: datetime
    window_days: int
    items: list[OverlapItem]
    next_page_token: str | None


class ReviewAccountRead(BaseModel):
    account_id: UUID
    external_id: str
    name: str
    stage: str
    tier: int | None
    potential: float | None
    covered: bool
    last_touch_at: datetime | None
    next_meeting_at: datetime | None
    next_step: str | None


class ReviewListRead(BaseModel):
    name: str = Field(description="touched_recently, prospected_not_contacted, meetings_next_two_weeks, ...")
    why: str = Field(description="the rule that puts an account on this list")
    count: int
    accounts: list[ReviewAccountRead] = Field(description="highest potential first, up to `limit`")


class RepReviewRead(BaseModel):
    as_of: datetime
    settings_version: int
    rep_id: UUID
    rep_name: str
    role: str
    accounts: int
    covered: int
    coverage_rate: float | None
    lists: list[ReviewListRead]


class ReportAccountRead(BaseModel):
    account_id: UUID
    external_id: str
    name: str
    stage: str
    tier: int | None
    potential: float | None
    rep_id: UUID | None
    rep_name: str | None


class ReviewQuestionRead(BaseModel):
    name: str
    why: str
    count: int
    accounts: list[ReportAccountRead] = Field(description="highest potential first, up to `limit`")


class RepBookRead(BaseModel):
    rep_id: UUID | None = Field(description="null: accounts with no owner for the role")
    rep_name: str | None
    accounts: int
    covered: int
    coverage_rate: float | None
    by_stage: dict[str, int]
    by_tier: dict[str, int]
    lists: dict[str, int] = Field(description="accounts on each monthly review list")


class ExpansionAccountRead(ReportAccountRead):
    expansion_estimate: float | None = Field(description="the expansion surface, dollars")
    open_pipeline: float | None


class ExpansionPipelineRead(BaseModel):
    accounts: int
    expansion_estimate: float
    top: list[ExpansionAccountRead]


class CoverageReviewRead(BaseModel):
    """Seed 000 'the artifact': territory and account coverage review."""

    as_of: datetime
    role: str
    settings_version: int
    overview: dict[str, int] = Field(
        description="total_named_accounts, active_in_pipeline, customers, prospected_not_active, cold, "
        "lapsed, whitespace"
    )
    coverage_by_rep: list[RepBookRead]
    monthly_questions: list[ReviewQuestionRead]
    expansion_pipeline: ExpansionPipelineRead


class WeeklyMetricsRow(BaseModel):
    rep_id: UUID | None
    rep_name: str | None
    tier: int | None
    accounts: int
    accounts_worked: int = Field(description="accounts with at least one touch in the week")
    touches: int
    sequence_target: int = Field(description="touches that complete the tier's sequence")
    sequence_completed: int
    sequence_completion_rate: float | None = Field(description="of the accounts worked; null when none")
    reply_rate: float | None = Field(description="accounts worked with an inbound activity / accounts worked")
    meeting_rate: float | None = Field(description="accounts worked with a meeting / accounts worked")
    pipeline_created: float
    opportunities_created: int


class WeeklyMetricsRead(BaseModel):
    """Seed 004: five metrics a week for each rep's territory, by tier."""

    as_of: datetime
    role: str
    settings_version: int
    week_start: date
    week_end: date
    rows: list[WeeklyMetricsRow]


class SegmentPlanRead(BaseModel):
    segment: str | None
    accounts: int
    icp_fit_accounts: int
    tiers: dict[str, int]
    tam: float = Field(description="sum of potential; shown, never used for balancing")
    average_deal_size: float | None
    win_rate: float
    win_rate_source: str
    tap: float | None = Field(
        description="ICP-fit accounts x average won deal x win rate; null without won deals"
    )


class TerritoryTapRead(BaseModel):
    territory_id: UUID
    territory_name: str | None
    accounts: int
    icp_fit_accounts: int
    tam: float
    tap: float = Field(description="sum over its segments of ICP-fit accounts x average won deal x win rate")
    tap_missing_segments: list[str | None] = Field(
        description="segments with ICP-fit accounts but no won deal to size them (left out of `tap`)"
    )


class SegmentationRead(BaseModel):
    thresholds: dict[str, float]
    segments: list[SegmentPlanRead]
    territories: list[TerritoryTapRead] = Field(description="TAP and TAM per territory of the active plan")
    note: str


class CoverageModelPlanRead(BaseModel):
    tier_touches_per_quarter: dict[str, list[int]]
    hours_per_touch: float
    proactive_max_tier: int


class TerritoryPlanRead(BaseModel):
    """Seed 003 'Output Format': the sections computed so far."""

    as_of: datetime
    settings_version: int
    segmentation: SegmentationRead
    coverage_model: CoverageModelPlanRead
    capacity: CapacityRead
    pending_sections: list[str] = Field(description="sections that come with the assignment engine")


class ListedAccount(BaseModel):
    account_id: UUID
    external_id: str
    name: str


class TiedTerritory(BaseModel):
    territory_id: UUID
    name: str
    priority: int


class ConflictAccount(ListedAccount):
    territories: list[TiedTerritory] = Field(description="the territories tied at the top priority")


class OwnerlessAccount(ListedAccount):
    territory_id: UUID


class ListedAccounts(BaseModel):
    count: int
    accounts: list[ListedAccount] = Field(description="the first 1,000")


class ConflictAccounts(BaseModel):
    count: int
    accounts: list[ConflictAccount] = Field(description="the first 1,000")


class OwnerlessAccounts(BaseModel):
    count: int
    accounts: list[OwnerlessAccount] = Field(description="the first 1,000")


class AssignByRulesRead(BaseModel):
    plan_id: UUID
    role: str
    accounts: int = Field(description="live accounts considered")
    assigned: int = Field(description="accounts that had no owner in the plan and got one")
    moved: int = Field(description="accounts whose owner or territory changed (the old assignment ended)")
    unchanged: int
    locked: int = Field(description="locked assignments left where they are")
    unmatched: ListedAccounts = Field(description="accounts no boundary matches (they keep any owner)")
    conflicts: ConflictAccounts = Field(
        description="accounts matched by two territories of the same priority"
    )
    territories_without_owner: OwnerlessAccounts = Field(
        description="accounts matched by a territory that has no primary rep"
    )


class SpreadRead(BaseModel):
    mean: float | None
    lowest: float | None
    highest: float | None
    spread: float | None = Field(
        description="highest / lowest - 1 (seed 003: is the highest >20% above the lowest?)"
    )
    status: str = Field(description="fine (within 10%), watch, rebalance (above 20%), n/a")


class BookEquityRead(BaseModel):
    key: UUID | None = Field(description="the territory or rep id; null: assignments without a territory")
    name: str | None
    accounts: int
    potential: float
    potential_vs_mean: float | None = Field(description="(potential - mean) / mean")
    workload_hours: float = Field(description="hours a quarter the coverage model asks for these accounts")
    capacity_hours: float | None = Field(description="the rep's selling hours a quarter, by ramp status")
    load: float | None = Field(description="workload / capacity")
    load_flag: str | None = Field(description="over or under when outside 1 +- the capacity band (20%)")
    tiers: dict[str, int]
    tier1_share: float | None = Field(description="share of the plan's tier-1 accounts held here")
    pipeline: float = Field(description="open opportunities")
    tap: float
    pipeline_to_tap: float | None
    quota: float | None
    suggested_quota: list[float] = Field(description="[70%, 80%] of potential (seed 003)")


class EquityRead(BaseModel):
    books: list[BookEquityRead]
    potential: SpreadRead
    quota: SpreadRead
    overloaded: list[UUID | None]
    underloaded: list[UUID | None]
    tier1_concentration: float | None = Field(
        description="the largest share of tier-1 accounts one book holds"
    )
    tier1_fair_share: float | None
    flags: list[str] = Field(description="what a reviewer must look at, in words")


class PlanEquityRead(BaseModel):
    plan_id: UUID
    role: str
    settings_version: int
    by_territory: EquityRead
    by_rep: EquityRead


class PlanRef(BaseModel):
    plan_id: UUID
    name: str
    state: str


class MoveRead(BaseModel):
    id: UUID = Field(description="the account")
    external_id: str
    name: str
    tier: int | None
    potential: float | None
    from_territory: UUID | None
    from_rep: UUID | None
    from_reason: str | None
    to_territory: UUID | None
    to_rep: UUID | None
    to_reason: str | None = Field(description="why the account is where it is in plan b")
    to_note: str | None


class MovesRead(BaseModel):
    count: int
    movement_rate: float | None = Field(description="moves / live accounts")
    accounts: list[MoveRead] = Field(description="highest potential first, the first 1,000")


class PlanCompareRead(BaseModel):
    a: PlanRef
    b: PlanRef
    role: str
    moves: MovesRead
    equity_a: PlanEquityRead
    equity_b: PlanEquityRead


class PlanCopy(Input):
    name: str | None = Field(None, min_length=1, max_length=200, description="default: 'Copy of <name>'")


class CoverageRefreshRead(BaseModel):
    accounts_with_facts: int = Field(description="accounts with at least one activity or opportunity")
    as_of: datetime
    seconds: float


class OwnershipChangeRead(BaseModel):
    seq: int = Field(
        description="the change's position in the tenant's change log (gap-free, in commit order)"
    )
    account_id: UUID
    role: str
    plan_id: UUID | None = Field(description="the plan that was active after the change")
    from_rep_id: UUID | None
    to_rep_id: UUID | None
    from_territory_id: UUID | None
    to_territory_id: UUID | None
    cause: str = Field(
        description="rule, manual, rebalance, departure, arrival, import, dispute, or activation (an owner "
        "the activated plan drops)"
    )
    reason: str | None = Field(description="the reason text: the rule, the move's reason, the note")
    valid_from: datetime = Field(description="when the change takes effect")
    recorded_at: datetime
    actor: str | None = Field(description="the API key's id, or 'cli'")
    request_id: str | None


class OwnershipHistoryPage(BaseModel):
    items: list[OwnershipChangeRead]
    next_page_token: str | None


class MovementRead(BaseModel):
    since: datetime
    until: datetime
    role: str
    settings_version: int
    moved: int = Field(description="accounts whose owner changed at least once in the window")
    accounts: int
    rate: float | None
    per_quarter: float | None = Field(description="the rate scaled to a quarter")
    per_year: float | None = Field(description="the rate scaled to a year")
    status: str = Field(description="churn (> 15% a quarter), static (< 5% a year), steady, n/a")
    message: str


class ProposedMove(BaseModel):
    account_id: UUID
    from_rep: UUID | None
    to_rep: UUID
    tier: int | None
    potential: float
    cost: float = Field(
        description="the move's weight: tier-1 moves cost most (settings equity.move_cost_tier*)"
    )
    reason: str


class ProposedMoves(BaseModel):
    count: int
    movement_rate: float | None = Field(description="moved accounts / accounts in the plan")
    accounts: list[ProposedMove] = Field(description="highest potential first, the first 1,000")


class RebalanceProposalRead(BaseModel):
    plan_id: UUID = Field(description="the new draft that holds the proposal; activate it to apply it")
    source_plan_id: UUID
    role: str
    settings_version: int
    moves: ProposedMoves
    weighted_moves: float = Field(description="sum of the moved units' costs (families move as one unit)")
    lower_bound: float | None = Field(
        description="value-weighted moves any plan with every rep inside the band needs at least; "
        "null when no plan can meet the band"
    )
    gap: float | None = Field(description="(weighted_moves - lower_bound) / weighted_moves")
    violations: list[str] = Field(description="what the proposal still does not meet, and by how much")
    infeasible: list[str] = Field(description="what no plan can meet, and why")
    warnings: list[str] = Field(description="the movement-rate guard: more than 15% moving in a quarter")
    equity_before: PlanEquityRead
    equity_after: PlanEquityRead


class RebalanceRequest(Input):
    name: str | None = Field(None, min_length=1, max_length=200, description="the draft's name")


Day = date


class DepartureRequest(Input):
    date: Day = Field(description="the rep's last day; set as the rep's end date")
    interim_rep_id: UUID | None = Field(
        None, description="the interim owner of the accounts with open pipeline (they are locked to them)"
    )


class ArrivalRequest(Input):
    territory_name: str | None = Field(
        None, min_length=1, max_length=200, description="default: the rep's name"
    )


class OptimizeRequest(Input):
    """The optimiser's objectives and constraints; what is left out takes the tenant's settings."""

    name: str | None = Field(None, min_length=1, max_length=200, description="the draft's name")
    role: Role = Field(Role.AE, description="the role whose book is balanced")
    potential_band: float | None = Field(
        None, gt=0, le=1, description="each rep's potential within this share of its share of the mean"
    )
    capacity_band: float | None = Field(
        None, gt=0, le=1, description="each rep's workload within this share of its capacity"
    )
    expertise: bool = Field(
        True, description="accounts in the tenant's expertise industries go only to reps with that expertise"
    )
    keep_families: bool | None = Field(
        None, description="a parent and its subsidiaries move as one (default: the tenant's setting)"
    )
    geography: bool = Field(
        False,
        description="keep territories in their regions: an account goes only to a rep whose book already "
        "has accounts in the account's region",
    )


class OperationState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class OperationError(BaseModel):
    code: str
    detail: str
    errors: list[FieldProblem] = Field(default_factory=list)


class OperationRead(BaseModel):
    id: UUID
    kind: str = Field(description="what it does: optimize")
    state: OperationState
    progress: float = Field(description="0 to 1")
    message: str | None = Field(description="the stage it is at, in words")
    subject_id: UUID | None = Field(description="the plan it works on")
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: RebalanceProposalRead | None = Field(
        description="when succeeded: the proposal, in a new draft plan (activate it to apply it)"
    )
    error: OperationError | None = Field(description="when failed: why")


class OperationPage(BaseModel):
    items: list[OperationRead]
    next_page_token: str | None = None
