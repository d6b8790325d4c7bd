"""Reports (docs/domain.md): the coverage review ("Coverage"), the quarterly review, the weekly territory
metrics, the territory plan with the plan template in each territory entry ("Territory plan"), and the
dispute log ("Dispute log").

Each is a handful of aggregate queries over the tenant, with the rules compiled from the domain.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from api.services import capacity as capacity_service
from api.services import equity as equity_service
from api.services.capacity import CapacityRead
from api.services.common import RampStatusValue, RepRoleValue, TerritoryTypeValue
from api.services.context import AppContext, Principal, tenant_settings
from api.services.coverage import TierCoverageRead, coverage_bucket, filters, frame
from api.services.disputes import tenant_calendar
from api.services.equity import LoadFlag, PlanEquityRead, SpreadStatus
from api.services.scoring import tenant_win_rates
from domain.boundaries import describe_boundary
from domain.calendar import business_days_between
from domain.coverage import (
    OVERVIEW,
    actively_managed,
    coverage_rules,
    covered,
    review_lists,
    tier_targets,
    whitespace,
)
from domain.criteria import Cond, Not, all_of
from domain.defaults import MAX_LISTED_ACCOUNTS, QUOTA_PERIODS, TenantSettings
from domain.disputes import ClaimBasis, DisputeState, LogEntry, Timeliness, summarise_log, timeliness
from domain.errors import Code, FieldError, ValidationFailed
from domain.metrics import WeekTally, rate, week_of, weekly_metric
from domain.model import Plan, Rep, Role, Scope, Segment, Stage
from domain.quarterly_review import Book, Results, performance, quarter_of
from domain.reviews import Review, review_schedule
from domain.scoring import TAP_NOTE, mixed_tap, total_addressable_pipeline


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
    open_pipeline: float | None = Field(
        description="the open opportunities' amount, dollars; null: no coverage facts for the account yet "
        "(it came after the last refresh: POST /v1/coverage/refresh)"
    )
    last_worked_at: datetime | None = Field(description="the latest meaningful touch; null: never worked")
    last_worked_by_rep_id: UUID | None = Field(description="the rep who made that touch")
    last_worked_by: str | None = Field(description="that rep's name")
    actively_managed: bool = Field(
        description="worked within coverage.expansion_managed_days (is the account team "
        "actively managing the relationship?)"
    )


class ExpansionPipelineRead(BaseModel):
    managed_window_days: int = Field(description="coverage.expansion_managed_days")
    accounts: int
    expansion_estimate: float
    top: list[ExpansionAccountRead]


class CoverageReviewRead(BaseModel):
    """The coverage review: territory and account coverage review."""

    as_of: datetime
    role: Role
    settings_version: int
    overview: dict[str, int] = Field(
        description="total_named_accounts, active_in_pipeline, customers, prospected_not_active, cold, "
        "lapsed, whitespace"
    )
    coverage_by_tier: list[TierCoverageRead] = Field(
        description="tiers 1-3: the covered share against the tier's target (coverage.tier1_target, "
        "tier2_target; tier 3 has none) and the accounts failing each rule"
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
    sequence_window_days: int = Field(description="the touches are counted over this window (3-4 weeks)")
    sequence_required_kinds: list[str] = Field(
        description="a tier 1 sequence holds at least one touch of these kinds (a personalized video)"
    )
    sequence_completed: int = Field(description="accounts of the book whose sequence is complete")
    sequence_completion_rate: float | None = Field(
        description="sequence_completed / accounts of the book (not the accounts worked); null when none"
    )
    reply_rate: float | None = Field(description="accounts worked with an inbound activity / accounts worked")
    meeting_rate: float | None = Field(description="accounts worked with a meeting / accounts worked")
    pipeline_created: float
    opportunities_created: int


class WeeklyMetricsRead(BaseModel):
    """Five metrics a week for each rep's territory, by tier."""

    as_of: datetime
    role: Role
    settings_version: int
    week_start: date
    week_end: date
    rows: list[WeeklyMetricsRow]


