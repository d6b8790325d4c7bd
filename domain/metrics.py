"""Rules of the weekly territory metrics (docs/domain.md, "Weekly metrics"): the week, an activity that
counts for it, a reply, a
meeting, a completed sequence, pipeline created, and the rates of a book.

Each rule over an activity, an opportunity or an account's week is a predicate (`domain.criteria`): the
report judges every account in SQL by the very rule written here, and `account_week` is the same rule
folded in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from domain.criteria import Cond, Not, Pred, all_of, any_of, evaluate
from domain.defaults import CoverageModel, CoverageRules
from domain.model import ActivityDirection

WEEK = timedelta(days=7)


def rate(part: int, whole: int) -> float | None:
    """Part / whole, or None when there is nothing to divide (never a made-up zero)."""
    return part / whole if whole else None


def sequence_target(tier: int, model: CoverageModel) -> int:
    """Touches that complete a tier's sequence: the low end of its range (tier 1 8-12, ...; docs/domain.md,
    "Weekly metrics")."""
    touches = {1: model.tier1_touches, 2: model.tier2_touches}.get(tier, model.tier3_touches)
    return touches[0]


@dataclass(frozen=True)
class Week:
    """Seven days from `start` (a date; the week runs from its UTC midnight)."""

    start: date

    @property
    def end(self) -> date:
        """The day after the week (exclusive)."""
        return self.start + WEEK

    @property
    def starts_at(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + WEEK


def week_of(week_start: date | None, today: date) -> Week:
    """The week asked for, or the one holding `today`, from its Monday."""
    return Week(week_start or today - timedelta(days=today.weekday()))


def _happened_between(since: datetime, until: datetime, now: datetime) -> Pred:
    return all_of(
        Cond("occurred_at", "ge", since), Cond("occurred_at", "lt", until), Cond("occurred_at", "le", now)
    )


def week_activity(week: Week, now: datetime) -> Pred:
    """An activity of the week that has happened (a planned one counts once it has)."""
    return _happened_between(week.starts_at, week.ends_at, now)


def sequence_activity(week: Week, now: datetime, rules: CoverageRules) -> Pred:
    """An activity of the sequence window that ends with the week (`sequence_window_days` long)."""
    return _happened_between(week.ends_at - timedelta(days=rules.sequence_window_days), week.ends_at, now)


def reply() -> Pred:
    """An activity that is the account answering: an inbound touch."""
    return Cond("direction", "eq", ActivityDirection.INBOUND.value)


def meeting(rules: CoverageRules) -> Pred:
    """An activity of one of the meeting kinds."""
    return Cond("kind", "in", tuple(rules.meeting_kinds))


def opportunity_created(week: Week) -> Pred:
    """An opportunity created in the week (by its creation day)."""
    return all_of(Cond("created_on", "ge", week.start), Cond("created_on", "lt", week.end))


def sequence_required(rules: CoverageRules) -> Pred:
    """An activity of a kind every tier 1 sequence must hold (a personalized video; docs/domain.md, "Weekly
    metrics")."""
    return Cond("kind", "in", tuple(rules.tier1_sequence_kinds))


def sequence_completed(model: CoverageModel, rules: CoverageRules) -> Pred:
    """Over an account's `tier`, `sequence_touches` and `sequence_required` (touches of the required kinds)
    in the sequence window: the touches reach the target of its tier (tier 3's for any other tier, or
    none), and a tier 1 sequence holds a touch of `tier1_sequence_kinds` when that names any."""
    t1, t2, t3 = (sequence_target(t, model) for t in (1, 2, 3))
    tier1 = [Cond("tier", "eq", 1), Cond("sequence_touches", "ge", t1)]
    if rules.tier1_sequence_kinds:
        tier1.append(Cond("sequence_required", "ge", 1))
    return any_of(
        all_of(*tier1),
        all_of(Cond("tier", "eq", 2), Cond("sequence_touches", "ge", t2)),
        all_of(Not(Cond("tier", "in", (1, 2))), Cond("sequence_touches", "ge", t3)),
    )


@dataclass(frozen=True)
class AccountWeek:
    """One account's week: its activities, whether it replied or met, its sequence touches (and those of
    the kinds a tier 1 sequence requires). An account is worked in the week when it had an activity in it."""

    touches: int
    replied: bool
    met: bool
    sequence_touches: int
    sequence_required: int = 0

    @property
    def worked(self) -> bool:
        return self.touches > 0


def account_week(
    activities: Iterable[Mapping[str, Any]], week: Week, now: datetime, rules: CoverageRules
) -> AccountWeek:
    """The week of one account from its activities (`occurred_at`, `kind`, `direction`)."""
    in_week, in_sequence = week_activity(week, now), sequence_activity(week, now, rules)
    touches = replied = met = sequence = required = 0
    for a in activities:
        if evaluate(in_week, a):
            touches += 1
            replied |= evaluate(reply(), a)
            met |= evaluate(meeting(rules), a)
        if evaluate(in_sequence, a):
            sequence += 1
            required += evaluate(sequence_required(rules), a)
    return AccountWeek(touches, bool(replied), bool(met), sequence, required)


@dataclass
class WeekTally:
    """A book's counts for the week (a rep's accounts of one tier)."""

    accounts: int = 0  # the book
    worked: int = 0  # accounts worked
    touches: int = 0
    replied: int = 0  # worked accounts that replied
    met: int = 0  # worked accounts with a meeting
    completed: int = 0  # accounts of the book whose sequence is complete (worked this week or not)
    pipeline: float = 0.0  # amount of the opportunities created in the week
    opportunities: int = 0


def add_account_week(
    tally: WeekTally, tier: int | None, week: AccountWeek, model: CoverageModel, rules: CoverageRules
) -> None:
    """Count one account of the book in its tally."""
    tally.accounts += 1
    tally.completed += evaluate(
        sequence_completed(model, rules),
        {
            "tier": tier,
            "sequence_touches": week.sequence_touches,
            "sequence_required": week.sequence_required,
        },
    )
    if week.worked:
        tally.worked += 1
        tally.touches += week.touches
        tally.replied += week.replied
        tally.met += week.met


@dataclass(frozen=True)
class WeeklyMetric:
    """The five weekly metrics of a book: accounts worked, sequence completion, reply rate, meeting
    rate, pipeline created. Sequence completion is over the book ("the percentage of Tier 1
    accounts that completed the full sequence"), reply and meeting rates over the accounts worked; each
    None when there is nothing to divide."""

    accounts: int
    accounts_worked: int
    touches: int
    sequence_target: int
    sequence_completed: int
    sequence_completion_rate: float | None
    reply_rate: float | None
    meeting_rate: float | None
    pipeline_created: float
    opportunities_created: int


def weekly_metric(tally: WeekTally, tier: int | None, model: CoverageModel) -> WeeklyMetric:
    return WeeklyMetric(
        accounts=tally.accounts,
        accounts_worked=tally.worked,
        touches=tally.touches,
        sequence_target=sequence_target(tier or 3, model),
        sequence_completed=tally.completed,
        sequence_completion_rate=rate(tally.completed, tally.accounts),
        reply_rate=rate(tally.replied, tally.worked),
        meeting_rate=rate(tally.met, tally.worked),
        pipeline_created=tally.pipeline,
        opportunities_created=tally.opportunities,
    )
