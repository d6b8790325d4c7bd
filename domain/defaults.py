"""Every number of the domain, once, as one frozen settings object a tenant can override."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from domain.calendar import calendar_errors
from domain.errors import Code, FieldError, ValidationFailed
from domain.model import ActivityKind


@dataclass(frozen=True)
class SegmentThresholds:
    """Company annual revenue bands (docs/domain.md, "Segments"): enterprise > $10M, mid-market $1-10M, SMB <
    $1M."""

    enterprise_min_revenue: float = 10_000_000.0
    mid_market_min_revenue: float = 1_000_000.0
    enterprise_min_employees: int = 1_000
    mid_market_min_employees: int = 100


@dataclass(frozen=True)
class TierCutoffs:
    """Tier 1 = top 20% by potential, tier 2 = next 30%, tier 3 = the rest (docs/domain.md, "Tiers")."""

    tier1_share: float = 0.20
    tier2_share: float = 0.30
    # absolute thresholds on potential ($); when both are set they replace the shares
    tier1_min_potential: float | None = None
    tier2_min_potential: float | None = None


@dataclass(frozen=True)
class ScoringWeights:
    """Composite score factor weights, each factor on a 1-5 scale (docs/domain.md, "Scores")."""

    scale_min: int = 1
    scale_max: int = 5
    current_revenue: float = 1.0
    expansion: float = 1.0
    industry_growth: float = 1.0
    whitespace: float = 1.0
    firmographic_fit: float = 0.0
    intent: float = 0.0
    relationship: float = 0.0
    competitive: float = 0.0


@dataclass(frozen=True)
class ScoringBands:
    """How account fields map onto the 1-5 factor scale: four ascending thresholds give 2, 3, 4 and 5.

    Current revenue and whitespace use the tiering matrix's bands (SMB < $100K, mid-market
    $100K-500K, enterprise > $500K); industry growth is the yearly rate (40% a year is high; docs/domain.md,
    "Scores").
    ICP signals (intent, engagement, relationship, competitive) are 0-100 and map linearly.
    """

    current_arr: tuple[float, float, float, float] = (10_000.0, 50_000.0, 100_000.0, 500_000.0)
    whitespace: tuple[float, float, float, float] = (10_000.0, 50_000.0, 100_000.0, 500_000.0)
    growth_rate: tuple[float, float, float, float] = (0.0, 0.05, 0.15, 0.30)
    company_revenue: tuple[float, float, float, float] = (
        1_000_000.0,
        10_000_000.0,
        50_000_000.0,
        250_000_000.0,
    )
    signal_max: float = 100.0
    icp_fit_min_score: float = 3.0


@dataclass(frozen=True)
class PotentialModel:
    """The expansion estimate of an account that gives none, from its growth signals (docs/domain.md,
    "Potential"): the account deployed in every unit (its current ARR again in each business unit or
    department not yet using the product), grown at its yearly rate for `horizon_years`, less what it pays
    today. A $50,000 account growing 40% a year with three unexplored units has more potential
    than a $200,000 account fully deployed and growing 5% ($255,130 against $211,051 with the defaults)."""

    horizon_years: int = 5
    max_growth_rate: float = 1.0  # a yearly rate above this counts as this (a one-off jump is not a trend)


@dataclass(frozen=True)
class TieringMatrix:
    """Revenue band (current ARR) x growth potential -> rep type and strategy."""

    enterprise_min_arr: float = 500_000.0
    mid_market_min_arr: float = 100_000.0
    high_growth_min_factor: float = 4.0
    medium_growth_min_factor: float = 2.5


@dataclass(frozen=True)
class CoverageModel:
    """Touches a year per segment and per tier each quarter (docs/domain.md, "Capacity"); account-to-rep
    ratios."""

    enterprise_visits_per_year: tuple[int, int] = (6, 8)
    mid_market_visits_per_year: tuple[int, int] = (4, 6)
    smb_visits_per_year: tuple[int, int] = (2, 3)
    tier1_touches: tuple[int, int] = (8, 12)
    tier2_touches: tuple[int, int] = (5, 7)
    tier3_touches: tuple[int, int] = (2, 3)
    enterprise_accounts_per_rep: tuple[int, int] = (3, 5)
    mid_market_accounts_per_rep: tuple[int, int] = (15, 20)
    smb_accounts_per_rep: tuple[int, int] = (50, 100)
    hours_per_touch: float = 1.0
    # tiers up to this one get proactive coverage; the rest are covered reactively (docs/domain.md,
    # "Capacity")
    proactive_max_tier: int = 2


@dataclass(frozen=True)
class RepCapacity:
    """Accounts a rep can carry by ramp status and ramp productivity (docs/domain.md, "Capacity")."""

    new_hire_accounts: int = 6
    ramping_accounts: tuple[int, int] = (10, 15)
    ramped_accounts: tuple[int, int] = (20, 30)
    senior_strategic_accounts: int = 5
    ramp_productivity: tuple[float, float] = (0.50, 0.75)
    ramp_quarters: int = 2
    # an assumption of ours (docs/domain.md, "Capacity"): 13 weeks x 30 selling hours of a ramped rep in a
    # quarter
    selling_hours_per_quarter: float = 390.0
    # share of reps expected to leave in a year ("layer in attrition assumptions"; docs/domain.md, "Capacity")
    attrition_rate: float = 0.10
    # what capacity and workload are counted in: "hours" a quarter, or "accounts" a rep carries; a rep's
    # own capacity is in this unit (docs/domain.md, "Capacity")
    unit: str = "hours"


@dataclass(frozen=True)
class CoverageRules:
    """Covered = meaningful touch in 90 days + next step + active contact (docs/domain.md, "Coverage");
    targets by tier."""

    coverage_window_days: int = 90
    review_window_days: int = 30
    meeting_lookahead_days: int = 14
    tier1_target: float = 0.90
    tier2_target: float = 0.60
    # activity kinds that count as a meaningful touch (emails and social touches count as touches only)
    meaningful_kinds: tuple[str, ...] = ("call", "meeting", "visit", "video")
    # kinds that are a meeting, for "meetings in the next two weeks" and meeting rates
    meeting_kinds: tuple[str, ...] = ("meeting", "visit", "video")
    # touched before, not touched for this long: dormant, needs a re-engagement plan (docs/domain.md,
    # "Coverage")
    dormant_after_days: int = 90
    # two or more reps of one role touching an account within this many days: overlap (docs/domain.md,
    # "Coverage")
    overlap_window_days: int = 30
    # account tags that mean a partner or referral path exists (docs/domain.md, "Coverage")
    partner_tags: tuple[str, ...] = ("partner", "referral")
    # tier 1 is "worked" after its touches over 3-4 weeks; the sequence is judged over this window
    sequence_window_days: int = 28
    # a tier 1 sequence is complete only with at least one activity of these kinds (a
    # personalized video) among its touches; empty: any touches complete it
    tier1_sequence_kinds: tuple[str, ...] = ("video",)
    # the expansion pipeline: an account team actively manages a customer it worked (a meaningful
    # touch) within this many days
    expansion_managed_days: int = 30
    # the coverage map, the path into each account (docs/domain.md, "Coverage map"): an activity
    # through a path is evidence of it for this many days
    path_window_days: int = 180
    # a relationship signal (0-100) at least this high is an existing relationship
    path_relationship_min: float = 60.0
    # potential (dollars) from which an account calls for executive engagement (strategic ones always do)
    path_executive_min_potential: float = 1_000_000.0
    # an intent signal (0-100) at least this high makes the account marketing-sourced
    path_marketing_min_intent: float = 70.0


QUOTA_PERIODS = ("annual", "quarterly")


@dataclass(frozen=True)
class EquityRules:
    """Balance bands (docs/domain.md, "Equity")."""

    quota_spread_fine: float = 0.10
    quota_spread_rebalance: float = 0.20
    capacity_band: float = 0.20
    quota_share_of_potential: tuple[float, float] = (0.70, 0.80)
    movement_churn_per_quarter: float = 0.15
    movement_static_per_year: float = 0.05
    # the optimiser keeps each rep's potential within this band of the mean (issue 5: +-10%)
    balance_potential_band: float = 0.10
    # cost of moving an account, by tier (continuity first: tier-1 moves cost most)
    move_cost_tier1: float = 9.0
    move_cost_tier2: float = 3.0
    move_cost_tier3: float = 1.0
    # accounts in these industries go only to reps whose expertise names the industry (empty: no rule)
    expertise_industries: tuple[str, ...] = ()
    # parent and subsidiaries stay with one owner and move as one (False: each account on its own)
    keep_families: bool = True
    # the period a rep's or territory's quota covers: "annual" (a quarter's target is a quarter of it) or
    # "quarterly" (the quota is the quarter's target); docs/domain.md, "Quarterly review"
    quota_period: str = "annual"


@dataclass(frozen=True)
class WinRates:
    """Default win probability when a segment has too few closed opportunities."""

    default_win_rate: float = 0.20
    min_closed_opportunities: int = 20


@dataclass(frozen=True)
class WriteRules:
    """How a change names the version it was made against (docs/http.md, "Versions"): with
    require_if_match, a PATCH, PUT or DELETE without If-Match (GraphQL: an update without expectedVersion)
    is refused, so no client can overwrite a change it has not seen."""

    require_if_match: bool = False


@dataclass(frozen=True)
class EngagementRules:
    """The numbers of the default rules of engagement (docs/domain.md, "Rules of engagement"): a rep has
    an existing relationship with 2 meaningful touches in 90 days; the parent's owner is accountable for
    deals of $100,000 and more in the family; disputes are decided within 5 business days."""

    relationship_min_touches: int = 2
    relationship_window_days: int = 90
    parent_deal_threshold: float = 100_000.0
    dispute_business_days: int = 5
    # the grey zones: who owns winning back a churned customer, and more business in a customer
    reengagement_role: str = "AE"
    expansion_role: str = "AE"


@dataclass(frozen=True)
class ReviewCadence:
    """How often territories are reviewed (quarterly small adjustments, a full
    rebalance once a year; every territory has a review date). The territory plan report's
    rebalancing schedule lists the next year of reviews (docs/domain.md, "Territory plan")."""

    cadence: str = "quarterly"  # monthly, quarterly, semiannual or annual
    fiscal_year_start_month: int = 1  # 1 = January; a fiscal year is named by the year it ends in


@dataclass(frozen=True)
class BusinessCalendarSettings:
    """The working days dispute deadlines are counted in (docs/domain.md, "Business calendar"): not the
    weekend, not a public holiday of `country` (an ISO 3166 code the holidays package knows, such as "US";
    empty: none) and `subdivision` (a state or province, such as "TX"; empty: the national holidays), not
    one of the tenant's own `holidays` (dates, YYYY-MM-DD)."""

    country: str = ""
    subdivision: str = ""
    holidays: tuple[str, ...] = ()
    weekend: tuple[str, ...] = ("saturday", "sunday")