class QuarterPerformanceRead(BaseModel):
    id: UUID | None = Field(description="the rep or territory; null: opportunities with no rep or territory")
    name: str | None
    quota: float | None = Field(description="as stored (annual unless equity.quota_period says quarterly)")
    target: float | None = Field(description="the quarter's target: quota / 4 for an annual quota")
    achieved: float = Field(description="won revenue closed in the quarter")
    attainment: float | None = Field(description="achieved / target; null without a quota")
    gap: float | None = Field(description="target - achieved")
    opportunities_opened: int = Field(description="opportunities created in the quarter")
    opportunities_won: int = Field(description="opportunities closed won in the quarter")
    conversion_rate: float | None = Field(
        description="opportunities opened in the quarter and won / opened in the quarter"
    )
    accounts: int = Field(description="accounts in the book (owner of record, or the territory's)")
    tier1_accounts: int
    tier1_covered: int
    why: list[str] = Field(description="target met or missed, coverage gaps, tier mix, conversion")


class QuarterlyReviewRead(BaseModel):
    """The quarterly review: territory performance against quota (target, achieved, why) and
    account-level conversion, per rep and per territory."""

    as_of: datetime
    role: Role
    settings_version: int
    quarter: str
    quarter_start: date
    quarter_end: date = Field(description="the day after the quarter")
    quota_period: Literal[QUOTA_PERIODS] = Field(  # type: ignore[valid-type]
        description="equity.quota_period: annual (target = quota / 4) or quarterly"
    )
    total: QuarterPerformanceRead
    by_rep: list[QuarterPerformanceRead]
    by_territory: list[QuarterPerformanceRead]


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
    tier_touches_per_sequence: dict[str, list[int]] = Field(
        description="touches of one tier's sequence, low-high (across 3-4 weeks); capacity counts "
        "one sequence a quarter"
    )
    sequence_window_days: int = Field(description="the days a sequence is judged over")
    segment_visits_per_year: dict[str, list[int]] = Field(description="visits, low-high")
    accounts_per_rep: dict[str, list[int]] = Field(description="account-to-rep ratio per segment, low-high")
    hours_per_touch: float
    proactive_max_tier: int


class PlanHeaderRead(BaseModel):
    prepared: date
    planning_horizon: str = Field(description="the fiscal year the schedule's reviews fall in")
    plan_id: UUID | None = Field(description="the plan reported: the one asked for, else the active one")
    plan_name: str | None
    total_sales_team: int = Field(description="active reps")
    total_addressable_market: float = Field(description="sum of potential over the segments (TAM)")


class PlanRepRead(BaseModel):
    rep_id: UUID
    name: str
    role: RepRoleValue
    ramp_status: RampStatusValue


class TerritoryEntryRead(BaseModel):
    """One territory as the assignment table and the plan template have it."""

    territory_id: UUID
    name: str
    type: TerritoryTypeValue
    boundary: dict[str, Any] = Field(description="the rules and named accounts that define it")
    boundary_text: str = Field(description="the boundary in words")
    priority: int
    owner: PlanRepRead | None = Field(description="the primary rep")
    backup: PlanRepRead | None = Field(description="the backup rep")
    accounts: int = Field(description="current AE assignments in the territory")
    tiers: dict[str, int] = Field(description="accounts by tier")
    quota: float | None
    potential: float
    potential_vs_mean: float | None
    suggested_quota: list[float] = Field(description="[70%, 80%] of potential")
    pipeline: float
    tier1_target_activity: str = Field(description="the tier-1 sequence, from the coverage model")
    weekly_pipeline_target: float | None
    meeting_rate_target: float | None
    quarterly_review_date: date | None = Field(description="the territory's own review date, if set")
    next_review_date: date | None = Field(
        description="the territory's review date, else the next review of the tenant's cadence"
    )
    escalation_policy: str | None


class RepPotentialRead(BaseModel):
    rep_id: UUID | None
    rep_name: str | None
    accounts: int
    potential: float
    quota: float | None
    potential_vs_mean: float | None
    in_band: bool | None = Field(description="potential within the balance band of the mean")
    load: float | None
    load_flag: LoadFlag | None


class TerritoryEquityLabel(BaseModel):
    territory_id: UUID | None
    name: str | None
    potential_vs_mean: float | None


class EquityMetricsRead(BaseModel):
    """The equity metrics, read from the plan's equity (GET /v1/plans/{id}/equity)."""

    reps: int
    average_quota_per_rep: float | None
    quota_low: float | None
    quota_high: float | None
    quota_spread: float | None = Field(description="highest / lowest - 1")
    quota_status: SpreadStatus
    average_potential_per_rep: float | None
    potential_low: float | None
    potential_high: float | None
    potential_spread: float | None
    potential_status: SpreadStatus
    balance_band: float = Field(description="the band around the mean potential a rep's book is kept in")
    rebalance_above: float = Field(description="a spread above this calls for a rebalance")
    highest_territory: TerritoryEquityLabel | None = Field(description="most potential against the mean")
    lowest_territory: TerritoryEquityLabel | None
    rebalancing_needed: bool = Field(
        description="a spread calls for a rebalance, or a rep is loaded outside the capacity band"
    )
    actions: list[str] = Field(description="what to look at, in words (the equity flags)")
    per_rep: list[RepPotentialRead]


