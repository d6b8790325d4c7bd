"""Rules of engagement (docs/domain.md, "Rules of engagement"): the tenant's written, ordered policy,
read in sentences, replaced as a new version (the old ones stay readable)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from api.services.common import Input, check_version
from api.services.context import AppContext, Principal
from domain.changes import policy_change
from domain.defaults import MAX_MONEY, MAX_SETTING_DAYS, MAX_SETTING_LIST, EngagementRules
from domain.engagement import (
    ClaimKind,
    Policy,
    RuleKind,
    TieKey,
    default_policy,
    parse_policy,
    policy_to_dict,
)
from domain.errors import NotFound
from domain.model import Role, Scope
from domain.preconditions import Precondition

DEFAULTS = default_policy(EngagementRules())


class RuleWrite(Input):
    kind: RuleKind
    code: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_]{1,64}$", description="a stable code rulings name; the kind by default"
    )
    min_touches: int | None = Field(None, ge=1, le=1_000, description="existing_relationship")
    window_days: int | None = Field(None, ge=1, le=MAX_SETTING_DAYS, description="existing_relationship")
    sourced_counts: bool | None = Field(
        None, description="existing_relationship: a sourced opportunity is a relationship (default true)"
    )
    days: int | None = Field(None, ge=1, le=MAX_SETTING_DAYS, description="ramp_protection and lease")


class PolicyWrite(Input):
    """A whole policy: what is not given takes the default (GET shows it)."""

    rules: list[RuleWrite] | None = Field(None, min_length=1, max_length=MAX_SETTING_LIST)
    tiebreak: list[TieKey] | None = Field(None, max_length=len(TieKey))
    roles: dict[ClaimKind, Role] | None = None
    parent_deal_threshold: float | None = Field(None, ge=0, le=MAX_MONEY)
    in_flight_deals_stay: bool | None = None
    segment_change_at_review: bool | None = None
    dispute_business_days: int | None = Field(None, ge=1, le=60)
    note: str | None = Field(None, max_length=1_000, description="why this version: kept with it")


class RuleRead(BaseModel):
    kind: RuleKind
    code: str
    sentence: str = Field(description="the rule as a rep reads it")
    min_touches: int | None = None
    window_days: int | None = None
    sourced_counts: bool | None = None
    days: int | None = None


class PolicyRead(BaseModel):
    version: int = Field(description="0: the defaults, never saved; each save adds one")
    saved_at: datetime | None
    note: str | None
    rules: list[RuleRead] = Field(description="asked in this order; the first to single out a rep decides")
    tiebreak: list[TieKey] = Field(description="for reps still level after every rule, then the rep's id")
    roles: dict[ClaimKind, Role]
    parent_deal_threshold: float
    in_flight_deals_stay: bool
    segment_change_at_review: bool
    dispute_business_days: int
    sentences: list[str] = Field(description="the whole policy in words, in order")


def _read(policy: Policy, version: int, saved_at: datetime | None, note: str | None) -> PolicyRead:
    data = policy_to_dict(policy)
    rules = [
        RuleRead(**{k: v for k, v in r.items() if k in RuleRead.model_fields}, sentence=rule.sentence)
        for r, rule in zip(data.pop("rules"), policy.rules, strict=True)
    ]
    return PolicyRead.model_validate(
        data
        | {"rules": rules, "version": version, "saved_at": saved_at, "note": note}
        | {"sentences": policy.sentences()}
    )


def _from_row(row: Any) -> PolicyRead:
    return _read(parse_policy(row.body, DEFAULTS), row.version, row.saved_at, row.note)


async def current_policy(uow: Any) -> tuple[Policy, int]:
    """The policy in force for the unit of work's tenant, and its version (0: the defaults)."""
    row = await uow.engagement.current()
    return (DEFAULTS, 0) if row is None else (parse_policy(row.body, DEFAULTS), row.version)


def relationship_since(policy: Policy, now: datetime) -> datetime:
    """The start of the policy's relationship window (the default policy's without that rule)."""
    relationship = policy.rule(RuleKind.EXISTING_RELATIONSHIP) or DEFAULTS.rule(
        RuleKind.EXISTING_RELATIONSHIP
    )
    assert relationship is not None
    return now - timedelta(days=int(relationship.params["window_days"]))


async def relationship_evidence(
    uow: Any, policy: Policy, account_ids: list[Any], now: datetime, kinds: Sequence[str]
) -> tuple[dict[Any, dict[Any, tuple[int, datetime | None]]], dict[Any, dict[Any, int]]]:
    """What the existing-relationship rule looks at (docs/domain.md, Rules of engagement), per account and
    rep: the meaningful touches (`kinds`: settings coverage.meaningful_kinds) in the policy's window with
    the last one ever, and the opportunities the rep sourced (open, or won in the window). A policy
    without the rule looks back the default's days."""
    since = relationship_since(policy, now)
    touches = await uow.disputes.touches_by_rep(account_ids, since, kinds)
    return touches, await uow.disputes.sourced_by_rep(account_ids, since.date())


async def get_policy(ctx: AppContext, p: Principal) -> PolicyRead:
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        row = await uow.engagement.current()
    return _read(DEFAULTS, 0, None, None) if row is None else _from_row(row)


async def get_policy_version(ctx: AppContext, p: Principal, version: int) -> PolicyRead:
    p.require(Scope.READ)
    if version == 0:
        return _read(DEFAULTS, 0, None, None)
    async with ctx.uow(p.tenant_id) as uow:
        row = await uow.engagement.version(version)
    if row is None:
        raise NotFound(f"no engagement policy version {version}")
    return _from_row(row)


def sent_policy(body: PolicyWrite) -> dict[str, Any]:
    """The policy fields of a body, as `parse_policy` reads them (a save and a dry run alike)."""
    data = body.model_dump(exclude_none=True, exclude={"note", "rules"}, mode="json")
    if body.rules is not None:
        data["rules"] = [r.model_dump(exclude_none=True, mode="json") for r in body.rules]
    return data


async def replace_policy(
    ctx: AppContext, p: Principal, body: PolicyWrite, precondition: Precondition | None = None
) -> PolicyRead:
    """Validate (every broken part named), then save as the next version; a bad policy leaves the old one
    in force."""
    p.require(Scope.ADMIN)
    policy = parse_policy(sent_policy(body), DEFAULTS)
    async with ctx.uow(p.tenant_id) as uow:
        _, current = await current_policy(uow)
        await check_version(uow, precondition, current, "engagement policy")
        now = ctx.clock.now()
        await uow.engagement.save(current + 1, policy_to_dict(policy), body.note, now)
        # the lookup shows the family threshold: every worker's index takes it from the log
        uow.record(policy_change(p.tenant_id, now, current + 1, policy.parent_deal_threshold))
        await uow.commit()
    return _read(policy, current + 1, now, body.note)