@dataclass(frozen=True)
class TenantSettings:
    segments: SegmentThresholds = field(default_factory=SegmentThresholds)
    tiers: TierCutoffs = field(default_factory=TierCutoffs)
    scoring: ScoringWeights = field(default_factory=ScoringWeights)
    scoring_bands: ScoringBands = field(default_factory=ScoringBands)
    tiering_matrix: TieringMatrix = field(default_factory=TieringMatrix)
    coverage_model: CoverageModel = field(default_factory=CoverageModel)
    capacity: RepCapacity = field(default_factory=RepCapacity)
    coverage: CoverageRules = field(default_factory=CoverageRules)
    equity: EquityRules = field(default_factory=EquityRules)
    win_rates: WinRates = field(default_factory=WinRates)
    writes: WriteRules = field(default_factory=WriteRules)
    potential: PotentialModel = field(default_factory=PotentialModel)
    reviews: ReviewCadence = field(default_factory=ReviewCadence)
    calendar: BusinessCalendarSettings = field(default_factory=BusinessCalendarSettings)


DEFAULTS = TenantSettings()
# a review cadence and the months between two reviews
REVIEW_CADENCES = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}

# Limits of the service itself (not of the domain), kept here so there is one place for numbers.
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50
MAX_LOOKUP_BATCH = 1_000
MAX_FAMILY_DEPTH = 64  # levels the lookup climbs to a family's top account (cycles are refused; a guard)