class ReviewRead(BaseModel):
    period: str
    period_start: date
    period_end: date
    review_date: date = Field(description="the day after the period ends")
    actions: list[str]


class RebalancingScheduleRead(BaseModel):
    cadence: str = Field(description="settings reviews.cadence")
    fiscal_year_start_month: int
    reviews: list[ReviewRead] = Field(description="the next year of reviews")


class TerritoryPlanRead(BaseModel):
    """The territory plan in its output format, with the plan template in each territory entry."""

    as_of: datetime
    settings_version: int
    header: PlanHeaderRead
    segmentation: SegmentationRead
    coverage_model: CoverageModelPlanRead
    capacity: CapacityRead
    assignments: list[TerritoryEntryRead] = Field(description="the plan's territories, by name")
    equity_metrics: EquityMetricsRead | None = Field(description="null when there is no plan to report")
    rebalancing_schedule: RebalancingScheduleRead


STAGES = [s.value for s in Stage]
TIERS = (1, 2, 3)
BRIEF = ("account_id", "external_id", "name", "stage", "tier", "potential")


async def coverage_review(
    ctx: AppContext,
    p: Principal,
    role: str = "AE",
    rep_id: UUID | None = None,
    territory_id: UUID | None = None,
    limit: int = 20,
) -> CoverageReviewRead:
    """The coverage review's template: territory overview, coverage by rep (accounts by stage and tier),
    the monthly review questions (count and the highest-potential accounts of each), and the expansion
    pipeline."""
    async with ctx.uow(p.tenant_id) as uow:
        f = await frame(ctx, uow, p, role)
        lists = review_lists(f.settings.coverage, f.now)
        scope = filters(None, rep_id, territory_id)
        covered_now = covered(f.settings.coverage, f.now)
        rules = coverage_rules(f.settings.coverage, f.now)
        (overview,) = await uow.coverage.aggregate(
            role,
            where=scope,
            count="total_named_accounts",
            counts={name: Cond("stage", "in", stages) for name, stages in OVERVIEW.items()}
            | {"whitespace": whitespace()},
        )
        reps = await uow.coverage.aggregate(
            role,
            where=scope,
            group_by=("rep_id",),
            count="accounts",
            counts={"covered": covered_now}
            | {f"stage:{st}": Cond("stage", "eq", st) for st in STAGES}
            | {f"tier:{t}": Cond("tier", "eq", t) for t in TIERS}
            | {f"covered:{t}": all_of(covered_now, Cond("tier", "eq", t)) for t in TIERS}
            | {
                f"failing:{t}:{rule.code}": all_of(Not(rule.holds), Cond("tier", "eq", t))
                for t in TIERS
                for rule in rules
            }
            | {f"list:{name}": rule.holds for name, rule in lists.items()},
        )
        questions = []
        for name, rule in lists.items():
            top = await uow.coverage.accounts(
                role,
                where=[*scope, rule.holds],
                order_by=("-potential", "account_id"),
                limit=limit,
                fields=(*BRIEF, "rep_id"),
            )
            count = sum(int(x[f"list:{name}"] or 0) for x in reps)
            questions.append({"name": name, "why": rule.message, "count": count, "accounts": top})
        expansion = [*scope, lists["expansion"].holds]
        exp_rows = await uow.coverage.accounts(
            role,
            where=expansion,
            order_by=("-expansion_estimate", "account_id"),
            limit=limit,
            fields=(*BRIEF, "expansion_estimate", "open_pipeline", "rep_id"),
        )
        (exp_total,) = await uow.coverage.aggregate(
            role, where=expansion, count="accounts", sums={"expansion_estimate": "expansion_estimate"}
        )
        worked = await uow.coverage.last_worked(
            [x["account_id"] for x in exp_rows], f.settings.coverage.meaningful_kinds, f.now
        )
        labels = await uow.coverage.rep_labels(
            {x["rep_id"] for x in reps if x["rep_id"]} | {w[1] for w in worked.values() if w[1]}
        )
    rep_names = {k: v.name for k, v in labels.items()}
    for row in (*exp_rows, *(a for q in questions for a in q["accounts"])):
        row["rep_name"] = rep_names.get(row["rep_id"])
    for row in exp_rows:
        at, by = worked.get(row["account_id"], (None, None))
        row |= {
            "last_worked_at": at,
            "last_worked_by_rep_id": by,
            "last_worked_by": rep_names.get(by),
            "actively_managed": actively_managed(at, f.settings.coverage, f.now),
        }
    by_rep = []
    for x in sorted(reps, key=lambda x: (x["rep_id"] is None, rep_names.get(x["rep_id"]) or "")):
        n = int(x["accounts"])
        by_rep.append(
            {
                "rep_id": x["rep_id"],
                "rep_name": rep_names.get(x["rep_id"]),
                "accounts": n,
                "covered": int(x["covered"] or 0),
                "coverage_rate": rate(int(x["covered"] or 0), n),
                "by_stage": {st: int(x[f"stage:{st}"] or 0) for st in STAGES},
                "by_tier": {str(t): int(x[f"tier:{t}"] or 0) for t in TIERS},
                "lists": {name: int(x[f"list:{name}"] or 0) for name in lists},
            }
        )
    targets = tier_targets(f.settings.coverage)
    by_tier = [
        {"tier": t}
        | coverage_bucket(
            sum(int(x[f"tier:{t}"] or 0) for x in reps),
            sum(int(x[f"covered:{t}"] or 0) for x in reps),
            targets.get(t),
            {r.code: sum(int(x[f"failing:{t}:{r.code}"] or 0) for x in reps) for r in rules},
        )
        for t in TIERS
    ]
    return CoverageReviewRead.model_validate(
        {
            "as_of": f.now,
            "role": role,
            "settings_version": f.version,
            "overview": {k: int(v or 0) for k, v in overview.items()},
            "coverage_by_tier": by_tier,
            "coverage_by_rep": by_rep,
            "monthly_questions": questions,
            "expansion_pipeline": {
                "managed_window_days": f.settings.coverage.expansion_managed_days,
                "accounts": int(exp_total["accounts"]),
                "expansion_estimate": float(exp_total["expansion_estimate"]),
                "top": exp_rows,
            },
        }
    )


