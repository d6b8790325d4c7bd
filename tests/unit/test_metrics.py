"""The weekly metrics' rules (seed 004): the week, what counts for it, completed sequences, the rates."""

import dataclasses
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
    done = sequence_completed(MODEL, DEFAULTS.coverage)
    assert not evaluate(done, {"tier": 1, "sequence_touches": 7, "sequence_required": 1})
    assert evaluate(done, {"tier": 1, "sequence_touches": 8, "sequence_required": 1})
    assert evaluate(done, {"tier": 2, "sequence_touches": 5})
    assert evaluate(done, {"tier": None, "sequence_touches": 2})
    assert not evaluate(done, {"tier": 3, "sequence_touches": 1})


def test_reply_and_meeting_rates_are_over_the_accounts_worked_and_none_without_any():
    tally = WeekTally()
    rules = DEFAULTS.coverage
    add_account_week(tally, 3, AccountWeek(0, False, False, 0), MODEL, rules)
    assert weekly_metric(tally, 3, MODEL).reply_rate is None
    add_account_week(tally, 3, AccountWeek(2, True, False, 2), MODEL, rules)
    add_account_week(tally, 3, AccountWeek(1, False, True, 1), MODEL, rules)
    metric = weekly_metric(tally, 3, MODEL)
    assert (metric.accounts, metric.accounts_worked, metric.touches) == (3, 2, 3)
    assert (metric.reply_rate, metric.meeting_rate) == (0.5, 0.5)
    assert metric.sequence_target == 2


def test_sequence_completion_is_over_the_tier1_book_not_the_accounts_worked_this_week():
    # seed 004: "what percentage of Tier 1 accounts completed the full 8-12 touch sequence?" Four tier 1
    # accounts: one completed its sequence last week and is not worked this week, one is worked this week
    # and completes, two are worked without completing: 2 of 4, not 1 of 3 worked
    tally = WeekTally()
    rules = DEFAULTS.coverage
    add_account_week(tally, 1, AccountWeek(0, False, False, 9, 1), MODEL, rules)
    add_account_week(tally, 1, AccountWeek(3, False, False, 8, 1), MODEL, rules)
    add_account_week(tally, 1, AccountWeek(2, False, False, 3, 0), MODEL, rules)
    add_account_week(tally, 1, AccountWeek(1, False, False, 1, 0), MODEL, rules)
    metric = weekly_metric(tally, 1, MODEL)
    assert (metric.accounts, metric.accounts_worked, metric.sequence_completed) == (4, 3, 2)
    assert metric.sequence_completion_rate == 0.5


def test_a_tier1_sequence_needs_a_personalized_video_unless_the_setting_names_no_kind():
    week = week_of(None, NOW.date())
    emails = [_activity(24 * d) for d in range(10)]  # ten touches over the window, none a video
    got = account_week(emails, week, NOW, DEFAULTS.coverage)
    assert (got.sequence_touches, got.sequence_required) == (10, 0)
    facts = {"tier": 1, "sequence_touches": 10, "sequence_required": 0}
    assert not evaluate(sequence_completed(MODEL, DEFAULTS.coverage), facts)
    with_video = account_week([*emails[:7], _activity(30, "video")], week, NOW, DEFAULTS.coverage)
    assert with_video.sequence_required == 1
    assert evaluate(
        sequence_completed(MODEL, DEFAULTS.coverage),
        {"tier": 1, "sequence_touches": 8, "sequence_required": 1},
    )
    any_kind = dataclasses.replace(DEFAULTS.coverage, tier1_sequence_kinds=())
    assert evaluate(sequence_completed(MODEL, any_kind), facts)
    # tier 2 needs no video (seed 004: automated sequences)
    assert evaluate(
        sequence_completed(MODEL, DEFAULTS.coverage),
        {"tier": 2, "sequence_touches": 5, "sequence_required": 0},
    )
