"""A policy dry run (docs/domain.md, "Dry run"): what a proposed policy would decide
differently before it is saved. The answer has one section per kind of decision: `disputes` (the open
disputes whose ruling would change) and `owners` (the accounts of the active plan that assigning by rules
would give another owner under the proposal than under the policy in force). Nothing is saved."""

from __future__ import annotations

from contextlib import aclosing
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from api.services.assigning import rule_chunks, rule_setup
from api.services.context import AppContext, Principal
from api.services.disputes import Rerun, rule_open_disputes
from api.services.engagement import DEFAULTS, PolicyWrite, current_policy, sent_policy
from domain.assigning import Placement
from domain.defaults import MAX_LISTED_ACCOUNTS
from domain.disputes import Proposal
from domain.engagement import Policy, parse_policy
from domain.model import Role, Scope


class RulingRead(BaseModel):
    owner_rep_id: UUID | None
    owner_name: str | None
    rule: str = Field(description="the code of the rule that decided, or tiebreak")
    sentence: str
    reason: str = Field(description="in words, naming the reps and their evidence")


class DisputeRulingChangeRead(BaseModel):
    dispute_id: UUID
    account_id: UUID
    account_name: str
    claimant_rep_id: UUID
    claimant_name: str
    owner_changes: bool = Field(
        description="the proposal gives the account to another rep (not only by another rule)"
    )
    now: RulingRead = Field(description="the ruling of the policy in force, on today's evidence")
    proposed: RulingRead = Field(description="the ruling of the proposed policy, on the same evidence")


class DryRunDisputesRead(BaseModel):
    open: int = Field(description="open disputes ruled again")
    changed: int = Field(description="of those, the ones whose owner or deciding rule would change")
    items: list[DisputeRulingChangeRead] = Field(
        description=f"the changed ones by dispute id, the first {MAX_LISTED_ACCOUNTS:,}"
    )


class PlacementRead(BaseModel):
    rep_id: UUID | None = Field(description="the owner assigning by rules would give it; null: nobody")
    rep_name: str | None
    territory_id: UUID | None
    rule: str | None = Field(description="the code of the rule that decided, or only_candidate")
    note: str | None = Field(description="the assignment's note: the rule and the reps by name")


class OwnerChangeRead(BaseModel):
    account_id: UUID
    external_id: str
    account_name: str
    owner_rep_id: UUID | None = Field(description="the owner of record in the active plan now")
    owner_name: str | None
    now: PlacementRead = Field(description="what assigning by rules gives under the policy in force")
    proposed: PlacementRead = Field(description="what it gives under the proposal, on the same evidence")


class DryRunOwnersRead(BaseModel):
    plan_id: UUID = Field(description="the active plan whose accounts were ruled")
    role: Role
    accounts: int = Field(description="accounts ruled (locked assignments never move and are left out)")
    changed: int = Field(description="of those, the ones the proposal gives another owner or territory")
    items: list[OwnerChangeRead] = Field(description=f"the changed ones, the first {MAX_LISTED_ACCOUNTS:,}")


class PolicyDryRunRead(BaseModel):
    """What the proposed policy would decide differently; a section per kind of decision."""

    as_of: datetime
    policy_version: int = Field(description="the version in force the proposal is compared with")
    sentences: list[str] = Field(description="the proposed policy in words, in order")
    disputes: DryRunDisputesRead
    owners: DryRunOwnersRead | None = Field(
        description="the active plan's owners decided differently; null without an active plan"
    )


def _ruling(p: Proposal) -> RulingRead:
    owner = p.ruling.owner
    return RulingRead(
        owner_rep_id=p.owner_rep_id,
        owner_name=owner.rep_name if owner else None,
        rule=p.ruling.rule,
        sentence=p.ruling.sentence,
        reason=p.ruling.reason,
    )


def _changed(r: Rerun) -> bool:
    return r.now.owner_rep_id != r.proposed.owner_rep_id or r.now.ruling.rule != r.proposed.ruling.rule


