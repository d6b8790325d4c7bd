"""Seed reports: the coverage review, weekly metrics per rep and tier, the territory plan."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import strawberry
from strawberry.types import Info

from api.graphql.common import call, output_type
from api.graphql.coverage import check_limit
from api.services import reports as service
from domain import model

ReportAccount = output_type(service.ReportAccountRead, "ReportAccount")
ReviewQuestion = output_type(service.ReviewQuestionRead, "ReviewQuestion")
RepBook = output_type(service.RepBookRead, "RepBook")
ExpansionAccount = output_type(service.ExpansionAccountRead, "ExpansionAccount")
ExpansionPipeline = output_type(service.ExpansionPipelineRead, "ExpansionPipeline")
CoverageReview = output_type(service.CoverageReviewRead, "CoverageReview")
WeeklyMetricsRow = output_type(service.WeeklyMetricsRow, "WeeklyMetricsRow")
WeeklyMetrics = output_type(service.WeeklyMetricsRead, "WeeklyMetrics")
QuarterPerformance = output_type(service.QuarterPerformanceRead, "QuarterPerformance")
QuarterlyReview = output_type(service.QuarterlyReviewRead, "QuarterlyReview")
SegmentPlan = output_type(service.SegmentPlanRead, "SegmentPlan")
TerritoryTap = output_type(service.TerritoryTapRead, "TerritoryTap")
Segmentation = output_type(service.SegmentationRead, "Segmentation")
CoverageModelPlan = output_type(service.CoverageModelPlanRead, "CoverageModelPlan")
PlanHeader = output_type(service.PlanHeaderRead, "PlanHeader")
PlanRep = output_type(service.PlanRepRead, "PlanRep")
TerritoryEntry = output_type(service.TerritoryEntryRead, "TerritoryEntry")
RepPotential = output_type(service.RepPotentialRead, "RepPotential")
TerritoryEquityLabel = output_type(service.TerritoryEquityLabel, "TerritoryEquityLabel")
EquityMetrics = output_type(service.EquityMetricsRead, "EquityMetrics")
Review = output_type(service.ReviewRead, "Review")
RebalancingSchedule = output_type(service.RebalancingScheduleRead, "RebalancingSchedule")
TerritoryPlan = output_type(service.TerritoryPlanRead, "TerritoryPlan")
DisputeLogRow = output_type(service.DisputeLogRow, "DisputeLogRow")
DisputeRuleDecisions = output_type(service.DisputeRuleRead, "DisputeRuleDecisions")
DisputeLogSummary = output_type(service.DisputeLogSummaryRead, "DisputeLogSummary")
DisputeLog = output_type(service.DisputeLogRead, "DisputeLog")


@strawberry.type
class Query:
    @strawberry.field(description="The coverage review: overview, by rep, questions, expansion")
    async def coverage_review(
        self,
        info: Info,
        role: model.Role = model.Role.AE,
        rep_id: UUID | None = None,
        territory_id: UUID | None = None,
        limit: int = 20,
    ) -> CoverageReview:  # type: ignore[valid-type]
        c = info.context
        check_limit(limit)
        return await call(
            service.coverage_review(c.ctx, c.principal, role.value, rep_id, territory_id, limit)
        )

    @strawberry.field(description="The weekly metrics per rep and tier")
    async def weekly_metrics(
        self, info: Info, week_start: date | None = None, role: model.Role = model.Role.AE
    ) -> WeeklyMetrics:  # type: ignore[valid-type]
        c = info.context
        return await call(service.weekly_metrics(c.ctx, c.principal, week_start, role.value))

    @strawberry.field(description="The quarterly review: target, achieved, attainment, conversion, why")
    async def quarterly_review(
        self, info: Info, quarter: str | None = None, role: model.Role = model.Role.AE
    ) -> QuarterlyReview:  # type: ignore[valid-type]
        c = info.context
        return await call(service.quarterly_review(c.ctx, c.principal, quarter, role.value))

    @strawberry.field(
        description="The territory plan: segmentation, coverage model, capacity, territories, equity "
        "metrics and the rebalancing schedule"
    )
    async def territory_plan(self, info: Info) -> TerritoryPlan:  # type: ignore[valid-type]
        c = info.context
        return await call(service.territory_plan(c.ctx, c.principal))

    @strawberry.field(
        description="The dispute log: each dispute opened in the period (days, UTC) against its deadline, "
        "with the summary"
    )
    async def dispute_log(
        self, info: Info, since: date | None = None, until: date | None = None
    ) -> DisputeLog:  # type: ignore[valid-type]
        c = info.context
        return await call(service.dispute_log(c.ctx, c.principal, since, until))
