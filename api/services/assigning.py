"""Assignment by boundary rules: every account of the tenant to the highest-priority territory of a draft
plan whose boundary matches it, owned by the territory's primary rep. Unmatched accounts and ties are
listed, never dropped; locked assignments never move; history is kept (a move ends the old assignment)."""

from __future__ import annotations

import os
import uuid
from datetime import date
from typing import Any, NamedTuple
from uuid import UUID

from api.services.assignments import AssignByRulesRead
from api.services.common import found
from api.services.context import AppContext, Principal
from domain.boundaries import RuleTerritory, assign_by_rules, describe_boundary, parse_boundary
from domain.defaults import MAX_LISTED_ACCOUNTS
from domain.errors import Code, Conflict, FieldError, ValidationFailed
from domain.model import AssignmentReason, PlanState, Role, Scope, departed

CHUNK = 10_000


class _Owner(NamedTuple):
    id: Any
    territory_id: Any
    rep_id: Any
    locked: bool


def _owner(account: dict[str, Any]) -> _Owner | None:
    """The account's current owner in the plan, read with it (persistence.assigning.accounts_for_rules)."""
    if account["owner_assignment_id"] is None:
        return None
    return _Owner(
        account["owner_assignment_id"],
        account["owner_territory_id"],
        account["owner_rep_id"],
        bool(account["owner_locked"]),
    )


def _brief(account: dict[str, Any]) -> dict[str, Any]:
    return {"account_id": account["id"], "external_id": account["external_id"], "name": account["name"]}


async def _owners(uow: Any, territories: list[Any], today: date) -> dict[Any, Any]:
    """territory id -> the primary rep who owns its accounts: none when it has no primary rep, or when its
    primary rep has left (an end date before today; docs/domain.md, Departures and arrivals)."""
    reps = {r.id: r for r in await uow.reps.get_many(list({t.primary_rep_id for t in territories} - {None}))}
    return {
        t.id: t.primary_rep_id
        for t in territories
        if t.primary_rep_id in reps and not departed(reps[t.primary_rep_id].end_date, today)
    }


async def assign_plan_by_rules(
    ctx: AppContext, p: Principal, plan_id: UUID, role: Role = Role.AE
) -> AssignByRulesRead:
    p.require(Scope.WRITE)
    async with ctx.uow(p.tenant_id) as uow:
        plan = found(await uow.plans.get(plan_id), "plan", plan_id)
    if plan.state != PlanState.DRAFT:
        raise Conflict(
            "rules assign accounts in a draft plan; copy the active plan into a draft, then activate it",
            code=Code.PLAN_NOT_DRAFT,
        )
    now = ctx.clock.now()
    counts = {"accounts": 0, "assigned": 0, "moved": 0, "unchanged": 0, "locked": 0}
    unmatched: list[dict[str, Any]] = []
    conflicts: list[dict[str, Any]] = []
    ownerless: list[dict[str, Any]] = []
    n_unmatched = n_conflicts = n_ownerless = 0
    async with ctx.uow(p.tenant_id) as uow:
        rows = await uow.assigning.plan_territories(plan_id)
        territories, errors = [], []
        for t in rows:
            try:
                territories.append(RuleTerritory(t.id, t.name, t.priority, parse_boundary(t.boundary)))
            except ValidationFailed as exc:  # stored before boundaries were checked
                errors += [
                    FieldError(f"territories[{t.name}].{e.field}", e.code, e.message) for e in exc.errors
                ]
        if errors:
            raise ValidationFailed("a territory's boundary is not valid", errors, code=Code.INVALID_BOUNDARY)
        info = {t.id: t for t in rows}
        owner = await _owners(uow, rows, now.date())
        notes = {t.id: f"boundary of {t.name}: {describe_boundary(t.boundary)}" for t in rows}
        async for chunk in uow.assigning.accounts_for_rules(plan_id, role.value, CHUNK):
            counts["accounts"] += len(chunk)
            by_id = {a["id"]: a for a in chunk}
            result = assign_by_rules(((a["id"], a) for a in chunk), territories)
            n_unmatched += len(result.unmatched)
            unmatched += [_brief(by_id[k]) for k in result.unmatched[: MAX_LISTED_ACCOUNTS - len(unmatched)]]
            for k, tied in result.conflicts.items():
                n_conflicts += 1
                if len(conflicts) < MAX_LISTED_ACCOUNTS:
                    conflicts.append(
                        _brief(by_id[k])
                        | {
                            "territories": [
                                {"territory_id": t, "name": info[t].name, "priority": info[t].priority}
                                for t in tied
                            ]
                        }
                    )
            ends, adds = [], []
            for account_id, territory_id in result.assigned.items():
                rep_id = owner.get(territory_id)
                now_owner = _owner(by_id[account_id])
                if rep_id is None:
                    n_ownerless += 1
                    if len(ownerless) < MAX_LISTED_ACCOUNTS:
                        ownerless.append(
                            _brief(by_id[account_id])
                            | {"territory_id": territory_id, "territory_name": info[territory_id].name}
                        )
                    continue
                if now_owner is not None and now_owner.locked:
                    counts["locked"] += 1
                    continue
                if now_owner is not None and (now_owner.territory_id, now_owner.rep_id) == (
                    territory_id,
                    rep_id,
                ):
                    counts["unchanged"] += 1
                    continue
                if now_owner is not None:
                    ends.append(now_owner.id)
                    counts["moved"] += 1
                else:
                    counts["assigned"] += 1
                adds.append(
                    {
                        "id": uuid.UUID(bytes=os.urandom(16), version=4),
                        "tenant_id": p.tenant_id,
                        "plan_id": plan_id,
                        "account_id": account_id,
                        "territory_id": territory_id,
                        "rep_id": rep_id,
                        "role": role.value,
                        "locked": False,
                        "reason": AssignmentReason.RULE.value,
                        "note": notes[territory_id],
                        "valid_from": now,
                    }
                )
            await uow.assigning.end_assignments(ends, now)
            await uow.assigning.add_assignments(adds)
        await uow.commit()
    return AssignByRulesRead.model_validate(
        {
            "plan_id": plan_id,
            "role": role.value,
            **counts,
            "unmatched": {"count": n_unmatched, "accounts": unmatched},
            "conflicts": {"count": n_conflicts, "accounts": conflicts},
            "territories_without_owner": {"count": n_ownerless, "accounts": ownerless},
        }
    )
