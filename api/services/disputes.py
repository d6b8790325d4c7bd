"""Disputes (docs/domain.md, "Rules of engagement"): a rep claims an account; the engine gathers the
evidence itself and proposes the ruling the tenant's policy gives; a RevOps decider (admin scope) confirms
or overrides it with a note; applying the ruling changes the owner in the active plan, with cause
`dispute`, through the change log like every other owner change. Each step is an event."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from api.services.common import Input, Page, found, referenced
from api.services.context import AppContext, Principal, tenant_settings
from api.services.engagement import current_policy, relationship_evidence, relationship_since
from api.services.pagination import check_page_size, decode_token, page_of
from domain.boundaries import parse_boundary
from domain.calendar import BusinessCalendar, Deadline, business_calendar
from domain.changes import Change, ChangeKind, owner_changes, owners_of
from domain.defaults import TenantSettings
from domain.disputes import (
    ClaimBasis,
    DisputeState,
    Proposal,
    check_move,
    deadline,
    is_overdue,
    propose,
)
from domain.engagement import Candidate, ClaimKind, Policy, RoleCheck, role_check
from domain.errors import Code, Conflict, FieldError, ValidationFailed
from domain.model import Assignment, AssignmentReason, Role, Scope, departed


class DisputeCreate(Input):
    account_id: UUID
    claimant_rep_id: UUID = Field(description="the rep who claims the account")
    role: Role = Role.AE
    basis: ClaimBasis = Field(description="what the claimant says gives them the account")
    note: str | None = Field(None, max_length=2_000, description="the claimant's own words")


class DisputeDecision(Input):
    owner_rep_id: UUID | None = Field(
        None, description="the rep the decider gives the account; none: confirm the proposal"
    )
    note: str = Field(min_length=1, max_length=2_000, description="why, kept with the decision")


class EvidenceRead(BaseModel):
    """What the engine found about one rep who could own the account."""

    rep_id: UUID
    name: str
    territory_id: UUID | None
    territory_name: str | None
    boundary_priority: int | None = Field(
        description="the priority of a territory of theirs whose boundary holds it"
    )
    named: bool = Field(description="a territory of theirs names the account")
    owner_of_record: bool
    meaningful_touches: int = Field(description="in the policy's relationship window")
    last_touch_at: datetime | None
    sourced_opportunities: int = Field(description="open, or won in the window, brought by the rep")
    departed: bool


class StepRead(BaseModel):
    code: str
    kept: list[str] = Field(description="the reps the rule favoured, by name")
    narrowed: bool


class ClaimRead(BaseModel):
    """What kind of claim it is, and the role the policy gives that kind (docs/domain.md, "Rules of
    engagement", Roles)."""

    kind: ClaimKind
    role: Role
    sentence: str


class ProposalRead(BaseModel):
    claim: ClaimRead | None = Field(
        None, description="the kind of claim; none on disputes opened before roles"
    )
    owner_rep_id: UUID | None
    owner_name: str | None
    claimant_wins: bool
    rule: str = Field(description="the code of the rule that decided, or tiebreak")
    sentence: str
    reason: str = Field(description="in words, naming the reps and their evidence")
    steps: list[StepRead]
    evidence: list[EvidenceRead]
    policy_version: int


class DecisionRead(BaseModel):
    owner_rep_id: UUID | None
    owner_name: str | None
    overridden: bool = Field(description="the decider gave the account to another rep than the proposal")
    rule: str = Field(description="the proposal's rule, or override")
    note: str


class HolidayRead(BaseModel):
    date: date
    name: str


class DeadlineRead(BaseModel):
    """How a dispute's deadline was counted, on the tenant's business calendar when it was opened."""

    business_days: int = Field(description="the policy's dispute_business_days")
    holidays: list[HolidayRead] = Field(description="holidays on working weekdays the count skipped")
    weekends: int = Field(description="weekends the count skipped")
    reason: str = Field(description="in words: the deadline, the days counted and what was skipped")


class DisputeRead(BaseModel):
    id: UUID
    account_id: UUID
    role: Role
    claimant_rep_id: UUID
    owner_rep_id: UUID | None = Field(description="the owner of record when the dispute was opened")
    basis: ClaimBasis
    note: str | None
    state: DisputeState
    opened_at: datetime
    due_on: date = Field(
        description="decided by this day: the policy's business days after opening, on the tenant's "
        "business calendar as it was then (a later calendar change leaves it as it is)"
    )
    deadline: DeadlineRead | None = Field(
        description="how due_on was counted; null for disputes opened before deadlines kept it"
    )
    overdue: bool = Field(description="still open after its deadline")
    proposal: ProposalRead
    decision: DecisionRead | None
    decided_at: datetime | None
    applied_at: datetime | None
    withdrawn_at: datetime | None
    version: int


class DisputePage(Page[DisputeRead]):
    """A page of disputes."""


def _read(row: Any, today: date) -> DisputeRead:
    return DisputeRead.model_validate(
        dict(row) | {"overdue": is_overdue(DisputeState(row["state"]), row["due_on"], today)}
    )


def tenant_calendar(settings: TenantSettings) -> BusinessCalendar:
    """The tenant's business calendar (docs/domain.md, "Business calendar")."""
    c = settings.calendar
    return business_calendar(c.country, c.subdivision, c.holidays, c.weekend)


def _deadline(d: Deadline) -> dict[str, Any]:
    return {
        "business_days": d.business_days,
        "holidays": [{"date": day.isoformat(), "name": name} for day, name in d.holidays],
        "weekends": d.weekends,
        "reason": d.reason,
    }


def _invalid(field: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, [FieldError(field, code, message)])


async def _candidates(
    uow: Any,
    account: Any,
    claimant_id: UUID,
    plan: Any,
    owner: Any,
    policy: Policy,
    now: datetime,
    kinds: Sequence[str],
) -> list[Candidate]:
    """The claimant, the owner of record and every rep whose territory in the active plan holds the
    account, each with what the activities, opportunities and boundaries say about them."""
    matched: dict[UUID, tuple[Any, bool]] = {}  # rep -> (its best territory holding the account, named)
    for t in await uow.assigning.plan_territories(plan.id) if plan else []:
        if t.primary_rep_id is None:
            continue
        try:
            boundary = parse_boundary(t.boundary)
        except ValidationFailed:
            continue  # a boundary stored before boundaries were checked holds nothing
        if not boundary.matches(account):
            continue
        named = account["external_id"] in boundary.named
        best = matched.get(t.primary_rep_id)
        if best is None or (named, t.priority) > (best[1], best[0].priority):
            matched[t.primary_rep_id] = (t, named)
    rep_ids = {claimant_id, *matched, *([owner.rep_id] if owner else [])}
    reps = {r.id: r for r in await uow.reps.get_many(list(rep_ids))}
    by_account, sourced_by_account = await relationship_evidence(uow, policy, [account["id"]], now, kinds)
    touches, sourced = by_account.get(account["id"], {}), sourced_by_account.get(account["id"], {})
    territories = {t.id: t for t, _ in matched.values()}
    out = []
    for rep_id in sorted(rep_ids, key=str):
        rep = reps.get(rep_id)
        if rep is None:
            continue
        territory, named = matched.get(rep_id, (None, False))
        is_owner = owner is not None and owner.rep_id == rep_id
        if is_owner and territory is None and owner.territory_id in territories:
            territory = territories[owner.territory_id]
        count, last = touches.get(rep_id, (0, None))
        out.append(
            Candidate(
                rep_id=rep_id,
                rep_name=rep.name,
                territory_id=territory.id if territory else (owner.territory_id if is_owner else None),
                territory_name=territory.name if territory else None,
                boundary_priority=territory.priority if territory else None,
                named=named,
                owner_of_record=is_owner,
                owner_since=owner.valid_from.date() if is_owner and owner.valid_from else None,
                meaningful_touches=count,
                last_touch_at=last,
                sourced_opportunities=sourced.get(rep_id, 0),
                started_on=rep.start_date,
                departed=departed(rep.end_date, now.date()),
            )
        )
    return out


async def _claim(
    uow: Any, account: Any, role: Role, policy: Policy, now: datetime, kinds: Sequence[str]
) -> RoleCheck:
    """The kind of claim a claim for `role` is on the account (engaged: a meaningful touch of `kinds` by
    anyone in the relationship window); a role that has no claim on it is refused, naming the rule."""
    touches = await uow.disputes.engaged_by(account["id"], relationship_since(policy, now), kinds)
    check = role_check(role, account["stage"], touches > 0, policy, touches=touches)
    if not check.allowed:
        raise _invalid("role", Code.ROLE_NOT_FOR_CLAIM, check.sentence)
    return check


async def _owner_in(uow: Any, plan: Any, account_id: UUID, role: str) -> Assignment | None:
    """The account's owner of record for the role in the active plan (None without a plan or owner)."""
    return None if plan is None else await uow.assignments.current_owner(plan.id, account_id, role)


def _propose(candidates: list[Candidate], claimant_id: UUID, policy: Policy, today: date) -> Proposal | None:
    """The ruling the policy gives between the candidates (None when the claimant is no longer a rep of
    the tenant)."""
    claimant = next((c for c in candidates if c.rep_id == claimant_id), None)
    if claimant is None:
        return None
    owner = next((c for c in candidates if c.owner_of_record), None)
    others = [c for c in candidates if c is not claimant and c is not owner]
    return propose(claimant, owner, others, policy, today)


@dataclass(frozen=True)
class Rerun:
    """An open dispute ruled again under two policies, on today's evidence."""

    dispute: Any
    account: Any
    claimant_name: str
    now: Proposal
    proposed: Proposal


async def rule_open_disputes(uow: Any, now_policy: Policy, proposed: Policy, now: datetime) -> list[Rerun]:
    """Each open dispute (by id) ruled under the policy in force and under `proposed`, with the evidence
    of today (a dispute whose account or claimant is gone is left out)."""
    plan = await uow.plans.active()
    kinds = (await tenant_settings(uow)).coverage.meaningful_kinds
    out = []
    for row in await uow.disputes.open_claims():
        account = await uow.disputes.account(row["account_id"])
        if account is None:
            continue
        owner = await _owner_in(uow, plan, row["account_id"], row["role"])
        rulings = []
        for policy in (now_policy, proposed):  # each gathers the evidence over its own windows
            candidates = await _candidates(
                uow, account, row["claimant_rep_id"], plan, owner, policy, now, kinds
            )
            rulings.append(_propose(candidates, row["claimant_rep_id"], policy, now.date()))
        if rulings[0] is None or rulings[1] is None:
            continue
        name = next(c.rep_name for c in candidates if c.rep_id == row["claimant_rep_id"])
        out.append(Rerun(row, account, name, rulings[0], rulings[1]))
    return out


def _evidence(c: Candidate) -> dict[str, Any]:
    return {
        "rep_id": str(c.rep_id),
        "name": c.rep_name,
        "territory_id": str(c.territory_id) if c.territory_id else None,
        "territory_name": c.territory_name,
        "boundary_priority": c.boundary_priority,
        "named": c.named,
        "owner_of_record": c.owner_of_record,
        "meaningful_touches": c.meaningful_touches,
        "last_touch_at": c.last_touch_at.isoformat() if c.last_touch_at else None,
        "sourced_opportunities": c.sourced_opportunities,
        "departed": c.departed,
    }


def _event(dispute_id: UUID, state: str, reason: str, now: datetime, **data: Any) -> Change:
    return Change(
        kind=ChangeKind.DISPUTE,
        subject_id=dispute_id,
        valid_from=now,
        cause=state,
        reason=reason[:1000],
        data={k: str(v) if isinstance(v, UUID) else v for k, v in data.items()},
    )


async def open_dispute(ctx: AppContext, p: Principal, data: DisputeCreate) -> DisputeRead:
    p.require(Scope.WRITE)
    now = ctx.clock.now()
    async with ctx.uow(p.tenant_id) as uow:
        account = await uow.disputes.account(data.account_id)
        if account is None:
            raise _invalid("account_id", Code.UNKNOWN_REFERENCE, f"no account {data.account_id}")
        claimant = await referenced(uow.reps, data.claimant_rep_id, "claimant_rep_id", "rep")
        if departed(claimant.end_date, now.date()):
            raise _invalid("claimant_rep_id", Code.REP_DEPARTED, f"{claimant.name} has left")
        plan = await uow.plans.active()
        owner = await _owner_in(uow, plan, data.account_id, data.role.value)
        if owner is not None and owner.rep_id == data.claimant_rep_id:
            raise _invalid("claimant_rep_id", Code.INVALID_VALUE, f"{claimant.name} already owns the account")
        standing = await uow.disputes.live_claim(data.account_id, data.role.value, data.claimant_rep_id)
        if standing is not None:
            raise Conflict(
                f"{claimant.name}'s claim on this account for {data.role.value} is already open: dispute "
                f"{standing}; withdraw it or wait for its decision",
                [FieldError("claimant_rep_id", Code.DISPUTE_EXISTS, f"dispute {standing} stands")],
                code=Code.DISPUTE_EXISTS,
            )
        policy, policy_version = await current_policy(uow)
        settings = await tenant_settings(uow)
        kinds = settings.coverage.meaningful_kinds
        claim = await _claim(uow, account, data.role, policy, now, kinds)
        candidates = await _candidates(uow, account, data.claimant_rep_id, plan, owner, policy, now, kinds)
        proposal = _propose(candidates, data.claimant_rep_id, policy, now.date())
        due = deadline(now.date(), policy, tenant_calendar(settings))
        if proposal is None:  # the claimant was read above: only a concurrent delete gets here
            raise _invalid("claimant_rep_id", Code.UNKNOWN_REFERENCE, f"no rep {data.claimant_rep_id}")
        ruling = proposal.ruling
        row = {
            "id": uuid.uuid4(),
            "account_id": data.account_id,
            "role": data.role.value,
            "claimant_rep_id": data.claimant_rep_id,
            "owner_rep_id": owner.rep_id if owner else None,
            "basis": data.basis.value,
            "note": data.note,
            "state": DisputeState.OPEN.value,
            "opened_at": now,
            "due_on": due.due_on,
            "deadline": _deadline(due),
            "policy_version": policy_version,
            "proposal": {
                "claim": {"kind": claim.kind, "role": data.role.value, "sentence": claim.sentence},
                "owner_rep_id": str(proposal.owner_rep_id) if proposal.owner_rep_id else None,
                "owner_name": ruling.owner.rep_name if ruling.owner else None,
                "claimant_wins": proposal.claimant_wins,
                "rule": ruling.rule,
                "sentence": ruling.sentence,
                "reason": ruling.reason,
                "steps": [
                    {"code": s.code, "kept": list(s.kept), "narrowed": s.narrowed} for s in ruling.steps
                ],
                "evidence": [_evidence(c) for c in candidates],
                "policy_version": policy_version,
            },
        }
        await uow.disputes.add(row)
        uow.record(
            _event(
                row["id"],
                "opened",
                f"{claimant.name} claims {account['name']}: the policy proposes {ruling.reason}",
                now,
                account_id=data.account_id,
                claimant_rep_id=data.claimant_rep_id,
                proposed_owner_rep_id=proposal.owner_rep_id,
                rule=ruling.rule,
            )
        )
        await uow.commit()
        stored = await _get(uow, row["id"])
    return _read(stored, now.date())


async def _get(uow: Any, dispute_id: UUID) -> Any:
    return found(await uow.disputes.get(dispute_id), "dispute", dispute_id)


async def get_dispute(ctx: AppContext, p: Principal, dispute_id: UUID) -> DisputeRead:
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        return _read(await _get(uow, dispute_id), ctx.clock.now().date())


async def list_disputes(
    ctx: AppContext,
    p: Principal,
    state: DisputeState | None,
    account_id: UUID | None,
    overdue: bool,
    page_token: str | None,
    page_size: int | None,
) -> DisputePage:
    p.require(Scope.READ)
    size = check_page_size(page_size)
    today = ctx.clock.now().date()
    async with ctx.uow(p.tenant_id) as uow:
        rows = await uow.disputes.page(
            size + 1,
            decode_token(page_token),
            state.value if state else None,
            account_id,
            today if overdue else None,
        )
    page = page_of([_read(r, today) for r in rows], size)
    return DisputePage(items=page.items, next_page_token=page.next_page_token)


async def decide_dispute(
    ctx: AppContext, p: Principal, dispute_id: UUID, data: DisputeDecision
) -> DisputeRead:
    """Confirm the proposal or give the account to another candidate; a decided dispute may be decided
    again (an override) until it is applied."""
    p.require(Scope.ADMIN)
    now = ctx.clock.now()
    async with ctx.uow(p.tenant_id) as uow:
        row = await _get(uow, dispute_id)
        check_move(DisputeState(row["state"]), DisputeState.DECIDED)
        proposal = row["proposal"]
        evidence = {e["rep_id"]: e for e in proposal["evidence"]}
        chosen = str(data.owner_rep_id) if data.owner_rep_id else proposal["owner_rep_id"]
        if chosen is None or chosen not in evidence:
            raise _invalid(
                "owner_rep_id", Code.INVALID_VALUE, "the account goes to one of the reps in the evidence"
            )
        if evidence[chosen]["departed"]:
            raise _invalid("owner_rep_id", Code.REP_DEPARTED, f"{evidence[chosen]['name']} has left")
        overridden = chosen != proposal["owner_rep_id"]
        decision = {
            "owner_rep_id": chosen,
            "owner_name": evidence[chosen]["name"],
            "overridden": overridden,
            "rule": "override" if overridden else proposal["rule"],
            "note": data.note,
        }
        await uow.disputes.update(
            dispute_id, row["version"], {"state": "decided", "decision": decision, "decided_at": now}
        )
        words = "overrides the proposal" if overridden else f"confirms {proposal['rule']}"
        uow.record(
            _event(
                dispute_id,
                "decided",
                f"{evidence[chosen]['name']}: the decider {words}: {data.note}",
                now,
                account_id=row["account_id"],
                owner_rep_id=chosen,
                rule=decision["rule"],
            )
        )
        await uow.commit()
        return _read(await _get(uow, dispute_id), now.date())


async def withdraw_dispute(ctx: AppContext, p: Principal, dispute_id: UUID) -> DisputeRead:
    p.require(Scope.WRITE)
    now = ctx.clock.now()
    async with ctx.uow(p.tenant_id) as uow:
        row = await _get(uow, dispute_id)
        check_move(DisputeState(row["state"]), DisputeState.WITHDRAWN)
        await uow.disputes.update(dispute_id, row["version"], {"state": "withdrawn", "withdrawn_at": now})
        await uow.commit()
        return _read(await _get(uow, dispute_id), now.date())


async def apply_dispute(ctx: AppContext, p: Principal, dispute_id: UUID) -> DisputeRead:
    """Give the account to the decided owner in the active plan: the owner's assignment ends and the new
    one starts, with reason `dispute` and the dispute's id in its note, in the change log at once (the
    next lookup answers the new owner)."""
    p.require(Scope.ADMIN)
    now = ctx.clock.now()
    async with ctx.uow(p.tenant_id) as uow:
        row = await _get(uow, dispute_id)
        check_move(DisputeState(row["state"]), DisputeState.APPLIED)
        decision = row["decision"]
        winner = UUID(decision["owner_rep_id"])
        evidence = {e["rep_id"]: e for e in row["proposal"]["evidence"]}
        territory = evidence[decision["owner_rep_id"]]["territory_id"]
        plan = await uow.plans.active()
        if plan is None:
            raise Conflict("there is no active plan to apply the ruling to", code=Code.NO_ACTIVE_PLAN)
        before = await _owner_in(uow, plan, row["account_id"], row["role"])
        if before is None or before.rep_id != winner:
            if before is not None:
                await uow.assignments.update(before.id, {"valid_to": now})
            after = await uow.assignments.add(
                Assignment(
                    id=uuid.uuid4(),
                    tenant_id=p.tenant_id,
                    plan_id=plan.id,
                    account_id=row["account_id"],
                    rep_id=winner,
                    role=Role(row["role"]),
                    territory_id=UUID(territory) if territory else (before.territory_id if before else None),
                    reason=AssignmentReason.DISPUTE,
                    note=f"dispute {dispute_id}: {decision['rule']}: {decision['note']}"[:1000],
                    valid_from=now,
                )
            )
            uow.record(
                *owner_changes(owners_of([before] if before else []), owners_of([after]), plan.id, now)
            )
        await uow.disputes.update(dispute_id, row["version"], {"state": "applied", "applied_at": now})
        uow.record(
            _event(
                dispute_id,
                "applied",
                f"{decision['owner_name']} owns the account by {decision['rule']}",
                now,
                account_id=row["account_id"],
                owner_rep_id=winner,
                rule=decision["rule"],
            )
        )
        await uow.commit()
        return _read(await _get(uow, dispute_id), now.date())