# What a stored value may be, so that nothing stored can break a later read (docs/errors.md):
MAX_MONEY = 1e15  # dollars in one field: sums over millions of accounts stay far from overflowing
INT32 = 2**31 - 1  # integer columns (employees, priority) are 32-bit on PostgreSQL
MAX_SETTING_LIST = 100  # items in one list setting (bands, kinds, expertise)
MAX_SETTING_DAYS = 3650  # a window in days: ten years
MAX_SETTING_NUMBER = 1e12  # any other number in the settings
MAX_HORIZON_YEARS = 10  # the potential model's horizon
MAX_GROWTH_RATE = 10.0  # a yearly growth rate: 1,000% a year
MAX_WHITESPACE_UNITS = 10_000  # business units or departments of one account
MAX_POLICY_CHARS = 2_000  # a territory's escalation policy, in characters
MAX_IMPORT_ROWS = 100_000  # rows in one import request
IDEMPOTENCY_HOURS = 24  # how long a POST's Idempotency-Key replays its first answer
# API keys (README, "Tenants and keys"): a rotated key keeps working this long beside its successor
KEY_ROTATION_OVERLAP_SECONDS = 24 * 3600
MAX_KEY_ROTATION_OVERLAP_SECONDS = 30 * 24 * 3600
MAX_KEY_EXPIRY_DAYS = 3650  # a key's expires_at is at most ten years ahead
KEY_LAST_USED_SECONDS = 60  # last_used_at is written at most this often per key and process
IDEMPOTENCY_CLAIM_MINUTES = 10  # a key's request that has not answered in this long died: a retry runs
MAX_CSV_COLUMNS = 100  # columns in an import's CSV header (a kind has at most 25)
# accounts listed in one answer (unmatched, conflicts, moves...); the counts beside them are complete
MAX_LISTED_ACCOUNTS = 1_000
# assigning by rules a book of more live accounts runs as an operation (docs/domain.md, "Boundaries and
# assignment by rules"): 202 with the operation instead of a request that holds the client for seconds
ASSIGN_BY_RULES_OPERATION_ABOVE = 20_000
# Webhook retries (docs/change-stream.md): the Standard Webhooks schedule (immediately, 5 s, 5 min, 30 min,
# 2 h, 5 h, 10 h, 10 h), continued to about three days in all; after the last one the endpoint is disabled
# and keeps its place, so re-enabling it delivers everything it missed.
WEBHOOK_RETRY_SECONDS = (5, 300, 1_800, 7_200, 18_000, 36_000, 36_000, 50_400, 86_400)
WEBHOOK_TIMEOUT_SECONDS = 10.0
WEBHOOK_SECRET_OVERLAP_HOURS = 24.0  # after a rotation, the old secret signs too for this long
WEBHOOK_BATCH = 100  # events one endpoint is sent per turn