async def weekly_metrics(
    ctx: AppContext, p: Principal, week_start: date | None = None, role: str = "AE"
) -> WeeklyMetricsRead:
    """The five weekly metrics per rep's book and tier: accounts worked, sequence completion, reply
    rate, meeting rate, pipeline created. The week is [week_start, week_start + 7 days), Monday by default."""
    async with ctx.uow(p.tenant_id) as uow:
        f = await frame(ctx, uow, p, role)
        week = week_of(week_start, f.now.date())
        tallies = await uow.reports.weekly_tallies(
            role, week, f.now, f.settings.coverage, f.settings.coverage_model
        )
        labels = await uow.coverage.rep_labels([k[0] for k in tallies if k[0]])
    rep_names = {k: v.name for k, v in labels.items()}
    rows = []
    for key in sorted(
        tallies, key=lambda k: (k[0] is None, rep_names.get(k[0]) or "", k[1] is None, k[1] or 0)
    ):
        tally: WeekTally = tallies[key]
        metric = weekly_metric(tally, key[1], f.settings.coverage_model)
        rows.append(
            {"rep_id": key[0], "rep_name": rep_names.get(key[0]), "tier": key[1]}
            | asdict(metric)
            | {
                "sequence_window_days": f.settings.coverage.sequence_window_days,
                "sequence_required_kinds": list(f.settings.coverage.tier1_sequence_kinds)
                if key[1] == 1
                else [],
            }
        )
    return WeeklyMetricsRead.model_validate(
        {
            "as_of": f.now,
            "role": role,
            "settings_version": f.version,
            "week_start": week.start,
            "week_end": week.end,
            "rows": rows,
        }
    )


