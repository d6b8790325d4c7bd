"""Segment changes (docs/domain.md, "Rules of engagement", Segment changes): an account that changes
segment on a PATCH or an import waits in a queue for the next review; the review applies the queue in a
draft plan, giving each account to the territory whose boundary holds it under its new segment."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from api.services.common import Input, IsoDate, Page, found
from api.services.context import AppContext, Principal, tenant_settings
from api.services.engagement import current_policy
from api.services.pagination import check_page_size, decode_token, page_of
from domain.boundaries import RuleTerritory, assign_by_rules, parse_boundary
from domain.defaults import TenantSettings
from domain.errors import Code, Conflict
from domain.model import AssignmentReason, PlanState, Role, Scope, Segment, departed
from domain.segment_changes import (
    Action,
    ChangeState,
    Outcome,
    cadence_word,
    decide_change,
    due_on,
    held,
    reason,
)


class SegmentChangeRead(BaseModel):
    id: UUID
    account_id: UUID
    external_id: str
    account_name: str
    from_segment: Segment = Field(description="the segment of record while the change waits")
    to_segment: Segment = Field(description="the segment derived from the account's revenue or employees")
    changed_at: datetime
    due_on: date = Field(description="the next review after the change: when it is reassigned")
    state: ChangeState
    reason: str = Field(description="the change in words; an applied one's is its move's reason")
    applied_at: datetime | None
    plan_id: UUID | None = Field(description="the draft the review applied it in")
    territory_id: UUID | None = Field(description="the territory that holds it under the new segment")
    rep_id: UUID | None
    outcome: Outcome | None = Field(description="what applying it did to the account's owner in the draft")


class SegmentChangePage(Page[SegmentChangeRead]):
    """A page of segment changes, in id order."""


class SegmentChangeApply(Input):
    plan_id: UUID = Field(description="a draft plan: the review's")
    due_by: IsoDate | None = Field(
        None, description="only the changes due by this day (the review's date); none: every pending one"
    )


class SegmentChangeApplyRead(BaseModel):
    plan_id: UUID
    applied: int
    held: int = Field(description="pending changes due after due_by, left waiting")
    outcomes: dict[Outcome, int]
    changes: list[SegmentChangeRead] = Field(description="the changes applied, with their outcome")


def _read(row: Any, settings: TenantSettings) -> SegmentChangeRead:
    words = row["reason"] or reason(
        row["account_name"],
        row["from_segment"],
        row["to_segment"],
        row["changed_at"].date(),
        row["due_on"],
        cadence_word(settings),
    )
    return SegmentChangeRead.model_validate(dict(row) | {"reason": words})


def _new_id() -> UUID:
    return uuid.UUID(bytes=os.urandom(16), version=4)


async def segments_of_record(
    uow: Any, derived: Sequence[tuple[UUID, str | None, str | None]], now: datetime, settings: TenantSettings
) -> dict[UUID, str | None]:
    """For accounts whose derived segment was just computed (id, segment of record, derived), the segment
    each is to keep now; queue, update or cancel their waiting changes as the policy says (a PATCH, an
    import; a new account takes its segment at once)."""
    if not derived:
        return {}
    policy, _ = await current_policy(uow)
    pending = await uow.segment_changes.pending_for([a for a, _, _ in derived])
    out: dict[UUID, str | None] = {}
    adds, cancels, targets = [], [], {}
    due = due_on(now.date(), settings, policy)
    for account_id, of_record, new in derived:
        waiting = pending.get(account_id)
        decision = decide_change(of_record, new, waiting is not None, policy)
        out[account_id] = decision.segment
        if decision.action is Action.QUEUE:
            adds.append(
                {
                    "id": _new_id(),
                    "account_id": account_id,
                    "from_segment": of_record,
                    "to_segment": decision.to_segment,
                    "changed_at": now,
                    "due_on": due,
                    "state": ChangeState.PENDING.value,
                }
            )
        elif decision.action is Action.UPDATE and waiting["to_segment"] != decision.to_segment:
            targets[waiting["id"]] = decision.to_segment
        elif decision.action is Action.CANCEL:
            cancels.append(waiting["id"])
    await uow.segment_changes.add(adds)
    await uow.segment_changes.retarget(targets)
    await uow.segment_changes.cancel(cancels)
    return out


async def list_segment_changes(
    ctx: AppContext,
    p: Principal,
    state: ChangeState | None,
    account_id: UUID | None,
    due_by: date | None,
    page_token: str | None,
    page_size: int | None,
) -> SegmentChangePage:
    p.require(Scope.READ)
    size = check_page_size(page_size)
    async with ctx.uow(p.tenant_id) as uow:
        settings = await tenant_settings(uow)
        rows = await uow.segment_changes.page(
            size + 1, decode_token(page_token), state.value if state else None, account_id, due_by
        )
    page = page_of([_read(r, settings) for r in rows], size)
    return SegmentChangePage(items=page.items, next_page_token=page.next_page_token)


async def _rule_territories(uow: Any, plan_id: UUID, today: date) -> tuple[list[RuleTerritory], dict]:
    """The draft's territories as boundary rules, and territory id -> its primary rep while they have not
    left (docs/domain.md, Departures and arrivals)."""
    rows = await uow.assigning.plan_territories(plan_id)
    reps = {r.id: r for r in await uow.reps.get_many(list({t.primary_rep_id for t in rows} - {None}))}
    owners = {
        t.id: t.primary_rep_id
        for t in rows
        if t.primary_rep_id in reps and not departed(reps[t.primary_rep_id].end_date, today)
    }
    return [RuleTerritory(t.id, t.name, t.priority, parse_boundary(t.boundary)) for t in rows], owners


async def apply_segment_changes(
    ctx: AppContext, p: Principal, data: SegmentChangeApply
) -> SegmentChangeApplyRead:
    """The review: each pending change due by `due_by` gives its account its new segment of record and, in
    the draft, the territory whose boundary holds it under that segment (a locked owner stays; an account
    no territory holds keeps its owner). The move's reason names the change; the changes are applied."""
    p.require(Scope.WRITE)
    now = ctx.clock.now()
    async with ctx.uow(p.tenant_id) as uow:
        await uow.segment_changes.exclusive("segment-changes:apply")  # one review at a time per tenant
        plan = found(await uow.plans.get(data.plan_id), "plan", data.plan_id)
        if plan.state != PlanState.DRAFT:
            raise Conflict(
                "the review applies segment changes in a draft plan; copy the active plan into a draft",
                code=Code.PLAN_NOT_DRAFT,
            )
        settings = await tenant_settings(uow)
        waiting = await uow.segment_changes.pending_accounts()
        due = [w for w in waiting if not held(w["state"], w["due_on"], data.due_by)]
        territories, owners = await _rule_territories(uow, plan.id, now.date())
        matched = assign_by_rules(
            ((w["account_id"], w["account"] | {"segment": w["to_segment"]}) for w in due), territories
        )
        current = {
            a.account_id: a
            for a in await uow.assignments.current_of([plan.id], [w["account_id"] for w in due])
            if a.role == Role.AE
        }
        ends, adds, applied = [], [], []
        for w in due:
            words = reason(
                w["account"]["name"],
                w["from_segment"],
                w["to_segment"],
                w["changed_at"].date(),
                w["due_on"],
                cadence_word(settings),
            )
            owner = current.get(w["account_id"])
            territory_id = matched.assigned.get(w["account_id"])
            rep_id = owners.get(territory_id)
            if w["account_id"] in matched.conflicts:
                outcome = Outcome.CONFLICT
            elif territory_id is None:
                outcome = Outcome.UNMATCHED
            elif rep_id is None:
                outcome = Outcome.NO_OWNER
            elif owner is not None and (owner.territory_id, owner.rep_id) == (territory_id, rep_id):
                outcome = Outcome.UNCHANGED
            elif owner is not None and owner.locked:
                outcome = Outcome.LOCKED
            else:
                outcome = Outcome.MOVED if owner is not None else Outcome.ASSIGNED
                if owner is not None:
                    ends.append(owner.id)
                adds.append(
                    {
                        "id": _new_id(),
                        "tenant_id": p.tenant_id,
                        "plan_id": plan.id,
                        "account_id": w["account_id"],
                        "territory_id": territory_id,
                        "rep_id": rep_id,
                        "role": Role.AE.value,
                        "locked": False,
                        "reason": AssignmentReason.RULE.value,
                        "note": words,
                        "valid_from": now,
                    }
                )
            applied.append(
                {
                    **w,
                    "external_id": w["account"]["external_id"],
                    "account_name": w["account"]["name"],
                    "state": ChangeState.APPLIED.value,
                    "applied_at": now,
                    "plan_id": plan.id,
                    "territory_id": territory_id,
                    "rep_id": rep_id,
                    "outcome": outcome.value,
                    "reason": words,
                }
            )
        await uow.segment_changes.set_segments({w["account_id"]: w["to_segment"] for w in due}, now)
        await uow.assigning.end_assignments(ends, now)
        await uow.assigning.add_assignments(adds)
        await uow.segment_changes.applied(applied)
        await uow.commit()
    changes = [_read(r, settings) for r in applied]
    outcomes = {o: sum(c.outcome is o for c in changes) for o in Outcome}
    return SegmentChangeApplyRead(
        plan_id=plan.id,
        applied=len(changes),
        held=len(waiting) - len(due),
        outcomes={o: n for o, n in outcomes.items() if n},
        changes=changes,
    )
