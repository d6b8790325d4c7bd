"""Who owns an account: its owner of record per role, and the ownership lookup by external id."""

from __future__ import annotations

from datetime import date, datetime
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


@strawberry.type(description="A departure freezes the leaving rep's accounts for outbound")
class OwnershipFreeze:
    outbound: bool = strawberry.field(description="outbound (prospecting into the account) is frozen")
    since: datetime = strawberry.field(description="when the departure was recorded")
    last_day: date = strawberry.field(description="the rep's last day")
    interim_rep_id: UUID | None = strawberry.field(description="the interim owner of open pipeline")
    interim_rep_name: str | None
    sentence: str


@strawberry.type(description="The owner of the family's top account, accountable for large deals in it")
class AccountableOwner:
    rep_id: UUID
    rep_name: str
    account_id: UUID = strawberry.field(description="the family's top account")
    account_external_id: str
    account_name: str
    threshold: float = strawberry.field(description="deals of this amount or more anywhere in the family")
    sentence: str


def _freeze(a: dict[str, Any]) -> OwnershipFreeze | None:
    f = a.get("frozen")
    if f is None:
        return None
    interim = f["interim_rep"] or {}
    return OwnershipFreeze(
        outbound=f["outbound"],
        since=f["since"],
        last_day=date.fromisoformat(str(f["last_day"])),
        interim_rep_id=interim.get("id"),
        interim_rep_name=interim.get("name"),
        sentence=f["sentence"],
    )


def _accountable(a: dict[str, Any]) -> AccountableOwner | None:
    x = a.get("accountable")
    if x is None:
        return None
    return AccountableOwner(
        rep_id=x["rep"]["id"],
        rep_name=x["rep"]["name"],
        account_id=x["account"]["id"],
        account_external_id=x["account"]["external_id"],
        account_name=x["account"]["name"],
        threshold=x["threshold"],
        sentence=x["sentence"],
    )


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
        answer = await self._current(info)
        if answer is not None and answer.get("since"):
            return answer["since"]  # type: ignore[no-any-return]
        return self.valid_from

    async def _current(self, info: Info) -> dict[str, Any] | None:
        """The lookup's answer when it is about this owner (the active plan's); None for a draft's."""
        answer = await call(info.context.loaders.lookup.load((self.external_id, self.role.value)))
        rep = answer.get("rep") or {}
        return answer if answer.get("plan_id") == self.plan_id and rep.get("id") == self.rep_id else None

    @strawberry.field(
        description="the owner is leaving: outbound is frozen until the reassignment is activated, as the "
        "ownership lookup answers (active plan); null otherwise"
    )
    async def frozen(self, info: Info) -> OwnershipFreeze | None:
        answer = await self._current(info)
        return None if answer is None else _freeze(answer)

    @strawberry.field(
        description="the owner of the family's top account, accountable for deals from the policy's "
        "threshold up, as the ownership lookup answers (active plan); null without a parent"
    )
    async def accountable(self, info: Info) -> AccountableOwner | None:
        answer = await self._current(info)
        return None if answer is None else _accountable(answer)

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
    frozen: OwnershipFreeze | None = strawberry.field(
        description="the owner is leaving: outbound is frozen until the reassignment is activated"
    )
    accountable: AccountableOwner | None = strawberry.field(
        description="the account has a parent: the owner of the family's top account"
    )
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
        frozen=_freeze(a),
        accountable=_accountable(a),
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
