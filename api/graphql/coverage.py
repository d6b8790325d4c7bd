"""Coverage tracking: rates by tier, rep and territory; accounts and why they fail; overlaps; review lists."""

from __future__ import annotations

from uuid import UUID

import strawberry
from strawberry.types import Info

from api.graphql.common import call, output_type, page_of, page_type, refuse
from api.services import coverage as service
from domain import model

CoverageReason = output_type(service.ReasonRead, "CoverageReason")
CoverageBucket = output_type(service.CoverageBucketRead, "CoverageBucket")
TierCoverage = output_type(service.TierCoverageRead, "TierCoverage")
RepCoverage = output_type(service.RepCoverageRead, "RepCoverage")
TerritoryCoverage = output_type(service.TerritoryCoverageRead, "TerritoryCoverage")
CoverageReport = output_type(service.CoverageReportRead, "CoverageReport")
AccountCoverageItem = output_type(service.AccountCoverageItem, "AccountCoverageItem")
CoveragePage = page_type(service.CoveragePage, "CoveragePage")
Touch = output_type(service.TouchRead, "Touch")
OverlapRep = output_type(service.OverlapRepRead, "OverlapRep")
Overlap = output_type(service.OverlapRead, "Overlap")
AccountCoverage = output_type(service.AccountCoverageRead, "AccountCoverage")
OverlapItem = output_type(service.OverlapItem, "OverlapItem")
OverlapPage = page_type(service.OverlapPage, "OverlapPage")
ReviewAccount = output_type(service.ReviewAccountRead, "ReviewAccount")
ReviewList = output_type(service.ReviewListRead, "ReviewList")
RepReview = output_type(service.RepReviewRead, "RepReview")


def check_limit(limit: int) -> None:
    """A report's `limit` (how many accounts a list shows): 1 to 500."""
    if not 1 <= limit <= 500:
        raise refuse("limit must be between 1 and 500")


@strawberry.type
class Query:
    @strawberry.field(description="Coverage rate by tier (against the targets), by rep and by territory")
    async def coverage(
        self,
        info: Info,
        role: model.Role = model.Role.AE,
        tier: int | None = None,
        rep_id: UUID | None = None,
        territory_id: UUID | None = None,
    ) -> CoverageReport:  # type: ignore[valid-type]
        c = info.context
        return await call(service.coverage_report(c.ctx, c.principal, role.value, tier, rep_id, territory_id))

    @strawberry.field(description="Accounts with their coverage and why they fail; filter by rule or list")
    async def coverage_accounts(
        self,
        info: Info,
        role: model.Role = model.Role.AE,
        covered: bool | None = None,
        tier: int | None = None,
        rep_id: UUID | None = None,
        territory_id: UUID | None = None,
        reason: str | None = None,
        list: str | None = None,  # noqa: A002
        first: int | None = None,
        after: str | None = None,
    ) -> CoveragePage:  # type: ignore[valid-type]
        c = info.context
        page = await call(
            service.coverage_accounts(
                c.ctx,
                c.principal,
                role.value,
                covered,
                tier,
                rep_id,
                territory_id,
                reason,
                list,
                first,
                after,
            )
        )
        return page_of(page, CoveragePage)

    @strawberry.field(description="One account: covered or why not, who touched it, overlaps, review lists")
    async def account_coverage(
        self, info: Info, id: UUID, role: model.Role = model.Role.AE
    ) -> AccountCoverage:  # type: ignore[valid-type]
        c = info.context
        return await call(service.account_coverage(c.ctx, c.principal, id, role.value))

    @strawberry.field(description="Accounts touched by two or more reps of one role in the overlap window")
    async def overlaps(
        self, info: Info, role: str | None = None, first: int | None = None, after: str | None = None
    ) -> OverlapPage:  # type: ignore[valid-type]
        c = info.context
        page = await call(service.overlap_report(c.ctx, c.principal, role, first, after))
        return page_of(page, OverlapPage)

    @strawberry.field(description="A rep's monthly review lists, highest potential first")
    async def rep_review(self, info: Info, rep_id: UUID, limit: int = 50) -> RepReview:  # type: ignore
        c = info.context
        check_limit(limit)
        return await call(service.rep_review(c.ctx, c.principal, rep_id, limit))
