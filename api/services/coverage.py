"""Coverage tracking use cases: the coverage report, accounts that fail and why, one account's coverage,
overlaps, and the monthly review lists of a rep (docs/domain.md, "Coverage")."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from api.services.common import Page, RepRoleValue, found
from api.services.context import AppContext, Principal, versioned_settings
from api.services.pagination import check_page_size, decode_token, encode_token
from domain.coverage import (
    ENTRY_PATHS,
    FACT_FIELDS,
    RepTouch,
    coverage_rate,
    coverage_rules,
    coverage_status,
    covered,
    empty_facts,
    entry_path,
    last_touch,
    next_planned,
    overlap_since,
    overlaps,
    review_lists,
    review_role,
    tier_targets,
)
from domain.criteria import Cond, Not, Pred, all_of, evaluate
from domain.defaults import TenantSettings
from domain.errors import Code, FieldError, ValidationFailed
from domain.metrics import rate
from domain.model import Role, Scope
from domain.ports import SetBasedUnitOfWork
from persistence.coverage import RepLabel


class ReasonRead(BaseModel):
    code: str = Field(description="stable code: no_meaningful_touch, no_next_step, no_active_contact")
    message: str


class CoverageBucketRead(BaseModel):
    accounts: int
    covered: int
    rate: float | None = Field(description="covered / accounts; null when there is no account")
    target: float | None = Field(description="the tier's target (tier 1 >= 90%, tier 2 >= 60%), else null")
    meets_target: bool | None
    failing: dict[str, int] = Field(description="accounts failing each rule, by reason code")


class TierCoverageRead(CoverageBucketRead):
    tier: int | None = Field(description="null: accounts not scored yet")


class RepCoverageRead(CoverageBucketRead):
    rep_id: UUID | None = Field(description="null: accounts with no owner for the role")
    rep_name: str | None


class TerritoryCoverageRead(CoverageBucketRead):
    territory_id: UUID | None
    territory_name: str | None


class CoverageReportRead(BaseModel):
    as_of: datetime
    role: Role
    settings_version: int
    coverage_window_days: int
    rules: list[ReasonRead] = Field(description="covered = every rule holds")
    total: CoverageBucketRead
    by_tier: list[TierCoverageRead]
    by_rep: list[RepCoverageRead]
    by_territory: list[TerritoryCoverageRead]


class AccountCoverageItem(BaseModel):
    account_id: UUID
    external_id: str
    name: str
    stage: str
    tier: int | None
    potential: float | None
    icp_fit: bool | None
    rep_id: UUID | None = Field(description="owner of record for the role in the active plan")
    territory_id: UUID | None
    covered: bool
    reasons: list[ReasonRead] = Field(description="why the account is not covered; empty when it is")
    last_touch_at: datetime | None
    last_meaningful_touch_at: datetime | None
    last_contact_at: datetime | None
    next_step: str | None
    next_meeting_at: datetime | None
    open_pipeline: float
    path: Literal[ENTRY_PATHS] = Field(  # type: ignore[valid-type]
        description="the right path into the account: existing_relationship, partner_referral, "
        "executive_engagement, marketing_sourced, event or direct_outbound"
    )
    path_reason: str = Field(description="what in the account's data chose the path")
    lists: list[str] = Field(description="the monthly review lists the account is on")


class CoveragePage(Page[AccountCoverageItem]):
    as_of: datetime
    settings_version: int


class TouchRead(BaseModel):
    rep_id: UUID
    rep_name: str | None
    role: RepRoleValue | None
    last_touch_at: datetime
    touches: int


class OverlapRepRead(BaseModel):
    rep_id: UUID
    rep_name: str | None
    last_touch_at: datetime


class OverlapRead(BaseModel):
    role: RepRoleValue | None
    reps: list[OverlapRepRead]


class AccountCoverageRead(AccountCoverageItem):
    as_of: datetime
    settings_version: int
    touched_by: list[TouchRead]
    overlaps: list[OverlapRead]


class OverlapItem(BaseModel):
    account_id: UUID
    external_id: str
    name: str
    overlaps: list[OverlapRead]


class OverlapPage(Page[OverlapItem]):
    as_of: datetime
    window_days: int


class ReviewAccountRead(BaseModel):
    account_id: UUID
    external_id: str
    name: str
    stage: str
    tier: int | None
    potential: float | None
    covered: bool
    last_touch_at: datetime | None
    next_meeting_at: datetime | None
    next_step: str | None


class ReviewListRead(BaseModel):
    name: str = Field(description="touched_recently, prospected_not_contacted, meetings_next_two_weeks, ...")
    why: str = Field(description="the rule that puts an account on this list")
    count: int
    accounts: list[ReviewAccountRead] = Field(description="highest potential first, up to `limit`")


class RepReviewRead(BaseModel):
    as_of: datetime
    settings_version: int
    rep_id: UUID
    rep_name: str
    role: Role
    accounts: int
    covered: int
    coverage_rate: float | None
    lists: list[ReviewListRead]


class CoverageRefreshRead(BaseModel):
    accounts_with_facts: int = Field(description="accounts with at least one activity or opportunity")
    as_of: datetime
    seconds: float


@dataclass
class Frame:
    """What one report is judged under: settings and their version, the moment, the role whose owners
    count."""

    settings: TenantSettings
    version: int
    now: datetime
    role: str


async def frame(ctx: AppContext, uow: SetBasedUnitOfWork, p: Principal, role: str) -> Frame:
    """Settings, the clock, and facts brought up to date (planned activities that have happened since; the
    refresh is committed at once, whatever the report does next)."""
    p.require(Scope.READ)
    settings, version = await versioned_settings(uow)
    now = ctx.clock.now()
    await uow.coverage.refresh_due(now)
    await uow.commit()
    return Frame(settings, version, now, role)


def coverage_bucket(n: int, n_covered: int, target: float | None, failing: dict[str, int]) -> dict[str, Any]:
    """One row of a coverage table (a tier, a rep, a territory): the covered share against its target."""
    rate = coverage_rate(n, n_covered, target)
    return {
        "accounts": n,
        "covered": n_covered,
        "rate": rate.rate,
        "target": rate.target,
        "meets_target": rate.meets_target,
        "failing": failing,
    }


def filters(tier: int | None, rep_id: UUID | None, territory_id: UUID | None) -> list[Pred]:
    """The report rows of one tier, owner or territory (each given)."""
    given = (("tier", tier), ("rep_id", rep_id), ("territory_id", territory_id))
    return [Cond(field, "eq", value) for field, value in given if value is not None]


async def coverage_report(
    ctx: AppContext,
    p: Principal,
    role: str = "AE",
    tier: int | None = None,
    rep_id: UUID | None = None,
    territory_id: UUID | None = None,
) -> CoverageReportRead:
    """Coverage rate by tier (against the targets), by rep and by territory, with failure counts by reason.

    One aggregate query over the tenant (the rules compiled to SQL); nothing per account in Python.
    """
    async with ctx.uow(p.tenant_id) as uow:
        f = await frame(ctx, uow, p, role)
        rules = coverage_rules(f.settings.coverage, f.now)
        result = await uow.coverage.aggregate(
            role,
            where=filters(tier, rep_id, territory_id),
            group_by=("tier", "rep_id", "territory_id"),
            counts={"covered": covered(f.settings.coverage, f.now)}
            | {rule.code: Not(rule.holds) for rule in rules},
        )
        reps = await uow.coverage.rep_labels({x["rep_id"] for x in result} - {None})
        rep_names = {k: v.name for k, v in reps.items()}
        territory_names = await uow.coverage.territory_names({x["territory_id"] for x in result} - {None})
    codes = [rule.code for rule in rules]
    totals: dict[str, dict[Any, list[int]]] = {"tier": {}, "rep": {}, "territory": {}, "all": {}}
    for row in result:
        counts = [int(row["n"]), int(row["covered"] or 0), *(int(row[c] or 0) for c in codes)]
        for key, value in (
            ("tier", row["tier"]),
            ("rep", row["rep_id"]),
            ("territory", row["territory_id"]),
            ("all", None),
        ):
            acc = totals[key].setdefault(value, [0] * len(counts))
            for i, c in enumerate(counts):
                acc[i] += c
    targets = tier_targets(f.settings.coverage)

    def bucket(counts: list[int], target: float | None = None) -> dict[str, Any]:
        return coverage_bucket(counts[0], counts[1], target, dict(zip(codes, counts[2:], strict=True)))

    empty = [0] * (2 + len(codes))
    return CoverageReportRead.model_validate(
        {
            "as_of": f.now,
            "role": role,
            "settings_version": f.version,
            "coverage_window_days": f.settings.coverage.coverage_window_days,
            "rules": [{"code": rule.code, "message": rule.message} for rule in rules],
            "total": bucket(totals["all"].get(None, empty)),
            "by_tier": [
                {"tier": t} | bucket(c, targets.get(t) if t is not None else None)
                for t, c in sorted(totals["tier"].items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
            ],
            "by_rep": [
                {"rep_id": rid, "rep_name": rep_names.get(rid)} | bucket(c)
                for rid, c in sorted(
                    totals["rep"].items(), key=lambda kv: (kv[0] is None, rep_names.get(kv[0]) or "")
                )
            ],
            "by_territory": [
                {"territory_id": tid, "territory_name": territory_names.get(tid)} | bucket(c)
                for tid, c in sorted(
                    totals["territory"].items(),
                    key=lambda kv: (kv[0] is None, territory_names.get(kv[0]) or ""),
                )
            ],
        }
    )


def _facts_of(row: Any) -> dict[str, Any]:
    facts = empty_facts() | {k: row[k] for k in FACT_FIELDS if row[k] is not None}
    return facts


def account_item(row: Any, f: Frame, lists: dict[str, Any] | None = None) -> dict[str, Any]:
    """One account's coverage, with the reasons it is not covered and the review lists it is on."""
    facts = _facts_of(row)
    status = coverage_status(facts, f.settings.coverage, f.now)
    lists = lists if lists is not None else review_lists(f.settings.coverage, f.now)
    judged = dict(row) | facts
    path = entry_path(judged, f.settings.coverage, f.now)
    return {
        "account_id": row["account_id"],
        "external_id": row["external_id"],
        "name": row["name"],
        "stage": row["stage"],
        "tier": row["tier"],
        "potential": row["potential"],
        "icp_fit": row["icp_fit"],
        "rep_id": row["rep_id"],
        "territory_id": row["territory_id"],
        "covered": status.covered,
        "reasons": [{"code": r.code, "message": r.message} for r in status.reasons],
        "last_touch_at": last_touch(facts),
        "last_meaningful_touch_at": last_touch(facts, f.settings.coverage.meaningful_kinds),
        "last_contact_at": facts["last_contact_at"],
        "next_step": facts["next_step"],
        "next_meeting_at": next_planned(facts, f.settings.coverage.meeting_kinds),
        "open_pipeline": facts["open_pipeline"],
        "path": path.path,
        "path_reason": path.reason,
        "lists": [name for name, rule in lists.items() if evaluate(rule.holds, judged)],
    }


