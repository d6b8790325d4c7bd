"""The Strawberry schema: types generated from the service models, resolvers calling the same use cases."""

from __future__ import annotations

import types
import typing
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from uuid import UUID

import strawberry
from fastapi import Request
from graphql import GraphQLError
from pydantic import BaseModel, EmailStr
from pydantic import ValidationError as PydanticValidationError
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.fastapi import BaseContext, GraphQLRouter
from strawberry.scalars import JSON
from strawberry.types import Info

from api.errors import field_errors_from_pydantic, status_for
from api.graphql.loaders import Loaders
from api.services import accounts, assignments, common, plans, reps, territories
from api.services import assigning as assigning_service
from api.services import capacity as capacity_service
from api.services import coverage as coverage_service
from api.services import equity as equity_service
from api.services import events as es
from api.services import events as events_service
from api.services import history as history_service
from api.services import operations as operations_service
from api.services import rebalancing as rebalancing_service
from api.services import reports as reports_service
from api.services import scoring as scoring_service
from api.services import settings as settings_service
from api.services.common import NIL
from api.services.context import AppContext, Principal, Unauthorized, authenticate_header
from domain import model
from domain.defaults import DEFAULT_PAGE_SIZE, MAX_LOOKUP_BATCH
from domain.errors import DomainError, FieldError, ValidationFailed

for _enum in (
    model.Role,
    model.RepRole,
    model.RampStatus,
    model.Stage,
    model.ChurnRisk,
    model.Segment,
    model.PlanState,
    model.TerritoryType,
    model.AssignmentReason,
):
    strawberry.enum(_enum)

T = TypeVar("T")


# ---------------------------------------------------------------- context


class Context(BaseContext):
    def __init__(self, request: Request, ctx: AppContext, principal: Principal | None):
        super().__init__()
        self.request = request
        self.ctx = ctx
        self._principal = principal
        self.loaders = Loaders(ctx, principal) if principal else None

    @property
    def principal(self) -> Principal:
        if self._principal is None:
            raise Unauthorized("send an API key as 'Authorization: Bearer KEY'")
        return self._principal


async def get_context(request: Request) -> Context:
    ctx: AppContext = request.app.state.ctx
    if request.method == "GET" and "query" not in request.query_params:
        return Context(request, ctx, None)  # the GraphiQL page itself needs no key
    principal = await authenticate_header(ctx, request.headers.get("authorization"))
    return Context(request, ctx, principal)


def _graphql_error(exc: DomainError) -> GraphQLError:
    status, _ = status_for(exc)
    return GraphQLError(
        exc.detail,
        original_error=exc,
        extensions={"code": exc.code, "status": status, "errors": [e.as_dict() for e in exc.errors]},
    )


async def call(coro: Awaitable[T]) -> T:
    """Run a use case in a query resolver; domain errors carry the REST code in `extensions`."""
    try:
        return await coro
    except DomainError as exc:
        raise _graphql_error(exc)


# ---------------------------------------------------------------- types from the service models


def _gql_type(annotation: Any) -> Any:
    """The pydantic field annotation as a Strawberry annotation (dict -> JSON)."""
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        args = [_gql_type(a) for a in typing.get_args(annotation) if a is not type(None)]
        inner = args[0] if len(args) == 1 else typing.Union[tuple(args)]  # noqa: UP007
        return inner | None if type(None) in typing.get_args(annotation) else inner
    if origin is Annotated:
        return _gql_type(typing.get_args(annotation)[0])
    if origin is list:
        return list[_gql_type(typing.get_args(annotation)[0])]
    if origin is dict or annotation is dict:
        return JSON
    if annotation is EmailStr:
        return str
    return _GENERATED.get(annotation, annotation)


_GENERATED: dict[Any, type] = {}  # service model -> its generated Strawberry type, for nested fields


def output_type(
    model_cls: type[BaseModel], name: str, domain_cls: type, extra: dict[str, Any] | None = None
) -> type:
    """A Strawberry type whose values are the domain dataclasses the use cases answer."""
    annotations = {n: _gql_type(f.annotation) for n, f in model_cls.model_fields.items()}
    namespace: dict[str, Any] = {"__annotations__": annotations, **(extra or {})}
    namespace["is_type_of"] = classmethod(lambda cls, obj, _info: isinstance(obj, cls | domain_cls))
    generated = strawberry.type(type(name, (), namespace), description=model_cls.__doc__)
    _GENERATED[model_cls] = generated
    return generated


def input_type(model_cls: type[BaseModel], name: str) -> type:
    """Every field optional and UNSET by default, so an update knows what was sent; pydantic validates."""
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {}
    for n, f in model_cls.model_fields.items():
        t = _gql_type(f.annotation)
        annotations[n] = (
            t if f.is_required() else (t | None if typing.get_origin(t) is not types.UnionType else t)
        )
        if not f.is_required():
            namespace[n] = strawberry.UNSET
    namespace["__annotations__"] = annotations
    return strawberry.input(type(name, (), namespace))