def settings_to_dict(settings: TenantSettings) -> dict[str, Any]:
    return dataclasses.asdict(settings)


def _same_kind(current: Any, value: Any) -> bool:
    """A setting keeps its kind: bool, whole number, number (or None where that is the default), list."""
    if isinstance(current, bool):
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if isinstance(current, int):
        return isinstance(value, int)
    if isinstance(current, float) or current is None:
        return value is None and current is None or isinstance(value, int | float)
    if isinstance(current, tuple) and not current:
        return isinstance(value, tuple) and all(isinstance(v, str) for v in value)  # empty lists hold names
    if isinstance(current, tuple):
        return isinstance(value, tuple) and all(isinstance(v, type(current[0]) | int | float) for v in value)
    return isinstance(value, type(current))


def _out_of_bounds(key: str, value: Any) -> tuple[str, str] | None:
    """A setting's value that could break a later read: a number that is not finite or too large, a
    window of more than ten years, a list too long, text holding a NUL character. (code, message)."""
    items = value if isinstance(value, tuple) else (value,)
    if isinstance(value, tuple) and len(value) > MAX_SETTING_LIST:
        return Code.TOO_MANY_VALUES, f"at most {MAX_SETTING_LIST} values"
    for item in items:
        if isinstance(item, str) and "\x00" in item:
            return Code.NUL_CHARACTER, "text cannot hold a NUL character"
        if isinstance(item, bool) or not isinstance(item, int | float):
            continue
        if not math.isfinite(item):
            return Code.INVALID_NUMBER, "expected a finite number"
        limit = MAX_SETTING_DAYS if key.endswith("_days") else MAX_SETTING_NUMBER
        if abs(item) > limit:
            return Code.OUT_OF_RANGE, f"at most {limit:g} in size"
    return None


