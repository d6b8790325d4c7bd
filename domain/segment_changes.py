"""Segment changes (docs/domain.md, "Rules of engagement", Segment changes): an account whose derived segment
changes is reassigned at the next review of the tenant's cadence, not at once. Until the review applies it,
the account keeps its segment of record (what boundaries, and every rule that reads a segment, read) and
the new one waits in a queue. Plain data in and out; the clock is passed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from domain.defaults import TenantSettings
from domain.engagement import Policy, next_quarter_start, segment_change_effective
from domain.model import Segment
from domain.reviews import review_schedule

# smallest first: a move up this list is growth
SIZE_ORDER = (Segment.SMB, Segment.MID_MARKET, Segment.ENTERPRISE)


class ChangeState(StrEnum):
    PENDING = "pending"  # waiting for the review
    APPLIED = "applied"  # the review gave the account its new segment (in a draft plan)
    CANCELLED = "cancelled"  # the account went back to its segment of record before the review


class Outcome(StrEnum):
    """What applying one change did to the account's owner in the draft."""

    MOVED = "moved"  # given to the territory whose boundary holds it under the new segment
    ASSIGNED = "assigned"  # it had no owner in the draft; now it has
    UNCHANGED = "unchanged"  # the same territory holds it under the new segment
    LOCKED = "locked"  # its owner is locked there: it does not move
    UNMATCHED = "unmatched"  # no territory of the draft holds it under the new segment: it keeps its owner
    CONFLICT = "conflict"  # two territories of the same priority hold it: it keeps its owner
    NO_OWNER = "no_owner"  # the territory that holds it has no primary rep (or one who left)


class Action(StrEnum):
    NONE = "none"  # nothing changes
    AT_ONCE = "at_once"  # the segment of record becomes the derived one now; nothing is queued
    QUEUE = "queue"  # a new pending change
    UPDATE = "update"  # the pending change now goes to another segment
    CANCEL = "cancel"  # the pending change is dropped: the account is back in its segment of record


@dataclass(frozen=True)
class Decision:
    action: Action
    segment: Segment | str | None  # what the account's segment of record is after it
    to_segment: Segment | str | None = None  # what the pending change holds (QUEUE, UPDATE)


def next_review(today: date, settings: TenantSettings) -> date:
    """The day of the next review of the tenant's cadence (docs/domain.md, "Territory plan"); a quarterly
    tenant on a January year: the first day of the next quarter."""
    schedule = review_schedule(today, settings)
    return schedule[0].review_date if schedule else next_quarter_start(today)


def due_on(changed_on: date, settings: TenantSettings, policy: Policy) -> date:
    """When a change seen on `changed_on` is reassigned: at the next review (the policy's
    `segment_change_at_review`), else on the day itself."""
    return segment_change_effective(changed_on, next_review(changed_on, settings), policy)


def decide_change(
    of_record: Segment | str | None, derived: Segment | str | None, pending: bool, policy: Policy
) -> Decision:
    """What a new derived segment does. `of_record`: the account's segment now (what boundaries read);
    `pending`: a change is already waiting for the review. An account with no segment of record takes its
    first one at once (there is nothing to be reassigned from), and one that loses its segment (no revenue
    nor employees left) too. With the policy off every change is at once and a waiting one is dropped."""
    if derived == of_record:
        return Decision(Action.CANCEL if pending else Action.NONE, of_record)
    if not policy.segment_change_at_review or of_record is None or derived is None:
        return Decision(Action.CANCEL if pending else Action.AT_ONCE, derived)
    return Decision(Action.UPDATE if pending else Action.QUEUE, of_record, derived)


def held(state: ChangeState | str, due: date, by: date | None) -> bool:
    """A waiting change not yet due by `by` (None: whenever it is due): a review applying the changes due
    by then leaves it waiting, and the account with the owner its segment of record gives it."""
    return ChangeState(state) is ChangeState.PENDING and by is not None and by < due


def cadence_word(settings: TenantSettings) -> str:
    return {"semiannual": "half-yearly"}.get(settings.reviews.cadence, settings.reviews.cadence)


def reason(
    name: str, from_segment: str, to_segment: str, changed_on: date, due: date, cadence: str = "quarterly"
) -> str:
    """The move's reason, in words: "segment change: Acme grew from smb to mid_market on 2026-10-03;
    reassigned at the quarterly review of 2027-01-01"."""
    sizes = [s.value for s in SIZE_ORDER]
    grew = sizes.index(str(to_segment)) > sizes.index(str(from_segment))
    return (
        f"segment change: {name} {'grew' if grew else 'shrank'} from {from_segment} to {to_segment} on "
        f"{changed_on.isoformat()}; reassigned at the {cadence} review of {due.isoformat()}"
    )
