"""Coverage tracking: the coverage report, accounts and why they fail, overlaps, a rep's monthly review."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response

from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, problem_responses
from api.rest.tabular import CSV_CONTENT, Format, add_format_route, csv_response
from api.services import coverage as service
from api.services.coverage import (
    AccountCoverageItem,
    AccountCoverageRead,
    CoveragePage,
    CoverageRefreshRead,
    CoverageReportRead,
    OverlapPage,
    RepReviewRead,
)
from domain.coverage import REVIEW_LISTS, RULE_CODES
from domain.model import Role

router = APIRouter(prefix="/v1", tags=["coverage"])

ReasonCode = Literal[RULE_CODES]  # type: ignore[valid-type]
ReviewList = Literal[REVIEW_LISTS]  # type: ignore[valid-type]
RoleQ = Annotated[Role, Query(description="whose ownership counts: the owner of record for this role")]
TierQ = Annotated[int | None, Query(ge=1, le=3)]
PageSize = Annotated[int | None, Query(ge=1, le=500)]
# `?format=` stays for curl; the contract names the .csv operations (docs/http.md, "Generated clients")
FormatQ = Annotated[Format, Query(description="json, or csv for a spreadsheet", include_in_schema=False)]
ITEM_COLUMNS = list(AccountCoverageItem.model_fields)
BUCKET_COLUMNS = ["accounts", "covered", "rate", "target", "meets_target", "failing"]


def _csv_items(page: CoveragePage, filename: str) -> Response:
    rows = [i.model_dump() | {"reasons": [r.code for r in i.reasons]} for i in page.items]
    return csv_response(ITEM_COLUMNS, rows, filename)


@router.get(
    "/coverage",
    name="get_coverage_report",
    response_model=CoverageReportRead,
    summary="Coverage rate by tier (against the targets), by rep and by territory, with failures by reason",
    responses=problem_responses(*AUTH_ERRORS),
)
async def get_coverage_report(
    p: PrincipalDep,
    ctx: CtxDep,
    role: RoleQ = Role.AE,
    tier: TierQ = None,
    rep_id: UUID | None = None,
    territory_id: UUID | None = None,
    format: FormatQ = Format.JSON,
) -> Any:
    report = await service.coverage_report(ctx, p, role.value, tier, rep_id, territory_id)
    if format == Format.CSV:
        data = report.model_dump()
        rows = [{"dimension": "total", "key": "", "label": "all accounts"} | data["total"]]
        for dim, key, label in (
            ("by_tier", "tier", "tier"),
            ("by_rep", "rep_id", "rep_name"),
            ("by_territory", "territory_id", "territory_name"),
        ):
            rows += [{"dimension": dim[3:], "key": b[key], "label": b[label]} | b for b in data[dim]]
        return csv_response(["dimension", "key", "label", *BUCKET_COLUMNS], rows, "coverage")
    return report


@router.get(
    "/coverage/accounts",
    name="list_coverage_accounts",
    response_model=CoveragePage,
    summary="Accounts with their coverage and why they fail; filter by rule, review list, tier, owner",
    responses=problem_responses(*AUTH_ERRORS),
)
async def list_coverage_accounts(
    p: PrincipalDep,
    ctx: CtxDep,
    role: RoleQ = Role.AE,
    covered: bool | None = None,
    tier: TierQ = None,
    rep_id: UUID | None = None,
    territory_id: UUID | None = None,
    reason: Annotated[ReasonCode | None, Query(description="a rule code: only accounts failing it")] = None,
    list: Annotated[
        ReviewList | None, Query(description="a monthly review list: only accounts on it")
    ] = None,  # noqa: A002
    page_size: PageSize = None,
    page_token: str | None = None,
    format: FormatQ = Format.JSON,
) -> Any:
    page = await service.coverage_accounts(
        ctx, p, role.value, covered, tier, rep_id, territory_id, reason, list, page_size, page_token
    )
    if format == Format.CSV:
        return _csv_items(page, "coverage-accounts")
    return page


@router.get(
    "/coverage/whitespace",
    name="list_whitespace",
    response_model=CoveragePage,
    summary="Whitespace: ICP-fit accounts that are not customers and have no open pipeline",
    responses=problem_responses(*AUTH_ERRORS),
)
async def list_whitespace(
    p: PrincipalDep,
    ctx: CtxDep,
    role: RoleQ = Role.AE,
    tier: TierQ = None,
    rep_id: UUID | None = None,
    territory_id: UUID | None = None,
    page_size: PageSize = None,
    page_token: str | None = None,
    format: FormatQ = Format.JSON,
) -> Any:
    page = await service.coverage_accounts(
        ctx, p, role.value, None, tier, rep_id, territory_id, None, "whitespace", page_size, page_token
    )
    if format == Format.CSV:
        return _csv_items(page, "whitespace")
    return page


@router.get(
    "/coverage/overlaps",
    name="list_overlaps",
    response_model=OverlapPage,
    summary="Accounts touched by two or more reps of the same role within the overlap window",
    responses=problem_responses(*AUTH_ERRORS),
)
async def list_overlaps(
    p: PrincipalDep,
    ctx: CtxDep,
    role: Annotated[str | None, Query(description="only overlaps between reps of this role")] = None,
    page_size: PageSize = None,
    page_token: str | None = None,
) -> OverlapPage:
    return await service.overlap_report(ctx, p, role, page_size, page_token)


@router.get(
    "/accounts/{account_id}/coverage",
    name="get_account_coverage",
    response_model=AccountCoverageRead,
    summary="One account: covered or why not, who touched it, overlaps and the review lists it is on",
    responses=problem_responses(404, *AUTH_ERRORS),
)
async def get_account_coverage(
    account_id: UUID, p: PrincipalDep, ctx: CtxDep, role: RoleQ = Role.AE
) -> AccountCoverageRead:
    return await service.account_coverage(ctx, p, account_id, role.value)


@router.get(
    "/reps/{rep_id}/review",
    name="get_rep_review",
    response_model=RepReviewRead,
    summary="The monthly review lists of a rep, highest potential first",
    responses=problem_responses(404, *AUTH_ERRORS),
)
async def get_rep_review(
    rep_id: UUID,
    p: PrincipalDep,
    ctx: CtxDep,
    limit: Annotated[int, Query(ge=1, le=500, description="accounts shown per list")] = 50,
    format: FormatQ = Format.JSON,
) -> Any:
    review = await service.rep_review(ctx, p, rep_id, limit)
    if format == Format.CSV:
        columns = ["list", "why", *service.BRIEF_KEYS]
        rows = [
            {"list": lst.name, "why": lst.why} | a.model_dump() for lst in review.lists for a in lst.accounts
        ]
        return csv_response(columns, rows, "review")
    return review


@router.post(
    "/coverage/refresh",
    name="refresh_coverage",
    response_model=CoverageRefreshRead,
    summary="Recompute every coverage fact from the activities (admin; imports keep them current)",
    responses=problem_responses(*AUTH_ERRORS),
)
async def refresh_coverage(p: PrincipalDep, ctx: CtxDep) -> CoverageRefreshRead:
    return await service.refresh_coverage(ctx, p)


for _endpoint in (get_coverage_report, list_coverage_accounts, list_whitespace, get_rep_review):
    add_format_route(router, _endpoint, "csv", CSV_CONTENT)