def apply_overrides(overrides: dict[str, Any] | None, base: TenantSettings = DEFAULTS) -> TenantSettings:
    """Return `base` with a tenant's overrides ({"tiers": {"tier1_share": 0.1}}); unknown keys are errors."""
    if not overrides:
        return base
    errors: list[FieldError] = []
    sections: dict[str, Any] = {}
    for section_name, values in overrides.items():
        if section_name not in {f.name for f in dataclasses.fields(base)}:
            errors.append(
                FieldError(section_name, Code.UNKNOWN_FIELD, f"unknown settings section {section_name!r}")
            )
            continue
        section = getattr(base, section_name)
        if not isinstance(values, dict):
            errors.append(FieldError(section_name, Code.INVALID_TYPE, "expected an object"))
            continue
        known = {f.name: f for f in dataclasses.fields(section)}
        changes: dict[str, Any] = {}
        for key, value in values.items():
            if key not in known:
                errors.append(
                    FieldError(f"{section_name}.{key}", Code.UNKNOWN_FIELD, f"unknown setting {key!r}")
                )
                continue
            current = getattr(section, key)
            if isinstance(current, tuple) and isinstance(value, list | tuple):
                value = tuple(value)
            if not _same_kind(current, value):
                expected = "a list" if isinstance(current, tuple) else type(current).__name__
                errors.append(FieldError(f"{section_name}.{key}", Code.INVALID_TYPE, f"expected {expected}"))
                continue
            problem = _out_of_bounds(key, value)
            if problem is not None:
                errors.append(FieldError(f"{section_name}.{key}", *problem))
                continue
            changes[key] = value
        sections[section_name] = dataclasses.replace(section, **changes)
    if errors:
        raise ValidationFailed("invalid settings", errors)
    return dataclasses.replace(base, **sections)


