"""Reports as JSON or CSV: coverage review, weekly territory metrics, the territory plan; the coverage review
and the territory plan also as printable HTML pages."""

from __future__ import annotations

import enum
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, problem_responses
from api.rest.printable import coverage_review_page, territory_plan_page
from api.rest.tabular import CSV_CONTENT, HTML_CONTENT, Format, add_format_route, csv_response, flatten
from api.services import reports as service
from api.services.common import IsoDate
from api.services.reports import (
    CoverageReviewRead,
    DisputeLogRead,
    DisputeLogRow,
    QuarterlyReviewRead,
    QuarterPerformanceRead,
    TerritoryPlanRead,
    WeeklyMetricsRead,
)
from domain.model import Role

router = APIRouter(prefix="/v1/reports", tags=["reports"])
RESPONSES = problem_responses(*AUTH_ERRORS)
# `?format=` stays for curl and browsers; the contract names the .csv / .html operations instead, so that a
# generated client reads each answer as its one media type (docs/http.md, "Generated clients")
FormatQ = Annotated[
    Format, Query(description="json, or csv (section, item, metric, value rows)", include_in_schema=False)
]


class PrintableFormat(enum.StrEnum):
    """The formats of a report that also prints: json, csv, html (a page with its charts)."""

    JSON = "json"
    CSV = "csv"
    HTML = "html"


PRINTABLE = problem_responses(*AUTH_ERRORS)


@router.get(
    "/coverage-review",
    name="get_coverage_review",
    response_model=CoverageReviewRead,
    summary="The coverage review: overview, coverage by tier against its target, coverage by rep, monthly "
    "questions, expansion pipeline",
    responses=PRINTABLE,
)
async def get_coverage_review(
    p: PrincipalDep,
    ctx: CtxDep,
    role: Role = Role.AE,
    rep_id: UUID | None = None,
    territory_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500, description="accounts listed per question")] = 20,
    format: Annotated[
        PrintableFormat,
        Query(
            description="json; csv (section, item, metric, value rows); html (a printable page: the chart of "
            "coverage by tier against its target and the tables)",
            include_in_schema=False,
        ),
    ] = PrintableFormat.JSON,
) -> Any:
    report = await service.coverage_review(ctx, p, role.value, rep_id, territory_id, limit)
    if format == PrintableFormat.CSV:
        return csv_response(
            ["section", "item", "metric", "value"], flatten(report.model_dump()), "coverage-review"
        )
    if format == PrintableFormat.HTML:
        return HTMLResponse(coverage_review_page(report))
    return report


@router.get(
    "/weekly-metrics",
    name="get_weekly_metrics",
    response_model=WeeklyMetricsRead,
    summary="The weekly metrics per rep and tier: worked, sequences, replies, meetings, pipeline",
    responses=RESPONSES,
)
async def get_weekly_metrics(
    p: PrincipalDep,
    ctx: CtxDep,
    week_start: Annotated[
        IsoDate | None, Query(description="first day of the week; this week's Monday if absent")
    ] = None,
    role: Role = Role.AE,
    format: FormatQ = Format.JSON,
) -> Any:
    report = await service.weekly_metrics(ctx, p, week_start, role.value)
    if format == Format.CSV:
        columns = list(WeeklyMetricsRead.model_fields["rows"].annotation.__args__[0].model_fields)  # type: ignore
        return csv_response(columns, [row.model_dump() for row in report.rows], "weekly-metrics")
    return report


QUARTER_COLUMNS = ["dimension", *(c for c in QuarterPerformanceRead.model_fields)]


@router.get(
    "/quarterly-review",
    name="get_quarterly_review",
    response_model=QuarterlyReviewRead,
    summary="The quarterly review: target, achieved, attainment, conversion and why, per rep and territory",
    responses=problem_responses(422, *AUTH_ERRORS),
)
async def get_quarterly_review(
    p: PrincipalDep,
    ctx: CtxDep,
    quarter: Annotated[
        str | None,
        Query(
            pattern=r"^[1-9]\d{3}-Q[1-4]$", description="YYYY-QN, e.g. 2026-Q4; the current quarter if absent"
        ),
    ] = None,
    role: Role = Role.AE,
    format: FormatQ = Format.JSON,
) -> Any:
    report = await service.quarterly_review(ctx, p, quarter, role.value)
    if format == Format.CSV:
        rows = [{"dimension": "total"} | report.total.model_dump()]
        for dim in ("by_rep", "by_territory"):
            rows += [{"dimension": dim[3:]} | x.model_dump() for x in getattr(report, dim)]
        return csv_response(QUARTER_COLUMNS, rows, f"quarterly-review-{report.quarter}")
    return report


@router.get(
    "/territory-plan",
    name="get_territory_plan",
    response_model=TerritoryPlanRead,
    summary="The territory plan: segmentation, coverage model and capacity, the active plan's "
    "territories (the plan template), equity metrics, the rebalancing schedule",
    responses=PRINTABLE,
)
async def get_territory_plan(
    p: PrincipalDep,
    ctx: CtxDep,
    format: Annotated[
        PrintableFormat,
        Query(
            description="json; csv (section, item, metric, label, value rows); html (a printable page: the "
            "chart of potential per rep against the balance band and the tables)",
            include_in_schema=False,
        ),
    ] = PrintableFormat.JSON,
) -> Any:
    report = await service.territory_plan(ctx, p)
    if format == PrintableFormat.CSV:
        return csv_response(
            ["section", "item", "metric", "label", "value"], flatten(report.model_dump()), "territory-plan"
        )
    if format == PrintableFormat.HTML:
        return HTMLResponse(territory_plan_page(report))
    return report


@router.get(
    "/dispute-log",
    name="get_dispute_log",
    response_model=DisputeLogRead,
    summary="The dispute log: each dispute against its deadline, business days to decision, the deciding "
    "rule and overrides, with a summary (csv: one row a dispute)",
    responses=problem_responses(422, *AUTH_ERRORS),
)
async def get_dispute_log(
    p: PrincipalDep,
    ctx: CtxDep,
    since: Annotated[IsoDate | None, Query(description="disputes opened on or after this day (UTC)")] = None,
    until: Annotated[IsoDate | None, Query(description="disputes opened on or before this day (UTC)")] = None,
    format: Annotated[
        Format, Query(description="json, or csv (one row a dispute)", include_in_schema=False)
    ] = Format.JSON,
) -> Any:
    report = await service.dispute_log(ctx, p, since, until)
    if format == Format.CSV:
        rows = [row.model_dump() for row in report.disputes]
        return csv_response(list(DisputeLogRow.model_fields), rows, "dispute-log")
    return report


for _endpoint in (
    get_coverage_review,
    get_weekly_metrics,
    get_quarterly_review,
    get_territory_plan,
    get_dispute_log,
):
    add_format_route(router, _endpoint, "csv", CSV_CONTENT)
for _endpoint in (get_coverage_review, get_territory_plan):
    add_format_route(router, _endpoint, "html", HTML_CONTENT)
