"""Ownership disputes (docs/domain.md, "Rules of engagement"): a rep claims an account another rep owns;
the engine gathers the evidence, proposes the ruling the written policy gives, and a RevOps decider
confirms or overrides it, with a note, within the policy's business-day deadline.

States: open -> decided -> applied, or open/decided -> withdrawn. Only an applied ruling changes an owner,
and only once; a decided dispute can still be withdrawn, an applied one cannot. Plain data in and out.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from domain.engagement import Candidate, Policy, Ruling, business_deadline, decide
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
        raise Conflict(f"a dispute that is {current.value} cannot be {to.value}", code=Code.CONFLICT)


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


def deadline(opened_on: date, policy: Policy, holidays: Collection[date] = ()) -> date:
    """The day a dispute opened on `opened_on` must be decided by (the policy's business days)."""
    return business_deadline(opened_on, policy.dispute_business_days, holidays)


def is_overdue(state: DisputeState, due: date, today: date) -> bool:
    """An open dispute past its deadline (a decided one has met it)."""
    return state is DisputeState.OPEN and today > due
