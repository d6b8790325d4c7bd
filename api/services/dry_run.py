"""A policy dry run (docs/domain.md, "Dry run"): what a proposed policy would decide
differently before it is saved. The answer has one section per kind of decision: `disputes` (the open
disputes whose ruling would change); the current owners the proposal would decide differently are a
section to come beside it. Nothing is saved."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from api.services.context import AppContext, Principal
from api.services.disputes import Rerun, rule_open_disputes
from api.services.engagement import DEFAULTS, PolicyWrite, current_policy, sent_policy
from domain.defaults import MAX_LISTED_ACCOUNTS
from domain.disputes import Proposal
from domain.engagement import parse_policy
from domain.model import Scope


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


class PolicyDryRunRead(BaseModel):
    """What the proposed policy would decide differently; a section per kind of decision."""

    as_of: datetime
    policy_version: int = Field(description="the version in force the proposal is compared with")
    sentences: list[str] = Field(description="the proposed policy in words, in order")
    disputes: DryRunDisputesRead


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


async def dry_run_policy(ctx: AppContext, p: Principal, body: PolicyWrite) -> PolicyDryRunRead:
    """Validate the proposal as a save would (every broken part named), then rule every open dispute
    under the policy in force and under the proposal, on the same evidence; save nothing."""
    p.require(Scope.ADMIN)
    proposed = parse_policy(sent_policy(body), DEFAULTS)
    now = ctx.clock.now()
    async with ctx.uow(p.tenant_id) as uow:
        policy, version = await current_policy(uow)
        reruns = await rule_open_disputes(uow, policy, proposed, now)
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
    )