async def coverage_accounts(
    ctx: AppContext,
    p: Principal,
    role: str = "AE",
    covered_only: bool | None = None,
    tier: int | None = None,
    rep_id: UUID | None = None,
    territory_id: UUID | None = None,
    reason: str | None = None,
    list_name: str | None = None,
    page_size: int | None = None,
    page_token: str | None = None,
) -> CoveragePage:
    """Accounts with their coverage, filtered (not covered, a reason, a review list...), a page at a time."""
    size = check_page_size(page_size)
    after = decode_token(page_token)
    async with ctx.uow(p.tenant_id) as uow:
        f = await frame(ctx, uow, p, role)
        rules = {rule.code: rule for rule in coverage_rules(f.settings.coverage, f.now)}
        lists = review_lists(f.settings.coverage, f.now)
        preds: list[Pred] = filters(tier, rep_id, territory_id)
        if covered_only is not None:
            pred = covered(f.settings.coverage, f.now)
            preds.append(pred if covered_only else Not(pred))
        if reason is not None:
            if reason not in rules:
                raise ValidationFailed(
                    "unknown reason",
                    [FieldError("reason", Code.INVALID_CHOICE, f"one of: {', '.join(rules)}")],
                )
            preds.append(Not(rules[reason].holds))
        if list_name is not None:
            if list_name not in lists:
                raise ValidationFailed(
                    "unknown review list",
                    [FieldError("list", Code.INVALID_CHOICE, f"one of: {', '.join(lists)}")],
                )
            preds.append(lists[list_name].holds)
        if after is not None:
            preds.append(Cond("account_id", "gt", after))
        rows = await uow.coverage.accounts(role, where=[all_of(*preds)] if preds else [], limit=size + 1)
    items = [account_item(r, f, lists) for r in rows[:size]]
    return CoveragePage.model_validate(
        {
            "as_of": f.now,
            "settings_version": f.version,
            "items": items,
            "next_page_token": encode_token(rows[size - 1]["account_id"]) if len(rows) > size else None,
        }
    )


