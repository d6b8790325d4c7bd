"""Who owns an account: its owner of record per role, and the ownership lookup by external id."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import strawberry
from strawberry.types import Info

from api.graphql.common import call, plan_or_active, refuse
from domain import model
from domain.defaults import MAX_LOOKUP_BATCH

if TYPE_CHECKING:
    from api.graphql.reps import Rep
    from api.graphql.territories import Territory


@strawberry.type
class Ownership:
    role: model.Role
    plan_id: UUID
    locked: bool
    reason: model.AssignmentReason
    rep_id: strawberry.Private[UUID]
    territory_id: strawberry.Private[UUID | None]
    external_id: strawberry.Private[str]
    valid_from: strawberry.Private[datetime]

    @strawberry.field(
        description="when this owner took effect: in the active plan, as the ownership lookup answers (the "
        "activation or write that made them the owner); in a draft, when the draft gave them the account"
    )
    async def since(self, info: Info) -> datetime:
        answer = await call(info.context.loaders.lookup.load((self.external_id, self.role.value)))
        rep = answer.get("rep") or {}
        if answer.get("plan_id") == self.plan_id and rep.get("id") == self.rep_id and answer.get("since"):
            return answer["since"]  # type: ignore[no-any-return]
        return self.valid_from

    @strawberry.field
    async def rep(self, info: Info) -> Annotated[Rep, strawberry.lazy("api.graphql.reps")] | None:
        return await call(info.context.loaders.rep.load(self.rep_id))

    @strawberry.field
    async def territory(
        self, info: Info
    ) -> Annotated[Territory, strawberry.lazy("api.graphql.territories")] | None:
        if self.territory_id is None:
            return None
        return await call(info.context.loaders.territory.load(self.territory_id))


def _ownership(a: model.Assignment | None, external_id: str) -> Ownership | None:
    if a is None:
        return None
    return Ownership(
        role=a.role,
        plan_id=a.plan_id,
        locked=a.locked,
        reason=a.reason,
        rep_id=a.rep_id,
        territory_id=a.territory_id,
        external_id=external_id,
        valid_from=a.valid_from,
    )


async def account_owner(
    root: Any, info: Info, role: model.Role = model.Role.AE, plan_id: UUID | None = None
) -> Ownership | None:
    """Account.owner: the owner of record for the role (in the active plan by default)."""
    plan = await plan_or_active(info, plan_id)
    return _ownership(
        await call(info.context.loaders.owner.load((plan, root.id, role.value))), root.external_id
    )


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


@strawberry.type
class Query:
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
            raise refuse(f"at most {MAX_LOOKUP_BATCH} external ids")
        if as_of is not None and as_of.tzinfo is None:
            raise refuse("asOf needs a time zone, e.g. 2026-03-31T00:00:00Z")
        answers = await call(c.ctx.ownership.lookup(c.principal, external_ids, role, as_of))
        return [_lookup_result(a) for a in answers]
