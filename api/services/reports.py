"""Reports (DOMAIN.md section 9): the coverage review (seed 000 'the artifact'), weekly territory metrics
(seed 004), and the segmentation and capacity sections of the territory plan (seed 003 'Output Format').

Each is a handful of aggregate queries over the tenant, with the rules compiled from the domain.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from pydantic import BaseModel, Field

from api.services import capacity as capacity_service
from api.services.capacity import CapacityRead
from api.services.context import AppContext, Principal
from api.services.coverage import filters, frame, names
from api.services.equity import average_won_deal
from api.services.scoring import tenant_win_rates
from domain.coverage import OVERVIEW, covered, review_lists, whitespace
from domain.criteria import Cond
from domain.metrics import rate, sequence_target
from domain.model import (
    Segment,
    Stage,
)
from domain.scoring import mixed_tap, total_addressable_pipeline
from persistence import coverage as store


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


STAGES = [s.value for s in Stage]


async def coverage_review(
    ctx: AppContext,
    p: Principal,
    role: str = "AE",
    rep_id: UUID | None = None,
    territory_id: UUID | None = None,
    limit: int = 20,
) -> dict[str, Any]:
    """Seed 000's template: territory overview, coverage by rep (accounts by stage and tier), the monthly
    review questions (count and the highest-potential accounts of each), and the expansion pipeline."""
    f = await frame(ctx, p, role)
    r = f.rows
    lists = review_lists(f.settings.coverage, f.now)
    scope = filters(f, None, rep_id, territory_id)
    overview_cols = [sa.func.count().label("total_named_accounts")]
    overview_cols += [r.count_case(Cond("stage", "in", stages), name) for name, stages in OVERVIEW.items()]
    overview_cols.append(r.count_case(whitespace(), "whitespace"))
    per_rep = [
        sa.func.count().label("accounts"),
        r.count_case(covered(f.settings.coverage, f.now), "covered"),
        *(r.count_case(Cond("stage", "eq", st), f"stage:{st}") for st in STAGES),
        *(r.count_case(Cond("tier", "eq", t), f"tier:{t}") for t in (1, 2, 3)),
        *(r.count_case(rule.holds, f"list:{name}") for name, rule in lists.items()),
    ]
    brief = [
        r.fields[k].label(k) for k in ("account_id", "external_id", "name", "stage", "tier", "potential")
    ]
    async with ctx.engine.connect() as conn:
        overview = (await conn.execute(r.select(*overview_cols).where(*scope))).mappings().one()
        reps = (
            (
                await conn.execute(
                    r.select(r.fields["rep_id"].label("rep_id"), *per_rep)
                    .where(*scope)
                    .group_by(r.fields["rep_id"])
                )
            )
            .mappings()
            .all()
        )
        questions = []
        for name, rule in lists.items():
            stmt = (
                r.select(*brief, r.fields["rep_id"].label("rep_id"))
                .where(*scope, r.compile(rule.holds))
                .order_by(r.fields["potential"].desc().nulls_last(), r.fields["account_id"])
                .limit(limit)
            )
            top = [dict(x) for x in (await conn.execute(stmt)).mappings()]
            count = sum(int(x[f"list:{name}"] or 0) for x in reps)
            questions.append({"name": name, "why": rule.message, "count": count, "accounts": top})
        expansion = lists["expansion"].holds
        exp_stmt = (
            r.select(
                *brief,
                r.fields["expansion_estimate"].label("expansion_estimate"),
                r.fields["open_pipeline"].label("open_pipeline"),
                r.fields["rep_id"].label("rep_id"),
            )
            .where(*scope, r.compile(expansion))
            .order_by(r.fields["expansion_estimate"].desc(), r.fields["account_id"])
            .limit(limit)
        )
        exp_rows = [dict(x) for x in (await conn.execute(exp_stmt)).mappings()]
        exp_total = (
            await conn.execute(
                r.select(
                    sa.func.count(), sa.func.coalesce(sa.func.sum(r.fields["expansion_estimate"]), 0.0)
                ).where(*scope, r.compile(expansion))
            )
        ).one()
        rep_names, _ = await names(conn, p.tenant_id, [x["rep_id"] for x in reps if x["rep_id"]], [])
    for row in (*exp_rows, *(a for q in questions for a in q["accounts"])):
        row["rep_name"] = rep_names.get(row["rep_id"])
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
                "by_tier": {str(t): int(x[f"tier:{t}"] or 0) for t in (1, 2, 3)},
                "lists": {name: int(x[f"list:{name}"] or 0) for name in lists},
            }
        )
    return {
        "as_of": f.now,
        "role": role,
        "settings_version": f.version,
        "overview": {k: int(v or 0) for k, v in overview.items()},
        "coverage_by_rep": by_rep,
        "monthly_questions": questions,
        "expansion_pipeline": {
            "accounts": int(exp_total[0]),
            "expansion_estimate": float(exp_total[1]),
            "top": exp_rows,
        },
    }


async def weekly_metrics(
    ctx: AppContext, p: Principal, week_start: date | None = None, role: str = "AE"
) -> dict[str, Any]:
    """Seed 004's five weekly metrics per rep's book and tier: accounts worked, sequence completion, reply
    rate, meeting rate, pipeline created. The week is [week_start, week_start + 7 days), Monday by default."""
    f = await frame(ctx, p, role)
    today = f.now.date()
    start_day = week_start or today - timedelta(days=today.weekday())
    start = datetime(start_day.year, start_day.month, start_day.day, tzinfo=UTC)
    end = start + timedelta(days=7)
    seq_from = end - timedelta(days=f.settings.coverage.sequence_window_days)
    cov = f.settings.coverage
    a = store.ACTIVITIES.c
    meeting = a.kind.in_(list(cov.meeting_kinds))
    week = (
        sa.select(
            a.account_id,
            sa.func.count().label("touches"),
            sa.func.max(sa.case((a.direction == "inbound", 1), else_=0)).label("replied"),
            sa.func.max(sa.case((meeting, 1), else_=0)).label("met"),
        )
        .where(
            a.tenant_id == p.tenant_id, a.occurred_at >= start, a.occurred_at < end, a.occurred_at <= f.now
        )
        .group_by(a.account_id)
        .subquery("week")
    )
    seq = (
        sa.select(a.account_id, sa.func.count().label("sequence_touches"))
        .where(
            a.tenant_id == p.tenant_id, a.occurred_at >= seq_from, a.occurred_at < end, a.occurred_at <= f.now
        )
        .group_by(a.account_id)
        .subquery("seq")
    )
    r = f.rows
    tier, rep = r.fields["tier"], r.fields["rep_id"]
    target = sa.case(
        *((tier == t, sequence_target(t, f.settings.coverage_model)) for t in (1, 2)),
        else_=sequence_target(3, f.settings.coverage_model),
    )
    stmt = (
        sa.select(
            rep.label("rep_id"),
            tier.label("tier"),
            sa.func.count().label("worked"),
            sa.func.sum(week.c.touches).label("touches"),
            sa.func.sum(week.c.replied).label("replied"),
            sa.func.sum(week.c.met).label("met"),
            sa.func.sum(sa.case((sa.func.coalesce(seq.c.sequence_touches, 0) >= target, 1), else_=0)).label(
                "completed"
            ),
        )
        .select_from(
            r.from_.join(week, week.c.account_id == r.fields["account_id"]).outerjoin(
                seq, seq.c.account_id == r.fields["account_id"]
            )
        )
        .where(*r.scope)
        .group_by(rep, tier)
    )
    o = store.OPPORTUNITIES.c
    pipe = (
        sa.select(
            rep.label("rep_id"),
            tier.label("tier"),
            sa.func.count().label("n"),
            sa.func.sum(o.amount).label("amount"),
        )
        .select_from(r.from_.join(store.OPPORTUNITIES, o.account_id == r.fields["account_id"]))
        .where(*r.scope, o.created_on >= start_day, o.created_on < start_day + timedelta(days=7))
        .group_by(rep, tier)
    )
    totals_stmt = r.select(rep.label("rep_id"), tier.label("tier"), sa.func.count().label("n")).group_by(
        rep, tier
    )
    async with ctx.engine.connect() as conn:
        worked = {(x.rep_id, x.tier): x for x in await conn.execute(stmt)}
        pipeline = {(x.rep_id, x.tier): x for x in await conn.execute(pipe)}
        books = {(x.rep_id, x.tier): int(x.n) for x in await conn.execute(totals_stmt)}
        rep_names, _ = await names(conn, p.tenant_id, [k[0] for k in books if k[0]], [])
    rows = []
    for key in sorted(
        books, key=lambda k: (k[0] is None, rep_names.get(k[0]) or "", k[1] is None, k[1] or 0)
    ):
        w, pl = worked.get(key), pipeline.get(key)
        n_worked = int(w.worked) if w else 0
        rows.append(
            {
                "rep_id": key[0],
                "rep_name": rep_names.get(key[0]),
                "tier": key[1],
                "accounts": books[key],
                "accounts_worked": n_worked,
                "touches": int(w.touches) if w else 0,
                "sequence_target": sequence_target(key[1] or 3, f.settings.coverage_model),
                "sequence_completed": int(w.completed) if w else 0,
                "sequence_completion_rate": rate(int(w.completed) if w else 0, n_worked),
                "reply_rate": rate(int(w.replied) if w else 0, n_worked),
                "meeting_rate": rate(int(w.met) if w else 0, n_worked),
                "pipeline_created": float(pl.amount) if pl else 0.0,
                "opportunities_created": int(pl.n) if pl else 0,
            }
        )
    return {
        "as_of": f.now,
        "role": role,
        "settings_version": f.version,
        "week_start": start_day,
        "week_end": start_day + timedelta(days=7),
        "rows": rows,
    }


async def territory_plan(ctx: AppContext, p: Principal) -> dict[str, Any]:
    """Seed 003's plan, the sections this version computes: market segmentation (accounts, ICP fit, tiers,
    TAM and TAP per segment) and the coverage model with capacity. Assignments, equity metrics and the
    rebalancing schedule are not computed yet (the assignment engine)."""
    f = await frame(ctx, p, "AE")
    r = f.rows
    seg = r.fields["segment"]
    stmt = r.select(
        seg.label("segment"),
        sa.func.count().label("accounts"),
        r.count_case(Cond("icp_fit", "eq", True), "icp_fit"),
        sa.func.coalesce(sa.func.sum(r.fields["potential"]), 0.0).label("tam"),
        *(r.count_case(Cond("tier", "eq", t), f"tier:{t}") for t in (1, 2, 3)),
    ).group_by(seg)
    territory = r.fields["territory_id"]
    by_territory = (
        r.select(
            territory.label("territory_id"),
            seg.label("segment"),
            sa.func.count().label("accounts"),
            r.count_case(Cond("icp_fit", "eq", True), "icp_fit"),
            sa.func.coalesce(sa.func.sum(r.fields["potential"]), 0.0).label("tam"),
        )
        .where(territory.is_not(None))
        .group_by(territory, seg)
    )
    async with ctx.engine.connect() as conn:
        segments = (await conn.execute(stmt)).mappings().all()
        territory_rows = (await conn.execute(by_territory)).mappings().all()
        _, territory_names = await names(conn, p.tenant_id, [], {x["territory_id"] for x in territory_rows})
        avg_deal = await average_won_deal(conn, p.tenant_id)
        rates = await tenant_win_rates(conn, p.tenant_id, f.settings)
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
                "tiers": {str(t): int(x[f"tier:{t}"] or 0) for t in (1, 2, 3)},
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
    return {
        "as_of": f.now,
        "settings_version": f.version,
        "segmentation": {
            "thresholds": {
                "enterprise_min_revenue": f.settings.segments.enterprise_min_revenue,
                "mid_market_min_revenue": f.settings.segments.mid_market_min_revenue,
            },
            "segments": out_segments,
            "territories": out_territories,
            "note": "TAP = ICP-fit accounts x average won deal x win rate (seed 001); TAM is the sum of "
            "potential, shown beside it and never used for balancing; TAP is null without won deals",
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
