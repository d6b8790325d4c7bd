"""Reports (DOMAIN.md section 9): the coverage review (seed 000 'the artifact'), weekly territory metrics
(seed 004), and the segmentation and capacity sections of the territory plan (seed 003 'Output Format').

Each is a handful of aggregate queries over the tenant, with the rules compiled from the domain.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from api.services import capacity as capacity_service
from api.services.capacity import CapacityRead
from api.services.context import AppContext, Principal
from api.services.coverage import filters, frame
from api.services.scoring import tenant_win_rates
from domain.coverage import OVERVIEW, actively_managed, covered, review_lists, whitespace
from domain.criteria import Cond, all_of
from domain.metrics import WeekTally, rate, week_of, weekly_metric
from domain.model import Segment, Stage
from domain.quarterly_review import Book, Results, performance, quarter_of
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
    open_pipeline: float | None
    last_worked_at: datetime | None = Field(description="the latest meaningful touch; null: never worked")
    last_worked_by_rep_id: UUID | None = Field(description="the rep who made that touch")
    last_worked_by: str | None = Field(description="that rep's name")
    actively_managed: bool = Field(
        description="worked within coverage.expansion_managed_days (seed 000: is the account team "
        "actively managing the relationship?)"
    )


class ExpansionPipelineRead(BaseModel):
    managed_window_days: int = Field(description="coverage.expansion_managed_days")
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
    """Seed 004: five metrics a week for each rep's territory, by tier."""

    as_of: datetime
    role: str
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
    """Seed 000's quarterly review: territory performance against quota (target, achieved, why) and
    account-level conversion, per rep and per territory."""

    as_of: datetime
    role: str
    settings_version: int
    quarter: str
    quarter_start: date
    quarter_end: date = Field(description="the day after the quarter")
    quota_period: str = Field(description="equity.quota_period: annual (target = quota / 4) or quarterly")
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
    """Seed 000's template: territory overview, coverage by rep (accounts by stage and tier), the monthly
    review questions (count and the highest-potential accounts of each), and the expansion pipeline."""
    async with ctx.uow(p.tenant_id) as uow:
        f = await frame(ctx, uow, p, role)
        lists = review_lists(f.settings.coverage, f.now)
        scope = filters(None, rep_id, territory_id)
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
            counts={"covered": covered(f.settings.coverage, f.now)}
            | {f"stage:{st}": Cond("stage", "eq", st) for st in STAGES}
            | {f"tier:{t}": Cond("tier", "eq", t) for t in TIERS}
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
    return CoverageReviewRead.model_validate(
        {
            "as_of": f.now,
            "role": role,
            "settings_version": f.version,
            "overview": {k: int(v or 0) for k, v in overview.items()},
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
    """Seed 004's five weekly metrics per rep's book and tier: accounts worked, sequence completion, reply
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
    """Seed 000's quarterly review of one quarter ('YYYY-QN', the current one by default): per rep and per
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
    """Seed 003's plan, the sections this version computes: market segmentation (accounts, ICP fit, tiers,
    TAM and TAP per segment) and the coverage model with capacity. Assignments, equity metrics and the
    rebalancing schedule are not computed yet (the assignment engine)."""
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
    return TerritoryPlanRead.model_validate(
        {
            "as_of": f.now,
            "settings_version": f.version,
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
                "tier_touches_per_quarter": {
                    "1": list(f.settings.coverage_model.tier1_touches),
                    "2": list(f.settings.coverage_model.tier2_touches),
                    "3": list(f.settings.coverage_model.tier3_touches),
                },
                "hours_per_touch": f.settings.coverage_model.hours_per_touch,
                "proactive_max_tier": f.settings.coverage_model.proactive_max_tier,
            },
            "capacity": capacity,
            "pending_sections": ["assignments", "equity_metrics", "rebalancing_schedule"],
        }
    )