def to_model(data: Any, model_cls: type[BaseModel]) -> BaseModel:
    """A GraphQL input as the use case's pydantic body: the fields sent, validated the same way as REST."""
    values = {k: v for k, v in vars(data).items() if v is not strawberry.UNSET}
    try:
        return model_cls.model_validate(values)
    except PydanticValidationError as exc:
        raise ValidationFailed(
            "the input has invalid fields",
            [
                FieldError(e["field"], e["code"], e["message"])
                for e in field_errors_from_pydantic(exc.errors())
            ],
        )


@strawberry.type
class FieldProblem:
    field: str
    code: str
    message: str


@strawberry.type(description="An expected failure, with the same code as the REST problem+json")
class Problem:
    code: str
    status: int
    detail: str
    errors: list[FieldProblem]


def problem_of(exc: DomainError) -> Problem:
    status, _ = status_for(exc)
    return Problem(
        code=exc.code,
        status=status,
        detail=exc.detail,
        errors=[FieldProblem(field=e.field, code=e.code, message=e.message) for e in exc.errors],
    )


async def attempt(coro: Awaitable[T]) -> T | Problem:
    try:
        return await coro
    except DomainError as exc:
        return problem_of(exc)


# ---------------------------------------------------------------- object types with relations


async def _active_plan_id(info: Info) -> UUID:
    cache = info.context.__dict__.setdefault("_active_plan", {})
    if "id" not in cache:
        async with info.context.ctx.uow(info.context.principal.tenant_id) as uow:
            active = await uow.plans.active()
        cache["id"] = active.id if active else NIL
    return cache["id"]


@strawberry.type
class Ownership:
    role: model.Role
    plan_id: UUID
    since: datetime
    locked: bool
    reason: model.AssignmentReason
    rep_id: strawberry.Private[UUID]
    territory_id: strawberry.Private[UUID | None]

    @strawberry.field
    async def rep(self, info: Info) -> Rep | None:
        return await info.context.loaders.rep.load(self.rep_id)

    @strawberry.field
    async def territory(self, info: Info) -> Territory | None:
        if self.territory_id is None:
            return None
        return await info.context.loaders.territory.load(self.territory_id)


def _ownership(a: model.Assignment | None) -> Ownership | None:
    if a is None:
        return None
    return Ownership(
        role=a.role,
        plan_id=a.plan_id,
        since=a.valid_from,
        locked=a.locked,
        reason=a.reason,
        rep_id=a.rep_id,
        territory_id=a.territory_id,
    )


async def _account_owner(
    root: Any, info: Info, role: model.Role = model.Role.AE, plan_id: UUID | None = None
) -> Ownership | None:
    plan = plan_id or await _active_plan_id(info)
    return _ownership(await info.context.loaders.owner.load((plan, root.id, role.value)))


Factor = output_type(scoring_service.FactorRead, "Factor", scoring_service.FactorRead)
MatrixCell = output_type(scoring_service.MatrixCellRead, "MatrixCell", scoring_service.MatrixCellRead)
AccountScore = output_type(scoring_service.AccountScoreRead, "AccountScore", scoring_service.AccountScoreRead)
ScoringRun = output_type(scoring_service.ScoringRunRead, "ScoringRun", scoring_service.ScoringRunRead)
CoverageNeed = output_type(
    capacity_service.CoverageNeedRead, "CoverageNeed", capacity_service.CoverageNeedRead
)
CapacityChoice = output_type(capacity_service.ChoiceRead, "CapacityChoice", capacity_service.ChoiceRead)
Headcount = output_type(capacity_service.HeadcountRead, "Headcount", capacity_service.HeadcountRead)
Capacity = output_type(capacity_service.CapacityRead, "Capacity", capacity_service.CapacityRead)


def _out(model_cls: type[BaseModel], name: str) -> type:
    return output_type(model_cls, name, model_cls)