async def quarterly_review(
    ctx: AppContext, p: Principal, quarter: str | None = None, role: str = "AE"
) -> QuarterlyReviewRead:
    """The quarterly review of one quarter ('YYYY-QN', the current one by default): per rep and per
    territory of the active plan, the quarter's target from the quota, the won revenue closed in it,
    attainment, the conversion of the opportunities opened in it, and why."""
    async with ctx.uow(p.tenant_id) as uow:
        f = await frame(ctx, uow, p, role)
        q = quarter_of(quarter, f.now.date())
        results = await uow.reports.quarter_results(role, q)
        quotas = await uow.reports.quotas()
        book_counts = {
            "covered": covered(f.settings.coverage, f.now),
            "tier1": Cond("tier", "eq", 1),
            "tier1_covered": all_of(Cond("tier", "eq", 1), covered(f.settings.coverage, f.now)),
        }
        books = {
            name: {
                x[field]: Book(int(x["n"]), int(x["tier1"] or 0), int(x["tier1_covered"] or 0))
                for x in await uow.coverage.aggregate(role, group_by=(field,), counts=book_counts)
            }
            for name, field in (("rep", "rep_id"), ("territory", "territory_id"))
        }
        missing = {k for k in results["rep"] if k is not None and k not in quotas["rep"]}
        departed = await uow.coverage.rep_labels(missing)
    everyone = Book(
        sum(b.accounts for b in books["rep"].values()),
        sum(b.tier1 for b in books["rep"].values()),
        sum(b.tier1_covered for b in books["rep"].values()),
    )
    tier1_share = everyone.tier1 / everyone.accounts if everyone.accounts else None

    def row(key: Any, name: str | None, quota: float | None, res: Results, book: Book) -> dict[str, Any]:
        perf = performance(quota, res, book, tier1_share, f.settings.equity, f.settings.coverage)
        return (
            {"id": key, "name": name, "quota": quota}
            | asdict(perf)
            | {
                "why": list(perf.why),
                "accounts": book.accounts,
                "tier1_accounts": book.tier1,
                "tier1_covered": book.tier1_covered,
            }
        )

    sections: dict[str, list[dict[str, Any]]] = {}
    for dim in ("rep", "territory"):
        names = {k: v for k, v in quotas[dim].items()}
        if dim == "rep":
            names |= {k: (v.name, None) for k, v in departed.items()}
        keys = set(names) | set(results[dim]) | ({None} if None in books[dim] else set())
        rows = [
            row(
                k,
                names.get(k, (None, None))[0],
                names.get(k, (None, None))[1],
                results[dim].get(k, Results()),
                books[dim].get(k, Book()),
            )
            for k in keys
        ]
        sections[dim] = sorted(rows, key=lambda x: (x["id"] is None, x["name"] or "", str(x["id"])))
    totals = Results(
        sum(r.won for r in results["rep"].values()),
        sum(r.won_opportunities for r in results["rep"].values()),
        sum(r.opened for r in results["rep"].values()),
        sum(r.opened_won for r in results["rep"].values()),
    )
    team_quota = sum(q for _, q in quotas["rep"].values() if q is not None) or None
    return QuarterlyReviewRead.model_validate(
        {
            "as_of": f.now,
            "role": role,
            "settings_version": f.version,
            "quarter": q.label,
            "quarter_start": q.start,
            "quarter_end": q.end,
            "quota_period": f.settings.equity.quota_period,
            "total": row(None, "all reps", team_quota, totals, everyone),
            "by_rep": sections["rep"],
            "by_territory": sections["territory"],
        }
    )