async def account_coverage(
    ctx: AppContext, p: Principal, account_id: UUID, role: str = "AE"
) -> AccountCoverageRead:
    """One account: facts, covered or why not, who touched it (per rep), overlaps and review lists."""
    async with ctx.uow(p.tenant_id) as uow:
        found(await uow.accounts.get(account_id), "account", account_id)
        f = await frame(ctx, uow, p, role)
        (row,) = await uow.coverage.accounts(role, where=[Cond("account_id", "eq", account_id)])
        touches = await uow.coverage.touches([account_id], f.now)
        reps = await uow.coverage.rep_labels({t.rep_id for t in touches})
    item = account_item(row, f)
    item["touched_by"] = [
        {
            "rep_id": t.rep_id,
            "rep_name": _label(reps, t.rep_id).name,
            "role": _label(reps, t.rep_id).role,
            "last_touch_at": t.last_touch_at,
            "touches": t.touches,
        }
        for t in sorted(touches, key=lambda t: t.last_touch_at, reverse=True)
    ]
    item["overlaps"] = _overlaps(touches, reps, f)
    return AccountCoverageRead.model_validate(item | {"as_of": f.now, "settings_version": f.version})


_NO_LABEL = RepLabel(None, None)  # a rep that is gone


def _label(reps: dict[Any, RepLabel], rep_id: Any) -> RepLabel:
    return reps.get(rep_id, _NO_LABEL)