CoverageReason = _out(coverage_service.ReasonRead, "CoverageReason")
CoverageBucket = _out(coverage_service.CoverageBucketRead, "CoverageBucket")
TierCoverage = _out(coverage_service.TierCoverageRead, "TierCoverage")
RepCoverage = _out(coverage_service.RepCoverageRead, "RepCoverage")
TerritoryCoverage = _out(coverage_service.TerritoryCoverageRead, "TerritoryCoverage")
CoverageReport = _out(coverage_service.CoverageReportRead, "CoverageReport")
AccountCoverageItem = _out(coverage_service.AccountCoverageItem, "AccountCoverageItem")
CoveragePage = _out(coverage_service.CoveragePage, "CoveragePage")
Touch = _out(coverage_service.TouchRead, "Touch")
OverlapRep = _out(coverage_service.OverlapRepRead, "OverlapRep")
Overlap = _out(coverage_service.OverlapRead, "Overlap")
AccountCoverage = _out(coverage_service.AccountCoverageRead, "AccountCoverage")
OverlapItem = _out(coverage_service.OverlapItem, "OverlapItem")
OverlapPage = _out(coverage_service.OverlapPage, "OverlapPage")
ReviewAccount = _out(coverage_service.ReviewAccountRead, "ReviewAccount")
ReviewList = _out(coverage_service.ReviewListRead, "ReviewList")
RepReview = _out(coverage_service.RepReviewRead, "RepReview")
ReportAccount = _out(reports_service.ReportAccountRead, "ReportAccount")
ReviewQuestion = _out(reports_service.ReviewQuestionRead, "ReviewQuestion")
RepBook = _out(reports_service.RepBookRead, "RepBook")
ExpansionAccount = _out(reports_service.ExpansionAccountRead, "ExpansionAccount")
ExpansionPipeline = _out(reports_service.ExpansionPipelineRead, "ExpansionPipeline")
CoverageReview = _out(reports_service.CoverageReviewRead, "CoverageReview")
WeeklyMetricsRow = _out(reports_service.WeeklyMetricsRow, "WeeklyMetricsRow")
WeeklyMetrics = _out(reports_service.WeeklyMetricsRead, "WeeklyMetrics")
SegmentPlan = _out(reports_service.SegmentPlanRead, "SegmentPlan")
TerritoryTap = _out(reports_service.TerritoryTapRead, "TerritoryTap")
Segmentation = _out(reports_service.SegmentationRead, "Segmentation")
CoverageModelPlan = _out(reports_service.CoverageModelPlanRead, "CoverageModelPlan")
TerritoryPlan = _out(reports_service.TerritoryPlanRead, "TerritoryPlan")
ListedAccount = _out(assignments.ListedAccount, "ListedAccount")
TiedTerritory = _out(assignments.TiedTerritory, "TiedTerritory")
ConflictAccount = _out(assignments.ConflictAccount, "ConflictAccount")
OwnerlessAccount = _out(assignments.OwnerlessAccount, "OwnerlessAccount")
ListedAccounts = _out(assignments.ListedAccounts, "ListedAccounts")
ConflictAccounts = _out(assignments.ConflictAccounts, "ConflictAccounts")
OwnerlessAccounts = _out(assignments.OwnerlessAccounts, "OwnerlessAccounts")
AssignByRules = _out(assignments.AssignByRulesRead, "AssignByRules")
SpreadType = _out(equity_service.SpreadRead, "Spread")
BookEquity = _out(equity_service.BookEquityRead, "BookEquity")
EquityType = _out(equity_service.EquityRead, "Equity")
PlanEquity = _out(equity_service.PlanEquityRead, "PlanEquity")
PlanRef = _out(common.PlanRef, "PlanRef")
Move = _out(equity_service.MoveRead, "Move")
Moves = _out(equity_service.MovesRead, "Moves")
PlanCompare = _out(equity_service.PlanCompareRead, "PlanCompare")
OwnershipChange = _out(history_service.OwnershipChangeRead, "OwnershipChange")
OwnershipHistoryPage = _out(history_service.OwnershipHistoryPage, "OwnershipHistoryPage")
MovementType = _out(history_service.MovementRead, "Movement")
ProposedMove = _out(rebalancing_service.ProposedMove, "ProposedMove")
ProposedMoves = _out(rebalancing_service.ProposedMoves, "ProposedMoves")
RebalanceProposal = _out(rebalancing_service.RebalanceProposalRead, "RebalanceProposal")
strawberry.enum(operations_service.OperationState)
_GENERATED[common.FieldProblem] = FieldProblem
OperationErrorType = _out(operations_service.OperationError, "OperationError")
Operation = _out(operations_service.OperationRead, "Operation")
strawberry.enum(es.EventType, name="EventType")
EventGQL = _out(es.EventRead, "Event")
EventPage = _out(es.EventPage, "EventPage")
OperationPage = _out(operations_service.OperationPage, "OperationPage")


async def _account_score(root: Any, info: Info) -> AccountScore | None:  # type: ignore[valid-type]
    row = await info.context.loaders.score.load(root.id)
    if row is None:
        return None
    settings = await info.context.loaders.settings()
    return scoring_service.AccountScoreRead.model_validate(
        scoring_service.explain(row, root.current_arr, settings)
    )


async def _account_parent(root: Any, info: Info) -> Account | None:
    return None if root.parent_id is None else await info.context.loaders.account.load(root.parent_id)


Account = output_type(
    accounts.AccountRead,
    "Account",
    model.Account,
    {
        "owner": strawberry.field(
            resolver=_account_owner, description="owner of record for the role (active plan)"
        ),
        "parent": strawberry.field(resolver=_account_parent),
        "score": strawberry.field(
            resolver=_account_score, description="the last scoring run's result, explained"
        ),
    },
)