async def territory_plan(ctx: AppContext, p: Principal) -> TerritoryPlanRead:
    """The plan (docs/domain.md, "Territory plan"): the header, market segmentation (accounts, ICP
    fit, tiers, TAM and TAP per segment and territory), the coverage model with capacity, the active plan's
    territories (owner and backup, tier counts, quota and potential, targets, review date and
    escalation policy), its equity metrics and the rebalancing schedule of the tenant's review cadence."""
    icp_fit = {"icp_fit": Cond("icp_fit", "eq", True)}
    async with ctx.uow(p.tenant_id) as uow:
        f = await frame(ctx, uow, p, "AE")
        segments = await uow.coverage.aggregate(
            "AE",
            group_by=("segment",),
            count="accounts",
            counts=icp_fit | {f"tier:{t}": Cond("tier", "eq", t) for t in TIERS},
            sums={"tam": "potential"},
        )
        territory_rows = await uow.coverage.aggregate(
            "AE",
            where=[Cond("territory_id", "not_null")],
            group_by=("territory_id", "segment"),
            count="accounts",
            counts=icp_fit,
            sums={"tam": "potential"},
        )
        territory_names = await uow.coverage.territory_names({x["territory_id"] for x in territory_rows})
        avg_deal = await uow.equity.average_won_deal()
        rates = await tenant_win_rates(uow, f.settings)
    out_segments = []
    for x in sorted(segments, key=lambda x: (x["segment"] is None, x["segment"] or "")):
        key = Segment(x["segment"]) if x["segment"] else None
        win = rates.get(key) or rates.get(None)
        deal = avg_deal.get(x["segment"])
        out_segments.append(
            {
                "segment": x["segment"],
                "accounts": int(x["accounts"]),
                "icp_fit_accounts": int(x["icp_fit"] or 0),
                "tiers": {str(t): int(x[f"tier:{t}"] or 0) for t in TIERS},
                "tam": float(x["tam"]),
                "average_deal_size": deal,
                "win_rate": win.rate if win else f.settings.win_rates.default_win_rate,
                "win_rate_source": win.source if win else "default",
                "tap": None
                if deal is None
                else total_addressable_pipeline(
                    int(x["icp_fit"] or 0), deal, win.rate if win else f.settings.win_rates.default_win_rate
                ),
            }
        )
    rate_of = {x["segment"]: x["win_rate"] for x in out_segments}
    grouped: dict[Any, list[Any]] = {}
    for x in territory_rows:
        grouped.setdefault(x["territory_id"], []).append(x)
    out_territories = []
    for tid, rows in sorted(grouped.items(), key=lambda kv: territory_names.get(kv[0]) or ""):
        icp = {x["segment"]: int(x["icp_fit"] or 0) for x in rows}
        tap, missing = mixed_tap(icp, avg_deal, rate_of)
        out_territories.append(
            {
                "territory_id": tid,
                "territory_name": territory_names.get(tid),
                "accounts": sum(int(x["accounts"]) for x in rows),
                "icp_fit_accounts": sum(icp.values()),
                "tam": sum(float(x["tam"]) for x in rows),
                "tap": tap,
                "tap_missing_segments": missing,
            }
        )
    capacity = await capacity_service.capacity_report(ctx, p, None, None)
    model = f.settings.coverage_model
    schedule = review_schedule(f.now.date(), f.settings)
    tam = sum(x["tam"] for x in out_segments)
    plan, entries, equity_metrics = await _plan_sections(ctx, p, f.settings, schedule)
    return TerritoryPlanRead.model_validate(
        {
            "as_of": f.now,
            "settings_version": f.version,
            "header": {
                "prepared": f.now.date(),
                "planning_horizon": schedule[-1].period.split()[0],
                "plan_id": plan.id if plan else None,
                "plan_name": plan.name if plan else None,
                "total_sales_team": capacity.active_reps,
                "total_addressable_market": tam,
            },
            "segmentation": {
                "thresholds": {
                    "enterprise_min_revenue": f.settings.segments.enterprise_min_revenue,
                    "mid_market_min_revenue": f.settings.segments.mid_market_min_revenue,
                },
                "segments": out_segments,
                "territories": out_territories,
                "note": TAP_NOTE,
            },
            "coverage_model": {
                "tier_touches_per_sequence": {
                    "1": list(model.tier1_touches),
                    "2": list(model.tier2_touches),
                    "3": list(model.tier3_touches),
                },
                "sequence_window_days": f.settings.coverage.sequence_window_days,
                "segment_visits_per_year": {
                    "enterprise": list(model.enterprise_visits_per_year),
                    "mid_market": list(model.mid_market_visits_per_year),
                    "smb": list(model.smb_visits_per_year),
                },
                "accounts_per_rep": {
                    "enterprise": list(model.enterprise_accounts_per_rep),
                    "mid_market": list(model.mid_market_accounts_per_rep),
                    "smb": list(model.smb_accounts_per_rep),
                },
                "hours_per_touch": model.hours_per_touch,
                "proactive_max_tier": model.proactive_max_tier,
            },
            "capacity": capacity,
            "assignments": entries,
            "equity_metrics": equity_metrics,
            "rebalancing_schedule": {
                "cadence": f.settings.reviews.cadence,
                "fiscal_year_start_month": f.settings.reviews.fiscal_year_start_month,
                "reviews": [asdict(r) for r in schedule],
            },
        }
    )


def _boundary_text(boundary: dict[str, Any]) -> str:
    named = len(boundary.get("named_accounts") or [])
    if not boundary.get("rules"):
        return f"{named} named accounts"
    words = describe_boundary(boundary)
    return f"{words} ({named} named)" if named else words


def _rep(rep: Rep | None) -> dict[str, Any] | None:
    if rep is None:
        return None
    return {"rep_id": rep.id, "name": rep.name, "role": rep.role.value, "ramp_status": rep.ramp_status.value}


