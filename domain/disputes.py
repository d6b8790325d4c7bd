"""Ownership disputes (docs/domain.md, "Rules of engagement"): a rep claims an account another rep owns;
the engine gathers the evidence, proposes the ruling the written policy gives, and a RevOps decider
confirms or overrides it, with a note, within the policy's business-day deadline.

States: open -> decided -> applied, or open/decided -> withdrawn. Only an applied ruling changes an owner,
and only once; a decided dispute can still be withdrawn, an applied one cannot. Plain data in and out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from domain.calendar import BusinessCalendar, Deadline, business_deadline
from domain.engagement import Candidate, Policy, Ruling, decide
from domain.errors import Code, Conflict


class DisputeState(StrEnum):
    OPEN = "open"
    DECIDED = "decided"
    APPLIED = "applied"
    WITHDRAWN = "withdrawn"


class ClaimBasis(StrEnum):
    """What the claimant says gives them the account (the engine checks it against its own evidence)."""

    EXISTING_RELATIONSHIP = "existing_relationship"
    OPEN_OPPORTUNITY = "open_opportunity"
    SOURCED_IT = "sourced_it"
    HQ_LOCATION = "hq_location"
    PARENT_OWNER = "parent_owner"
    OTHER = "other"


# what each state may become
MOVES: dict[DisputeState, frozenset[DisputeState]] = {
    DisputeState.OPEN: frozenset({DisputeState.DECIDED, DisputeState.WITHDRAWN}),
    DisputeState.DECIDED: frozenset({DisputeState.APPLIED, DisputeState.WITHDRAWN, DisputeState.DECIDED}),
    DisputeState.APPLIED: frozenset(),
    DisputeState.WITHDRAWN: frozenset(),
}


def check_move(current: DisputeState, to: DisputeState) -> None:
    """Refuse a move the states do not allow (Conflict, naming both)."""
    if to not in MOVES[current]:
        raise Conflict(f"a dispute that is {current.value} cannot be {to.value}", code=Code.DISPUTE_STATE)


@dataclass(frozen=True)
class Proposal:
    """What the policy gives: the owner it names (a candidate's rep id, or None), and why."""

    owner_rep_id: Any
    ruling: Ruling
    claimant_wins: bool


def propose(
    claimant: Candidate, owner: Candidate | None, others: list[Candidate], policy: Policy, today: date
) -> Proposal:
    """The ruling the policy gives between the claimant, the current owner and any other rep whose
    territory holds the account."""
    candidates = [claimant, *([owner] if owner is not None else []), *others]
    ruling = decide(candidates, policy, today)
    winner = ruling.owner.rep_id if ruling.owner is not None else None
    return Proposal(winner, ruling, winner == claimant.rep_id)


def deadline(opened_on: date, policy: Policy, calendar: BusinessCalendar) -> Deadline:
    """The day a dispute opened on `opened_on` must be decided by: the policy's business days on the
    tenant's calendar, with the holidays and weekends it skipped."""
    return business_deadline(opened_on, policy.dispute_business_days, calendar)


def is_overdue(state: DisputeState, due: date, today: date) -> bool:
    """An open dispute past its deadline (a decided one has met it)."""
    return state is DisputeState.OPEN and today > due


# --- the dispute log: each dispute against its deadline, and the summary --------------------------------


class Timeliness(StrEnum):
    """A dispute against its deadline: decided by it or after it; still open past it or within it;
    withdrawn before anyone decided."""

    ON_TIME = "on_time"
    LATE = "late"
    OVERDUE = "overdue"
    PENDING = "pending"
    WITHDRAWN = "withdrawn"


def timeliness(state: DisputeState, due: date, decided_on: date | None, today: date) -> Timeliness:
    if decided_on is not None:
        return Timeliness.ON_TIME if decided_on <= due else Timeliness.LATE
    if state is DisputeState.OPEN:
        return Timeliness.OVERDUE if is_overdue(state, due, today) else Timeliness.PENDING
    return Timeliness.WITHDRAWN


@dataclass(frozen=True)
class LogEntry:
    """One dispute as the log summary sees it. `rule`: the code of the rule whose proposal it was;
    `overridden`: None while undecided."""

    state: DisputeState
    timeliness: Timeliness
    business_days_to_decision: int | None
    rule: str
    overridden: bool | None


@dataclass(frozen=True)
class RuleDecisions:
    rule: str
    decisions: int
    confirmed: int
    overridden: int


@dataclass(frozen=True)
class LogSummary:
    disputes: int
    by_state: dict[str, int]
    by_timeliness: dict[str, int]
    decided: int
    median_business_days: float | None
    p90_business_days: float | None
    on_time_share: float | None  # decided by the deadline / decided
    overrides: int
    by_rule: tuple[RuleDecisions, ...]  # most decisions first


def nearest_rank(values: list[int], share: float) -> float | None:
    """The `share` percentile by nearest rank (the smallest value with at least that share of the values
    at or below it); the median of an even count is the mean of the middle two."""
    if not values:
        return None
    ordered = sorted(values)
    if share == 0.5 and len(ordered) % 2 == 0:
        middle = len(ordered) // 2
        return (ordered[middle - 1] + ordered[middle]) / 2
    return float(ordered[max(1, math.ceil(len(ordered) * share)) - 1])


def summarise_log(entries: list[LogEntry]) -> LogSummary:
    """Counts by state and against the deadline, how long decisions took in business days (median and
    90th percentile), the share decided on time, and decisions by the rule that proposed them."""
    decided = [e for e in entries if e.overridden is not None]
    days = [e.business_days_to_decision for e in decided if e.business_days_to_decision is not None]
    on_time = sum(e.timeliness is Timeliness.ON_TIME for e in decided)
    rules: dict[str, list[int]] = {}
    for e in decided:
        counts = rules.setdefault(e.rule, [0, 0])
        counts[bool(e.overridden)] += 1
    by_rule = sorted(
        (RuleDecisions(rule, c + o, c, o) for rule, (c, o) in rules.items()),
        key=lambda r: (-r.decisions, r.rule),
    )
    return LogSummary(
        disputes=len(entries),
        by_state={s.value: n for s in DisputeState if (n := sum(e.state is s for e in entries))},
        by_timeliness={t.value: n for t in Timeliness if (n := sum(e.timeliness is t for e in entries))},
        decided=len(decided),
        median_business_days=nearest_rank(days, 0.5),
        p90_business_days=nearest_rank(days, 0.9),
        on_time_share=on_time / len(decided) if decided else None,
        overrides=sum(bool(e.overridden) for e in decided),
        by_rule=tuple(by_rule),
    )