def _overlaps(touches: Sequence[RepTouch], reps: dict[Any, RepLabel], f: Frame) -> list[dict[str, Any]]:
    last = {t.rep_id: t.last_touch_at for t in touches}
    found_ = overlaps(
        ((t.rep_id, _label(reps, t.rep_id).role, t.last_touch_at) for t in touches),
        f.settings.coverage,
        f.now,
    )
    return [
        {
            "role": role,
            "reps": [
                {"rep_id": r, "rep_name": _label(reps, r).name, "last_touch_at": last[r]} for r in rep_ids
            ],
        }
        for role, rep_ids in sorted(found_.items(), key=lambda kv: str(kv[0]))
    ]


async def overlap_report(
    ctx: AppContext,
    p: Principal,
    role: str | None = None,
    page_size: int | None = None,
    page_token: str | None = None,
) -> OverlapPage:
    """Accounts touched by two or more reps of the same role within the overlap window (docs/domain.md,
    "Coverage")."""
    size = check_page_size(page_size)
    after = decode_token(page_token)
    async with ctx.uow(p.tenant_id) as uow:
        f = await frame(ctx, uow, p, "AE")
        rules = f.settings.coverage
        since = overlap_since(rules, f.now)
        ids = await uow.coverage.overlapping_accounts(since, f.now, role, after, size + 1)
        page = ids[:size]
        touches = await uow.coverage.touches(page, f.now)
        reps = await uow.coverage.rep_labels({x.rep_id for x in touches})
        accounts = await uow.coverage.account_labels(page)
    by_account: dict[Any, list[RepTouch]] = {}
    for x in touches:
        by_account.setdefault(x.account_id, []).append(x)
    items = []
    for account_id in page:
        found_ = _overlaps(by_account.get(account_id, []), reps, f)
        if role is not None:
            found_ = [o for o in found_ if o["role"] == role]
        items.append(
            {
                "account_id": account_id,
                "external_id": accounts[account_id].external_id,
                "name": accounts[account_id].name,
                "overlaps": found_,
            }
        )
    return OverlapPage.model_validate(
        {
            "as_of": f.now,
            "window_days": rules.overlap_window_days,
            "items": items,
            "next_page_token": encode_token(ids[size - 1]) if len(ids) > size else None,
        }
    )