async def _plan_sections(
    ctx: AppContext, p: Principal, settings: TenantSettings, schedule: tuple[Review, ...]
) -> tuple[Plan | None, list[dict[str, Any]], dict[str, Any] | None]:
    """The active plan's territory entries (the assignments with the plan template) and its
    equity metrics, read from the plan's equity (the same answer as GET /v1/plans/{id}/equity)."""
    async with ctx.uow(p.tenant_id) as uow:
        plan = await uow.plans.active()
        if plan is None:
            return None, [], None
        territories = await uow.territories.list({"plan_id": plan.id}, None, MAX_LISTED_ACCOUNTS)
        rep_ids = {r for t in territories for r in (t.primary_rep_id, t.backup_rep_id) if r}
        reps = {r.id: r for r in await uow.reps.get_many(list(rep_ids))}
    plan_equity = await equity_service.plan_equity(ctx, p, plan.id, "AE")
    books = {b.key: b for b in plan_equity.by_territory.books}
    model, window = settings.coverage_model, settings.coverage.sequence_window_days
    activity = (
        f"{model.tier1_touches[0]}-{model.tier1_touches[1]} touches across {window} days (one sequence)"
    )
    entries = []
    for t in sorted(territories, key=lambda t: t.name):
        book = books.get(t.id)
        entries.append(
            {
                "territory_id": t.id,
                "name": t.name,
                "type": t.type.value,
                "boundary": t.boundary,
                "boundary_text": _boundary_text(t.boundary),
                "priority": t.priority,
                "owner": _rep(reps.get(t.primary_rep_id)) if t.primary_rep_id else None,
                "backup": _rep(reps.get(t.backup_rep_id)) if t.backup_rep_id else None,
                "accounts": book.accounts if book else 0,
                "tiers": book.tiers if book else {str(x): 0 for x in TIERS},
                "quota": t.quota,
                "potential": book.potential if book else 0.0,
                "potential_vs_mean": book.potential_vs_mean if book else None,
                "suggested_quota": book.suggested_quota if book else [0.0, 0.0],
                "pipeline": book.pipeline if book else 0.0,
                "tier1_target_activity": activity,
                "weekly_pipeline_target": t.weekly_pipeline_target,
                "meeting_rate_target": t.meeting_rate_target,
                "quarterly_review_date": t.quarterly_review_date,
                "next_review_date": t.quarterly_review_date
                or (schedule[0].review_date if schedule else None),
                "escalation_policy": t.escalation_policy,
            }
        )
    return plan, entries, _equity_metrics(plan_equity, settings)


def _equity_metrics(e: PlanEquityRead, settings: TenantSettings) -> dict[str, Any]:
    """The equity lines from the plan's equity: averages and ranges per rep, the territories
    furthest above and below the mean, and whether a rebalance is needed with what to look at."""
    rep, ter = e.by_rep, e.by_territory
    band = settings.equity.balance_potential_band
    ranked = sorted(
        (b for b in ter.books if b.key is not None and b.potential_vs_mean is not None),
        key=lambda b: b.potential_vs_mean or 0.0,
    )

    def label(b: Any) -> dict[str, Any] | None:
        return (
            {"territory_id": b.key, "name": b.name, "potential_vs_mean": b.potential_vs_mean} if b else None
        )

    statuses = (rep.potential.status, rep.quota.status, ter.potential.status, ter.quota.status)
    needed = "rebalance" in statuses or bool(rep.overloaded or rep.underloaded)
    return {
        "reps": len(rep.books),
        "average_quota_per_rep": rep.quota.mean,
        "quota_low": rep.quota.lowest,
        "quota_high": rep.quota.highest,
        "quota_spread": rep.quota.spread,
        "quota_status": rep.quota.status,
        "average_potential_per_rep": rep.potential.mean,
        "potential_low": rep.potential.lowest,
        "potential_high": rep.potential.highest,
        "potential_spread": rep.potential.spread,
        "potential_status": rep.potential.status,
        "balance_band": band,
        "rebalance_above": settings.equity.quota_spread_rebalance,
        "highest_territory": label(ranked[-1]) if ranked else None,
        "lowest_territory": label(ranked[0]) if ranked else None,
        "rebalancing_needed": needed,
        "actions": list(dict.fromkeys([*rep.flags, *ter.flags])) if needed else [],
        "per_rep": [
            {
                "rep_id": b.key,
                "rep_name": b.name,
                "accounts": b.accounts,
                "potential": b.potential,
                "quota": b.quota,
                "potential_vs_mean": b.potential_vs_mean,
                "in_band": None if b.potential_vs_mean is None else abs(b.potential_vs_mean) <= band,
                "load": b.load,
                "load_flag": b.load_flag,
            }
            for b in rep.books
        ],
    }


