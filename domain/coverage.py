"""Coverage tracking (seeds 000, 001): an account is covered only when it had a meaningful touch in the
coverage window, has a documented next step, and has an active contact. Assigned is not covered.

Facts are folded one activity at a time, so ingest can keep them current and reports stay cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from domain.defaults import CoverageRules
from domain.model import Stage


@dataclass(frozen=True)
class CoverageFacts:
    last_touch: datetime | None = None
    last_meaningful_touch: datetime | None = None
    last_activity: datetime | None = None  # the latest one decides whether a next step is documented
    next_step: str | None = None
    last_contact_touch: datetime | None = None  # latest touch with a named contact
    touches: tuple[tuple[Any, str | None, datetime], ...] = field(
        default=()
    )  # (rep, role, when), recent ones


def add_activity(
    facts: CoverageFacts,
    when: datetime,
    kind: str,
    rep: Any,
    role: str | None,
    next_step: str | None,
    contact: str | None,
    rules: CoverageRules,
    now: datetime,
) -> CoverageFacts:
    """The facts after one more activity; touches older than the coverage window are dropped."""
    if when > now:  # planned (a meeting next week): not a touch yet
        return facts
    meaningful = kind in rules.meaningful_kinds
    horizon = now - timedelta(days=rules.coverage_window_days)
    # the latest activity decides the next step; at the same moment, a documented next step wins
    latest = (
        facts.last_activity is None
        or when > facts.last_activity
        or (when == facts.last_activity and bool(next_step))
    )
    return replace(
        facts,
        last_touch=max(filter(None, (facts.last_touch, when))),
        last_meaningful_touch=max(
            filter(None, (facts.last_meaningful_touch, when if meaningful else None)), default=None
        ),
        last_activity=when if latest else facts.last_activity,
        next_step=(next_step or None) if latest else facts.next_step,
        last_contact_touch=max(
            filter(None, (facts.last_contact_touch, when if contact else None)), default=None
        ),
        touches=tuple(t for t in (*facts.touches, (rep, role, when)) if t[2] >= horizon),
    )


def coverage_facts(
    activities: Iterable[Mapping[str, Any]], rules: CoverageRules, now: datetime
) -> CoverageFacts:
    facts = CoverageFacts()
    for a in sorted(activities, key=lambda a: a["occurred_at"]):
        facts = add_activity(
            facts,
            a["occurred_at"],
            a["kind"],
            a.get("rep_id"),
            a.get("role"),
            a.get("next_step"),
            a.get("contact"),
            rules,
            now,
        )
    return facts


@dataclass(frozen=True)
class CoverageStatus:
    covered: bool
    reasons: tuple[str, ...]  # why not, in the words of the rule


def coverage_status(facts: CoverageFacts, rules: CoverageRules, now: datetime) -> CoverageStatus:
    horizon = now - timedelta(days=rules.coverage_window_days)
    reasons = []
    if facts.last_meaningful_touch is None or facts.last_meaningful_touch < horizon:
        reasons.append(f"no meaningful touch in the last {rules.coverage_window_days} days")
    if not facts.next_step:
        reasons.append("no documented next step")
    if facts.last_contact_touch is None or facts.last_contact_touch < horizon:
        reasons.append(f"no active contact in the last {rules.coverage_window_days} days")
    return CoverageStatus(not reasons, tuple(reasons))


@dataclass(frozen=True)
class TierCoverage:
    tier: int
    accounts: int
    covered: int
    rate: float
    target: float | None
    meets_target: bool
    failing: tuple[tuple[Any, tuple[str, ...]], ...]  # (account, reasons)


def coverage_by_tier(
    accounts: Iterable[tuple[Any, int, CoverageFacts]], rules: CoverageRules, now: datetime
) -> list[TierCoverage]:
    """Coverage rate per tier against the targets (tier 1 >= 90%, tier 2 >= 60%), with what fails and why."""
    grouped: dict[int, list[tuple[Any, CoverageStatus]]] = {}
    for account, tier, facts in accounts:
        grouped.setdefault(tier, []).append((account, coverage_status(facts, rules, now)))
    targets = {1: rules.tier1_target, 2: rules.tier2_target}
    result = []
    for tier in sorted(grouped):
        rows = grouped[tier]
        covered = sum(1 for _, s in rows if s.covered)
        rate = covered / len(rows)
        target = targets.get(tier)
        result.append(
            TierCoverage(
                tier,
                len(rows),
                covered,
                rate,
                target,
                target is None or rate >= target,
                tuple((a, s.reasons) for a, s in rows if not s.covered),
            )
        )
    return result


def overlapping_reps(
    facts: CoverageFacts, rules: CoverageRules, now: datetime, window_days: int | None = None
) -> dict[str | None, set[Any]]:
    """Roles whose account was touched by two or more reps of that role in the window (seed 000)."""
    horizon = now - timedelta(days=window_days or rules.coverage_window_days)
    by_role: dict[str | None, set[Any]] = {}
    for rep, role, when in facts.touches:
        if when >= horizon and rep is not None:
            by_role.setdefault(role, set()).add(rep)
    return {role: reps for role, reps in by_role.items() if len(reps) >= 2}


def is_whitespace(stage: Stage, icp_fit: bool, open_pipeline: bool) -> bool:
    """Seed 002: ICP-fit accounts minus customers and accounts with open pipeline."""
    return icp_fit and stage != Stage.CUSTOMER and not open_pipeline
