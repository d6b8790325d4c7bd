"""The weekly metrics' rules (seed 004): the week, what counts for it, completed sequences, the rates."""

from datetime import UTC, date, datetime, timedelta

from domain.criteria import evaluate
from domain.defaults import DEFAULTS
from domain.metrics import (
    AccountWeek,
    WeekTally,
    account_week,
    add_account_week,
    sequence_completed,
    week_of,
    weekly_metric,
)

NOW = datetime(2026, 11, 25, 15, tzinfo=UTC)  # a Wednesday
MODEL = DEFAULTS.coverage_model  # tier 1: 8 touches, tier 2: 5, tier 3: 2


def _activity(hours_ago: float, kind: str = "email", direction: str = "outbound") -> dict:
    return {"occurred_at": NOW - timedelta(hours=hours_ago), "kind": kind, "direction": direction}


def test_the_week_runs_from_monday_unless_a_start_is_given():
    assert week_of(None, NOW.date()).start == date(2026, 11, 23)
    assert week_of(None, NOW.date()).end == date(2026, 11, 30)
    assert week_of(date(2026, 11, 11), NOW.date()).starts_at == datetime(2026, 11, 11, tzinfo=UTC)


def test_planned_activities_count_once_they_have_happened_and_the_sequence_window_reaches_back():
    week = week_of(None, NOW.date())
    got = account_week(
        [_activity(1), _activity(-1, "meeting"), _activity(24 * 3, direction="inbound")],
        week,
        NOW,
        DEFAULTS.coverage,
    )
    # the planned meeting has not happened; last Sunday's reply is before the week, in the sequence window
    assert got == AccountWeek(touches=1, replied=False, met=False, sequence_touches=2)


def test_a_reply_and_a_meeting_of_the_week_mark_the_account():
    week = week_of(None, NOW.date())
    got = account_week(
        [_activity(1, "meeting"), _activity(2, direction="inbound")], week, NOW, DEFAULTS.coverage
    )
    assert (got.touches, got.replied, got.met) == (2, True, True)


def test_a_sequence_completes_at_its_tiers_target_and_an_unscored_account_has_tier_threes():
    done = sequence_completed(MODEL)
    assert not evaluate(done, {"tier": 1, "sequence_touches": 7})
    assert evaluate(done, {"tier": 1, "sequence_touches": 8})
    assert evaluate(done, {"tier": 2, "sequence_touches": 5})
    assert evaluate(done, {"tier": None, "sequence_touches": 2})
    assert not evaluate(done, {"tier": 3, "sequence_touches": 1})


def test_rates_are_over_the_accounts_worked_and_none_without_any():
    tally = WeekTally()
    add_account_week(tally, 3, AccountWeek(0, False, False, 0), MODEL)
    assert weekly_metric(tally, 3, MODEL).reply_rate is None
    add_account_week(tally, 3, AccountWeek(2, True, False, 2), MODEL)
    add_account_week(tally, 3, AccountWeek(1, False, True, 1), MODEL)
    metric = weekly_metric(tally, 3, MODEL)
    assert (metric.accounts, metric.accounts_worked, metric.touches) == (3, 2, 3)
    assert (metric.reply_rate, metric.meeting_rate, metric.sequence_completion_rate) == (0.5, 0.5, 0.5)
    assert metric.sequence_target == 2