# --- the dispute log (docs/domain.md, "Dispute log") -----------------------------------------------------


class DisputeLogRow(BaseModel):
    dispute_id: UUID
    account_id: UUID
    account_external_id: str
    account_name: str
    role: Role
    basis: ClaimBasis = Field(description="the kind of claim: what the claimant says gives them the account")
    claimant_rep_id: UUID
    claimant_name: str
    owner_rep_id: UUID | None = Field(description="the owner of record when the dispute was opened")
    owner_name: str | None
    state: DisputeState
    opened_at: datetime
    due_on: date = Field(description="the deadline the dispute was opened with")
    decided_at: datetime | None
    business_days_to_decision: int | None = Field(
        description="business days after the opening day up to the decision's, on the tenant's calendar now"
    )
    timeliness: Timeliness = Field(
        description="on_time or late against due_on; overdue or pending while open; withdrawn undecided"
    )
    rule: str = Field(description="the code of the policy's rule that decided the proposal")
    overridden: bool | None = Field(
        description="the decider gave the account to another rep; null: undecided"
    )
    decided_owner_name: str | None


class DisputeRuleRead(BaseModel):
    rule: str
    decisions: int
    confirmed: int
    overridden: int


class DisputeLogSummaryRead(BaseModel):
    disputes: int
    by_state: dict[str, int]
    by_timeliness: dict[str, int]
    decided: int = Field(description="disputes with a decision (applied or withdrawn later ones too)")
    median_business_days: float | None = Field(description="business days to decision, median")
    p90_business_days: float | None = Field(description="business days to decision, 90th percentile")
    on_time_share: float | None = Field(description="decided by their deadline / decided")
    overrides: int
    by_rule: list[DisputeRuleRead] = Field(description="decisions by the rule that proposed them, most first")


class DisputeLogRead(BaseModel):
    """The dispute log: each dispute opened in the period against its deadline, and the summary."""

    as_of: datetime
    since: date | None = Field(description="disputes opened on or after this day")
    until: date | None = Field(description="disputes opened on or before this day")
    summary: DisputeLogSummaryRead = Field(description="over every dispute of the period")
    listed: int = Field(description=f"disputes listed: the first {MAX_LISTED_ACCOUNTS:,} of the period")
    disputes: list[DisputeLogRow] = Field(description="oldest first")


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(), tzinfo=UTC)


async def dispute_log(
    ctx: AppContext, p: Principal, since: date | None = None, until: date | None = None
) -> DisputeLogRead:
    """Every dispute opened in [since, until] (days, UTC): its deadline, how many business days its
    decision took and whether that was on time, the rule that proposed it and whether it was overridden;
    the summary counts states, timeliness and decisions by rule, with the median and 90th percentile of
    business days to decision."""
    p.require(Scope.READ)
    if since is not None and until is not None and until < since:
        raise ValidationFailed(
            "until is before since", [FieldError("until", Code.BAD_RANGE, "on or after since")]
        )
    now = ctx.clock.now()
    async with ctx.uow(p.tenant_id) as uow:
        calendar = tenant_calendar(await tenant_settings(uow))
        rows = await uow.disputes.log(
            _midnight(since), _midnight(until + timedelta(days=1) if until and until < date.max else None)
        )
    out, entries = [], []
    for row in rows:
        state = DisputeState(row["state"])
        decided_on = row["decided_at"].date() if row["decided_at"] else None
        days = business_days_between(row["opened_at"].date(), decided_on, calendar) if decided_on else None
        when = timeliness(state, row["due_on"], decided_on, now.date())
        overridden = None if decided_on is None else bool(row["overridden"])
        entries.append(LogEntry(state, when, days, row["rule"], overridden))
        if len(out) < MAX_LISTED_ACCOUNTS:
            out.append(
                dict(row)
                | {
                    "dispute_id": row["id"],
                    "business_days_to_decision": days,
                    "timeliness": when,
                    "overridden": overridden,
                }
            )
    summary = summarise_log(entries)
    return DisputeLogRead.model_validate(
        {
            "as_of": now,
            "since": since,
            "until": until,
            "summary": asdict(summary),
            "listed": len(out),
            "disputes": out,
        }
    )