def check_settings(settings: TenantSettings) -> None:
    """Rules a tenant's settings must keep; every broken one is named (ValidationFailed)."""
    errors: list[FieldError] = []

    def bad(path: str, code: str, message: str) -> None:
        errors.append(FieldError(path, code, message))

    weights = settings.scoring
    factor_names = [f.name for f in dataclasses.fields(weights) if f.name not in ("scale_min", "scale_max")]
    for name in factor_names:
        if getattr(weights, name) < 0:
            bad(f"scoring.{name}", Code.NEGATIVE_WEIGHT, "weights must be zero (factor off) or positive")
    if not any(getattr(weights, n) > 0 for n in factor_names):
        bad("scoring", Code.NO_FACTOR, "at least one factor needs a positive weight")
    if not weights.scale_min < weights.scale_max:
        bad("scoring.scale_min", Code.BAD_RANGE, "scale_min must be below scale_max")
    tiers = settings.tiers
    for name in ("tier1_share", "tier2_share"):
        if not 0 <= getattr(tiers, name) <= 1:
            bad(f"tiers.{name}", Code.OUT_OF_RANGE, "a share is between 0 and 1")
    if tiers.tier1_share + tiers.tier2_share > 1:
        bad("tiers", Code.TIERS_OVERLAP, "tier 1 and tier 2 shares add up to more than 100%")
    t1, t2 = tiers.tier1_min_potential, tiers.tier2_min_potential
    if (t1 is None) != (t2 is None):
        bad("tiers", Code.INCOMPLETE_THRESHOLDS, "set both absolute thresholds or neither")
    elif t1 is not None and t2 is not None and not t1 > t2 >= 0:
        bad(
            "tiers.tier1_min_potential",
            Code.TIERS_OVERLAP,
            "tier 1 threshold must be above tier 2's (and >= 0)",
        )
    if not settings.segments.enterprise_min_revenue > settings.segments.mid_market_min_revenue >= 0:
        bad("segments", Code.BANDS_OVERLAP, "enterprise revenue must start above mid-market revenue")
    for section in dataclasses.fields(settings):
        values = getattr(settings, section.name)
        for f in dataclasses.fields(values):
            value = getattr(values, f.name)
            numbers = isinstance(value, tuple) and all(isinstance(v, int | float) for v in value)
            if numbers and list(value) != sorted(value):
                bad(f"{section.name}.{f.name}", Code.NOT_ASCENDING, "values must be in ascending order")
    kinds = {k.value for k in ActivityKind}
    for name in ("meaningful_kinds", "meeting_kinds", "tier1_sequence_kinds"):
        unknown = [k for k in getattr(settings.coverage, name) if k not in kinds]
        if unknown:
            bad(f"coverage.{name}", Code.UNKNOWN_KIND, f"not activity kinds: {', '.join(map(str, unknown))}")
    for path, value in (
        ("coverage.tier1_target", settings.coverage.tier1_target),
        ("coverage.tier2_target", settings.coverage.tier2_target),
        ("win_rates.default_win_rate", settings.win_rates.default_win_rate),
        ("capacity.attrition_rate", settings.capacity.attrition_rate),
        ("equity.capacity_band", settings.equity.capacity_band),
        ("equity.balance_potential_band", settings.equity.balance_potential_band),
    ):
        if not 0 <= value <= 1:
            bad(path, Code.OUT_OF_RANGE, "a rate is between 0 and 1")
    for path, value in (
        ("coverage.coverage_window_days", settings.coverage.coverage_window_days),
        ("coverage.review_window_days", settings.coverage.review_window_days),
        ("coverage.dormant_after_days", settings.coverage.dormant_after_days),
        ("coverage.overlap_window_days", settings.coverage.overlap_window_days),
        ("coverage.sequence_window_days", settings.coverage.sequence_window_days),
        ("coverage.expansion_managed_days", settings.coverage.expansion_managed_days),
        ("coverage.path_window_days", settings.coverage.path_window_days),
        ("capacity.selling_hours_per_quarter", settings.capacity.selling_hours_per_quarter),
        ("coverage_model.hours_per_touch", settings.coverage_model.hours_per_touch),
    ):
        if not value > 0:
            bad(path, Code.OUT_OF_RANGE, "must be positive")
    if settings.equity.quota_period not in QUOTA_PERIODS:
        bad("equity.quota_period", Code.INVALID_CHOICE, " or ".join(QUOTA_PERIODS))
    if settings.capacity.unit not in ("hours", "accounts"):
        bad("capacity.unit", Code.INVALID_CHOICE, "hours or accounts")
    if settings.reviews.cadence not in REVIEW_CADENCES:
        bad("reviews.cadence", Code.INVALID_CHOICE, " or ".join(REVIEW_CADENCES))
    if not 1 <= settings.reviews.fiscal_year_start_month <= 12:
        bad("reviews.fiscal_year_start_month", Code.OUT_OF_RANGE, "a month, 1 (January) to 12")
    if not 1 <= settings.potential.horizon_years <= MAX_HORIZON_YEARS:
        bad("potential.horizon_years", Code.OUT_OF_RANGE, f"between 1 and {MAX_HORIZON_YEARS} years")
    if not 0 <= settings.potential.max_growth_rate <= MAX_GROWTH_RATE:
        bad(
            "potential.max_growth_rate",
            Code.OUT_OF_RANGE,
            f"between 0 and {MAX_GROWTH_RATE:g} (a yearly rate)",
        )
    cal = settings.calendar
    errors += calendar_errors("calendar", cal.country, cal.subdivision, cal.holidays, cal.weekend)
    if errors:
        raise ValidationFailed("the settings break rules", errors, code=Code.INVALID_SETTINGS)