async def _rep_accounts(
    root: Any,
    info: Info,
    role: model.Role | None = None,
    plan_id: UUID | None = None,
    first: int = DEFAULT_PAGE_SIZE,
) -> list[Account]:  # type: ignore[valid-type]
    plan = plan_id or await _active_plan_id(info)
    key = (root.id, plan, role.value if role else None, min(first, 500))
    return await info.context.loaders.rep_accounts.load(key)


Rep = output_type(reps.RepRead, "Rep", model.Rep, {"accounts": strawberry.field(resolver=_rep_accounts)})


async def _territory_accounts(root: Any, info: Info, first: int = DEFAULT_PAGE_SIZE) -> list[Account]:  # type: ignore
    return await info.context.loaders.territory_accounts.load((root.id, root.plan_id, None, min(first, 500)))


async def _territory_owner(root: Any, info: Info) -> Rep | None:  # type: ignore[valid-type]
    return None if root.primary_rep_id is None else await info.context.loaders.rep.load(root.primary_rep_id)


Territory = output_type(
    territories.TerritoryRead,
    "Territory",
    model.Territory,
    {
        "accounts": strawberry.field(resolver=_territory_accounts),
        "owner": strawberry.field(resolver=_territory_owner, description="the primary rep"),
    },
)
Plan = output_type(plans.PlanRead, "Plan", model.Plan)
Assignment = output_type(assignments.AssignmentRead, "Assignment", model.Assignment)


@strawberry.type(description="The tenant's settings: version, overrides and the effective values")
class Settings:
    version: int
    overrides: JSON
    effective: JSON


SettingsResult = Annotated[Settings | Problem, strawberry.union("SettingsResult")]


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class AccountConnection:
    nodes: list[Account]  # type: ignore[valid-type]
    page_info: PageInfo


@strawberry.type
class TerritoryConnection:
    nodes: list[Territory]  # type: ignore[valid-type]
    page_info: PageInfo


@strawberry.input
class AccountFilter:
    plan_id: UUID | None = None
    territory_id: UUID | None = None
    owner_id: UUID | None = None
    role: model.Role | None = None
    segment: model.Segment | None = None
    stage: model.Stage | None = None
    parent_id: UUID | None = None
    external_id: str | None = None


@strawberry.type
class LookupResult:
    external_id: str
    status: str
    role: model.Role
    plan_id: UUID | None
    since: datetime | None
    account_id: UUID | None
    account_name: str | None
    rep_id: UUID | None
    rep_name: str | None
    rep_email: str | None
    territory_id: UUID | None
    territory_name: str | None
    cause: str | None = strawberry.field(description="why the rep owns the account: the cause")
    reason: str | None = strawberry.field(description="why the rep owns the account: the rule or reason")
    seq: int = strawberry.field(description="the change-log position the answer reflects")


def _lookup_result(a: dict[str, Any]) -> LookupResult:
    account, rep, territory = a["account"] or {}, a["rep"] or {}, a["territory"] or {}
    return LookupResult(
        external_id=a["external_id"],
        status=a["status"],
        role=model.Role(a["role"]),
        plan_id=a["plan_id"],
        since=a["since"],
        account_id=account.get("id"),
        account_name=account.get("name"),
        rep_id=rep.get("id"),
        rep_name=rep.get("name"),
        rep_email=rep.get("email"),
        territory_id=territory.get("id"),
        territory_name=territory.get("name"),
        cause=(a["why"] or {}).get("cause"),
        reason=(a["why"] or {}).get("reason"),
        seq=a["seq"],
    )


def _page(page: dict, conn: type) -> Any:
    return conn(
        nodes=page["items"],
        page_info=PageInfo(
            has_next_page=page["next_page_token"] is not None, end_cursor=page["next_page_token"]
        ),
    )