async def rep_review(ctx: AppContext, p: Principal, rep_id: UUID, limit: int = 50) -> RepReviewRead:
    """The monthly review with one rep (docs/domain.md, "Coverage"): each list with its count and its first
    accounts, highest potential first, and the rep's coverage rate."""
    async with ctx.uow(p.tenant_id) as uow:
        rep = found(await uow.reps.get(rep_id), "rep", rep_id)
        role = review_role(rep.role)
        f = await frame(ctx, uow, p, role)
        rows = await uow.coverage.accounts(role, where=[Cond("rep_id", "eq", rep_id)])
    lists = review_lists(f.settings.coverage, f.now)
    items = sorted(
        (account_item(r, f, lists) for r in rows), key=lambda i: (-(i["potential"] or 0), i["external_id"])
    )
    out_lists = []
    for name, rule in lists.items():
        members = [i for i in items if name in i["lists"]]
        out_lists.append(
            {
                "name": name,
                "why": rule.message,
                "count": len(members),
                "accounts": [_brief(i) for i in members[:limit]],
            }
        )
    n_covered = sum(1 for i in items if i["covered"])
    return RepReviewRead.model_validate(
        {
            "as_of": f.now,
            "settings_version": f.version,
            "rep_id": rep_id,
            "rep_name": rep.name,
            "role": role,
            "accounts": len(items),
            "covered": n_covered,
            "coverage_rate": rate(n_covered, len(items)),
            "lists": out_lists,
        }
    )


BRIEF_KEYS = (
    "account_id",
    "external_id",
    "name",
    "stage",
    "tier",
    "potential",
    "covered",
    "last_touch_at",
    "next_meeting_at",
    "next_step",
)


def _brief(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in BRIEF_KEYS}


async def refresh_coverage(ctx: AppContext, p: Principal) -> CoverageRefreshRead:
    """Recompute every coverage fact of the tenant from its activities and opportunities (after upgrading
    to a version that adds facts, or to repair them). Imports keep them current; this is never needed
    for day-to-day use."""
    p.require(Scope.ADMIN)
    started = time.perf_counter()
    now = ctx.clock.now()
    async with ctx.uow(p.tenant_id) as uow:
        await uow.coverage.refresh_facts(now)
        accounts = await uow.coverage.count_facts()
        await uow.commit()
    return CoverageRefreshRead(
        accounts_with_facts=accounts, as_of=now, seconds=round(time.perf_counter() - started, 3)
    )