def _placement(placed: Placement | None, names: dict[Any, str]) -> PlacementRead:
    if placed is None:
        return PlacementRead(rep_id=None, rep_name=None, territory_id=None, rule=None, note=None)
    return PlacementRead(
        rep_id=placed.rep_id,
        rep_name=names.get(placed.rep_id),
        territory_id=placed.territory_id,
        rule=placed.rule,
        note=placed.note,
    )


def _owner(placed: Placement | None, account: dict[str, Any]) -> tuple[Any, Any]:
    """Who and where a placement leaves the account (None keeps it: its owner of record, where it is)."""
    if placed is None:
        return account["owner_rep_id"], account["owner_territory_id"]
    return placed.rep_id, placed.territory_id or account["owner_territory_id"]


async def _owners_ruled(
    uow: Any, now_policy: Policy, proposed: Policy, now: datetime
) -> DryRunOwnersRead | None:
    """Every account of the active plan (role AE) ruled as assigning by rules would under both policies,
    the same boundaries and each policy's evidence; the accounts whose owner or territory differs."""
    plan = await uow.plans.active()
    if plan is None:
        return None
    role = Role.AE
    setup = await rule_setup(uow, plan.id, now)
    ruled = changed = 0
    items: list[dict[str, Any]] = []
    chunks = rule_chunks(uow, setup, plan.id, role, (now_policy, proposed), now)
    async with aclosing(chunks):
        async for chunk, (ours, theirs) in chunks:
            for k, account in enumerate(chunk):
                if account["owner_locked"]:
                    continue
                ruled += 1
                a, b = ours.placed.get(k), theirs.placed.get(k)
                if _owner(a, account) == _owner(b, account):
                    continue
                changed += 1
                if len(items) < MAX_LISTED_ACCOUNTS:
                    items.append({"account": account, "now": a, "proposed": b})
    wanted = {i["account"]["owner_rep_id"] for i in items} - {None}
    names = {r.id: r.name for r in setup.reps.values()}
    names |= {r.id: r.name for r in await uow.reps.get_many(list(wanted - set(names))) if r is not None}
    return DryRunOwnersRead(
        plan_id=plan.id,
        role=role,
        accounts=ruled,
        changed=changed,
        items=[
            OwnerChangeRead(
                account_id=i["account"]["id"],
                external_id=i["account"]["external_id"],
                account_name=i["account"]["name"],
                owner_rep_id=i["account"]["owner_rep_id"],
                owner_name=names.get(i["account"]["owner_rep_id"]),
                now=_placement(i["now"], names),
                proposed=_placement(i["proposed"], names),
            )
            for i in items
        ],
    )


async def dry_run_policy(ctx: AppContext, p: Principal, body: PolicyWrite) -> PolicyDryRunRead:
    """Validate the proposal as a save would (every broken part named), then rule every open dispute
    under the policy in force and under the proposal, on the same evidence; save nothing."""
    p.require(Scope.ADMIN)
    proposed = parse_policy(sent_policy(body), DEFAULTS)
    now = ctx.clock.now()
    async with ctx.uow(p.tenant_id) as uow:
        policy, version = await current_policy(uow)
        reruns = await rule_open_disputes(uow, policy, proposed, now)
        owners = await _owners_ruled(uow, policy, proposed, now)
    changed = [r for r in reruns if _changed(r)]
    items = [
        DisputeRulingChangeRead(
            dispute_id=r.dispute["id"],
            account_id=r.dispute["account_id"],
            account_name=r.account["name"],
            claimant_rep_id=r.dispute["claimant_rep_id"],
            claimant_name=r.claimant_name,
            owner_changes=r.now.owner_rep_id != r.proposed.owner_rep_id,
            now=_ruling(r.now),
            proposed=_ruling(r.proposed),
        )
        for r in changed[:MAX_LISTED_ACCOUNTS]
    ]
    return PolicyDryRunRead(
        as_of=now,
        policy_version=version,
        sentences=proposed.sentences(),
        disputes=DryRunDisputesRead(open=len(reruns), changed=len(changed), items=items),
        owners=owners,
    )