@strawberry.type
class Query:
    @strawberry.field(description="One account by id or by external (CRM) id")
    async def account(
        self, info: Info, id: UUID | None = None, external_id: str | None = None
    ) -> Account | None:  # type: ignore
        c = info.context
        if id is not None:
            return await call(accounts.get_account(c.ctx, c.principal, id))
        if external_id is not None:
            return await call(accounts.get_account_by_external_id(c.ctx, c.principal, external_id))
        raise _graphql_error(ValidationFailed("give id or externalId"))

    @strawberry.field
    async def accounts(
        self,
        info: Info,
        filter: AccountFilter | None = None,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> AccountConnection:
        c = info.context
        filters = vars(filter) if filter else {}
        return _page(
            await call(accounts.list_accounts(c.ctx, c.principal, dict(filters), after, first)),
            AccountConnection,
        )

    @strawberry.field
    async def territory(self, info: Info, id: UUID) -> Territory:  # type: ignore[valid-type]
        return await call(territories.get_territory(info.context.ctx, info.context.principal, id))

    @strawberry.field(description="Territories of a plan (default: the active plan)")
    async def territories(
        self,
        info: Info,
        plan_id: UUID | None = None,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> TerritoryConnection:
        c = info.context
        plan = plan_id or await _active_plan_id(info)
        page = await call(territories.list_territories(c.ctx, c.principal, {"plan_id": plan}, after, first))
        return _page(page, TerritoryConnection)

    @strawberry.field
    async def rep(self, info: Info, id: UUID) -> Rep:  # type: ignore[valid-type]
        return await call(reps.get_rep(info.context.ctx, info.context.principal, id))

    @strawberry.field
    async def plans(self, info: Info, state: model.PlanState | None = None) -> list[Plan]:  # type: ignore
        c = info.context
        page = await call(plans.list_plans(c.ctx, c.principal, {"state": state}, None, 500))
        return page["items"]

    @strawberry.field(description="The tenant's settings (admin scope)")
    async def settings(self, info: Info) -> Settings:
        return Settings(**await call(settings_service.get_settings(info.context.ctx, info.context.principal)))

    @strawberry.field(description="Hours the coverage model needs against the team's; headcount for a target")
    async def capacity(
        self, info: Info, target_revenue: float | None = None, quota_per_rep: float | None = None
    ) -> Capacity:  # type: ignore[valid-type]
        c = info.context
        found = await call(
            capacity_service.capacity_report(c.ctx, c.principal, target_revenue, quota_per_rep)
        )
        return capacity_service.CapacityRead.model_validate(found)

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
        report = await call(
            coverage_service.coverage_report(c.ctx, c.principal, role.value, tier, rep_id, territory_id)
        )
        return coverage_service.CoverageReportRead.model_validate(report)

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
            coverage_service.coverage_accounts(
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
        return coverage_service.CoveragePage.model_validate(page)

    @strawberry.field(description="One account: covered or why not, who touched it, overlaps, review lists")
    async def account_coverage(
        self, info: Info, id: UUID, role: model.Role = model.Role.AE
    ) -> AccountCoverage:  # type: ignore[valid-type]
        c = info.context
        found = await call(coverage_service.account_coverage(c.ctx, c.principal, id, role.value))
        return coverage_service.AccountCoverageRead.model_validate(found)

    @strawberry.field(description="Accounts touched by two or more reps of one role in the overlap window")
    async def overlaps(
        self, info: Info, role: str | None = None, first: int | None = None, after: str | None = None
    ) -> OverlapPage:  # type: ignore[valid-type]
        c = info.context
        page = await call(coverage_service.overlap_report(c.ctx, c.principal, role, first, after))
        return coverage_service.OverlapPage.model_validate(page)

    @strawberry.field(description="A rep's monthly review lists (seed 000), highest potential first")
    async def rep_review(self, info: Info, rep_id: UUID, limit: int = 50) -> RepReview:  # type: ignore
        c = info.context
        if not 1 <= limit <= 500:
            raise _graphql_error(ValidationFailed("limit must be between 1 and 500"))
        return coverage_service.RepReviewRead.model_validate(
            await call(coverage_service.rep_review(c.ctx, c.principal, rep_id, limit))
        )

    @strawberry.field(description="Seed 000's coverage review: overview, by rep, questions, expansion")
    async def coverage_review(
        self,
        info: Info,
        role: model.Role = model.Role.AE,
        rep_id: UUID | None = None,
        territory_id: UUID | None = None,
        limit: int = 20,
    ) -> CoverageReview:  # type: ignore[valid-type]
        c = info.context
        if not 1 <= limit <= 500:
            raise _graphql_error(ValidationFailed("limit must be between 1 and 500"))
        report = await call(
            reports_service.coverage_review(c.ctx, c.principal, role.value, rep_id, territory_id, limit)
        )
        return reports_service.CoverageReviewRead.model_validate(report)

    @strawberry.field(description="Seed 004's weekly metrics per rep and tier")
    async def weekly_metrics(
        self, info: Info, week_start: date | None = None, role: model.Role = model.Role.AE
    ) -> WeeklyMetrics:  # type: ignore[valid-type]
        c = info.context
        report = await call(reports_service.weekly_metrics(c.ctx, c.principal, week_start, role.value))
        return reports_service.WeeklyMetricsRead.model_validate(report)

    @strawberry.field(description="Seed 003's territory plan: segmentation, coverage model and capacity")
    async def territory_plan(self, info: Info) -> TerritoryPlan:  # type: ignore[valid-type]
        c = info.context
        return reports_service.TerritoryPlanRead.model_validate(
            await call(reports_service.territory_plan(c.ctx, c.principal))
        )

    @strawberry.field(description="An operation: state, progress, and its result or error")
    async def operation(self, info: Info, id: UUID) -> Operation:  # type: ignore[valid-type]
        c = info.context
        return operations_service.OperationRead.model_validate(
            await call(operations_service.get_operation(c.ctx, c.principal, id))
        )

    @strawberry.field(description="Operations, newest first")
    async def operations(
        self,
        info: Info,
        state: operations_service.OperationState | None = None,
        kind: str | None = None,
        page_token: str | None = None,
        page_size: int | None = None,
    ) -> OperationPage:  # type: ignore[valid-type]
        c = info.context
        page = await call(
            operations_service.list_operations(
                c.ctx, c.principal, state.value if state else None, kind, page_token, page_size
            )
        )
        return operations_service.OperationPage.model_validate(page)

    @strawberry.field(description="Equity of a plan per territory and per rep")
    async def plan_equity(self, info: Info, plan_id: UUID, role: model.Role = model.Role.AE) -> PlanEquity:  # type: ignore[valid-type]
        c = info.context
        return equity_service.PlanEquityRead.model_validate(
            await call(equity_service.plan_equity(c.ctx, c.principal, plan_id, role.value))
        )

    @strawberry.field(description="Two plans side by side: moves and each plan's equity")
    async def compare_plans(
        self, info: Info, a: UUID, b: UUID, role: model.Role = model.Role.AE
    ) -> PlanCompare:  # type: ignore[valid-type]
        c = info.context
        return equity_service.PlanCompareRead.model_validate(
            await call(equity_service.compare_plans(c.ctx, c.principal, a, b, role.value))
        )

    @strawberry.field(description="Every change of an account's owner of record, newest first")
    async def ownership_history(
        self, info: Info, account_id: UUID, first: int | None = None, after: str | None = None
    ) -> OwnershipHistoryPage:  # type: ignore[valid-type]
        c = info.context
        page = await call(history_service.account_history(c.ctx, c.principal, account_id, first, after))
        return history_service.OwnershipHistoryPage.model_validate(page)

    @strawberry.field(description="Every owner change of an account, by external id, newest first")
    async def ownership_timeline(
        self, info: Info, external_id: str, first: int | None = None, after: str | None = None
    ) -> OwnershipHistoryPage:  # type: ignore[valid-type]
        c = info.context
        account = await call(accounts.get_account_by_external_id(c.ctx, c.principal, external_id))
        page = await call(history_service.account_history(c.ctx, c.principal, account.id, first, after))
        return history_service.OwnershipHistoryPage.model_validate(page)

    @strawberry.field(description="Accounts that changed owner in a window, against seed 001's bands")
    async def movement(
        self,
        info: Info,
        since: datetime | None = None,
        until: datetime | None = None,
        role: model.Role = model.Role.AE,
    ) -> MovementType:  # type: ignore[valid-type]
        c = info.context
        found = await call(history_service.movement_report(c.ctx, c.principal, since, until, role.value))
        return history_service.MovementRead.model_validate(found)

    @strawberry.field(description="Events after a position in the change log, oldest first (the feed)")
    async def events(
        self,
        info: Info,
        after: int = 0,
        types: list[es.EventType] | None = None,
        first: int | None = None,
    ) -> EventPage:  # type: ignore[valid-type]
        c = info.context
        wanted = [t.value for t in types or []]
        page = await call(events_service.list_events(c.ctx, c.principal, after, wanted, first))
        return es.EventPage.model_validate(es.EventPage.model_validate(page).model_dump(mode="json"))

    @strawberry.field(
        description="Owners of up to 1,000 accounts by external id, in the order asked, and why; with "
        "asOf, as they were at that time"
    )
    async def ownership(
        self,
        info: Info,
        external_ids: list[str],
        role: model.Role = model.Role.AE,
        as_of: datetime | None = None,
    ) -> list[LookupResult]:
        c = info.context
        if len(external_ids) > MAX_LOOKUP_BATCH:
            raise _graphql_error(ValidationFailed(f"at most {MAX_LOOKUP_BATCH} external ids"))
        if as_of is not None and as_of.tzinfo is None:
            raise _graphql_error(ValidationFailed("asOf needs a time zone, e.g. 2026-03-31T00:00:00Z"))
        answers = await call(c.ctx.ownership.lookup(c.principal, external_ids, role, as_of))
        return [_lookup_result(a) for a in answers]


AccountCreateInput = input_type(accounts.AccountCreate, "AccountCreateInput")
AccountUpdateInput = input_type(accounts.AccountUpdate, "AccountUpdateInput")
RepCreateInput = input_type(reps.RepCreate, "RepCreateInput")
RepUpdateInput = input_type(reps.RepUpdate, "RepUpdateInput")
TerritoryCreateInput = input_type(territories.TerritoryCreate, "TerritoryCreateInput")
TerritoryUpdateInput = input_type(territories.TerritoryUpdate, "TerritoryUpdateInput")
PlanCreateInput = input_type(plans.PlanCreate, "PlanCreateInput")
PlanUpdateInput = input_type(plans.PlanUpdate, "PlanUpdateInput")
AssignmentCreateInput = input_type(assignments.AssignmentCreate, "AssignmentCreateInput")
AssignmentUpdateInput = input_type(assignments.AssignmentUpdate, "AssignmentUpdateInput")

ScoringRunResult = Annotated[ScoringRun | Problem, strawberry.union("ScoringRunResult")]  # type: ignore
AssignByRulesResult = Annotated[AssignByRules | Problem, strawberry.union("AssignByRulesResult")]  # type: ignore
RebalanceResult = Annotated[RebalanceProposal | Problem, strawberry.union("RebalanceResult")]  # type: ignore
OperationResult = Annotated[Operation | Problem, strawberry.union("OperationResult")]  # type: ignore
OptimizeInput = input_type(rebalancing_service.OptimizeRequest, "OptimizeInput")
AccountResult = Annotated[Account | Problem, strawberry.union("AccountResult")]  # type: ignore[valid-type]
RepResult = Annotated[Rep | Problem, strawberry.union("RepResult")]  # type: ignore[valid-type]
TerritoryResult = Annotated[Territory | Problem, strawberry.union("TerritoryResult")]  # type: ignore
PlanResult = Annotated[Plan | Problem, strawberry.union("PlanResult")]  # type: ignore[valid-type]
AssignmentResult = Annotated[Assignment | Problem, strawberry.union("AssignmentResult")]  # type: ignore


def _mutate(use_case: Callable, model_cls: type[BaseModel] | None = None) -> Callable:
    async def run(info: Info, *args: Any) -> Any:
        c = info.context

        async def go() -> Any:
            values = list(args)
            if model_cls is not None:
                values[-1] = to_model(values[-1], model_cls)
            return await use_case(c.ctx, c.principal, *values)

        return await attempt(go())

    return run


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Replace the tenant's setting overrides (admin scope)")
    async def update_settings(self, info: Info, overrides: JSON) -> SettingsResult:
        c = info.context
        found = await attempt(settings_service.replace_settings(c.ctx, c.principal, _overrides(overrides)))
        return found if isinstance(found, Problem) else Settings(**found)

    @strawberry.mutation(description="Score, value and tier every account under the current settings")
    async def run_scoring(self, info: Info) -> ScoringRunResult:  # type: ignore[valid-type]
        c = info.context
        found = await attempt(scoring_service.run_scoring(c.ctx, c.principal))
        return found if isinstance(found, Problem) else scoring_service.ScoringRunRead.model_validate(found)

    @strawberry.mutation
    async def create_account(self, info: Info, input: AccountCreateInput) -> AccountResult:  # type: ignore
        return await _mutate(accounts.create_account, accounts.AccountCreate)(info, input)

    @strawberry.mutation
    async def update_account(self, info: Info, id: UUID, input: AccountUpdateInput) -> AccountResult:  # type: ignore
        return await _mutate(accounts.update_account, accounts.AccountUpdate)(info, id, input)

    @strawberry.mutation
    async def create_rep(self, info: Info, input: RepCreateInput) -> RepResult:  # type: ignore
        return await _mutate(reps.create_rep, reps.RepCreate)(info, input)

    @strawberry.mutation
    async def update_rep(self, info: Info, id: UUID, input: RepUpdateInput) -> RepResult:  # type: ignore
        return await _mutate(reps.update_rep, reps.RepUpdate)(info, id, input)

    @strawberry.mutation
    async def create_territory(self, info: Info, input: TerritoryCreateInput) -> TerritoryResult:  # type: ignore
        return await _mutate(territories.create_territory, territories.TerritoryCreate)(info, input)

    @strawberry.mutation
    async def update_territory(self, info: Info, id: UUID, input: TerritoryUpdateInput) -> TerritoryResult:  # type: ignore
        return await _mutate(territories.update_territory, territories.TerritoryUpdate)(info, id, input)

    @strawberry.mutation
    async def create_plan(self, info: Info, input: PlanCreateInput) -> PlanResult:  # type: ignore
        return await _mutate(plans.create_plan, plans.PlanCreate)(info, input)

    @strawberry.mutation
    async def update_plan(self, info: Info, id: UUID, input: PlanUpdateInput) -> PlanResult:  # type: ignore
        return await _mutate(plans.update_plan, plans.PlanUpdate)(info, id, input)

    @strawberry.mutation(description="Copy a plan into a draft: territories and current assignments")
    async def copy_plan(self, info: Info, id: UUID, name: str | None = None) -> PlanResult:  # type: ignore
        return await _mutate(plans.copy_plan)(info, id, name)

    @strawberry.mutation
    async def activate_plan(self, info: Info, id: UUID) -> PlanResult:  # type: ignore
        return await _mutate(plans.activate_plan)(info, id)

    @strawberry.mutation(
        description="Assign every account to the highest-priority matching territory (draft)"
    )
    async def assign_by_rules(
        self, info: Info, plan_id: UUID, role: model.Role = model.Role.AE
    ) -> AssignByRulesResult:  # type: ignore[valid-type]
        c = info.context
        found = await attempt(assigning_service.assign_plan_by_rules(c.ctx, c.principal, plan_id, role))
        return found if isinstance(found, Problem) else assignments.AssignByRulesRead.model_validate(found)

    @strawberry.mutation(
        description="Propose a rebalance in a new draft: moves with reasons, equity before/after"
    )
    async def propose_rebalance(
        self, info: Info, plan_id: UUID, role: model.Role = model.Role.AE, name: str | None = None
    ) -> RebalanceResult:  # type: ignore[valid-type]
        c = info.context
        found = await attempt(
            rebalancing_service.propose_rebalance(c.ctx, c.principal, plan_id, role.value, name)
        )
        return (
            found
            if isinstance(found, Problem)
            else rebalancing_service.RebalanceProposalRead.model_validate(found)
        )

    @strawberry.mutation(
        description="Optimise a plan's balance: returns the operation; its result is the proposal in a draft"
    )
    async def optimize_plan(
        self,
        info: Info,
        plan_id: UUID,
        input: OptimizeInput | None = None,  # type: ignore[valid-type]
    ) -> OperationResult:  # type: ignore[valid-type]
        c = info.context

        async def go() -> Any:
            body = (
                to_model(input, rebalancing_service.OptimizeRequest)
                if input is not None
                else rebalancing_service.OptimizeRequest()
            )
            return await rebalancing_service.start_optimize(c.ctx, c.principal, plan_id, body)

        found = await attempt(go())
        return found if isinstance(found, Problem) else operations_service.OperationRead.model_validate(found)

    @strawberry.mutation(description="Ask an operation to stop: it stops within seconds and keeps nothing")
    async def cancel_operation(self, info: Info, id: UUID) -> OperationResult:  # type: ignore[valid-type]
        c = info.context
        found = await attempt(operations_service.cancel_operation(c.ctx, c.principal, id))
        return found if isinstance(found, Problem) else operations_service.OperationRead.model_validate(found)

    @strawberry.mutation(description="A rep leaves: a draft with open pipeline frozen under an interim owner")
    async def rep_departure(
        self,
        info: Info,
        rep_id: UUID,
        date: date,
        interim_rep_id: UUID | None = None,
        role: model.Role = model.Role.AE,
    ) -> RebalanceResult:  # type: ignore[valid-type]
        c = info.context
        found = await attempt(
            rebalancing_service.rep_departure(c.ctx, c.principal, rep_id, date, interim_rep_id, role.value)
        )
        return (
            found
            if isinstance(found, Problem)
            else rebalancing_service.RebalanceProposalRead.model_validate(found)
        )

    @strawberry.mutation(description="A rep joins: a draft with a territory carved for them, sized for ramp")
    async def rep_arrival(
        self, info: Info, rep_id: UUID, territory_name: str | None = None, role: model.Role = model.Role.AE
    ) -> RebalanceResult:  # type: ignore[valid-type]
        c = info.context
        found = await attempt(
            rebalancing_service.rep_arrival(c.ctx, c.principal, rep_id, territory_name, role.value)
        )
        return (
            found
            if isinstance(found, Problem)
            else rebalancing_service.RebalanceProposalRead.model_validate(found)
        )

    @strawberry.mutation
    async def create_assignment(self, info: Info, input: AssignmentCreateInput) -> AssignmentResult:  # type: ignore
        return await _mutate(assignments.create_assignment, assignments.AssignmentCreate)(info, input)

    @strawberry.mutation
    async def update_assignment(self, info: Info, id: UUID, input: AssignmentUpdateInput) -> AssignmentResult:  # type: ignore
        return await _mutate(assignments.update_assignment, assignments.AssignmentUpdate)(info, id, input)


def _overrides(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ValidationFailed(
            "overrides must be an object of sections",
            [FieldError("overrides", "invalid_type", 'expected {"section": {"setting": value}}')],
        )
    return value


def _mask(error: GraphQLError) -> bool:
    original = getattr(error, "original_error", None)
    return original is not None and not isinstance(original, DomainError | GraphQLError)


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    extensions=[
        QueryDepthLimiter(max_depth=10),
        MaxTokensLimiter(max_token_count=5_000),
        MaxAliasesLimiter(max_alias_count=30),
        MaskErrors(should_mask_error=_mask, error_message="internal_error"),
    ],
)

_IDE = (Path(__file__).resolve().parent.parent / "static" / "graphiql.html").read_text()


class _Router(GraphQLRouter):
    async def render_graphql_ide(self, request: Request) -> Any:
        from fastapi.responses import HTMLResponse

        return HTMLResponse(_IDE)


def graphql_router() -> GraphQLRouter:
    return _Router(schema, context_getter=get_context)
