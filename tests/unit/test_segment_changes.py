"""Segment changes: the due date from the review cadence, what a new derived segment does to the queue,
a change held until it is due, and the policy off."""

from datetime import date

from domain.defaults import EngagementRules, apply_overrides
from domain.engagement import default_policy, parse_policy
from domain.segment_changes import Action, ChangeState, decide_change, due_on, held, next_review, reason

POLICY = default_policy(EngagementRules())
AT_ONCE = parse_policy({"segment_change_at_review": False}, POLICY)
QUARTERLY = apply_overrides(None)


def test_a_change_is_due_at_the_next_review_of_the_cadence():
    assert due_on(date(2026, 10, 3), QUARTERLY, POLICY) == date(2027, 1, 1)
    assert due_on(date(2026, 12, 31), QUARTERLY, POLICY) == date(2027, 1, 1)
    monthly = apply_overrides({"reviews": {"cadence": "monthly"}})
    assert due_on(date(2026, 10, 3), monthly, POLICY) == date(2026, 11, 1)
    # a fiscal year from February: quarters close at the end of April, July, October and January
    february = apply_overrides({"reviews": {"fiscal_year_start_month": 2}})
    assert next_review(date(2026, 10, 3), february) == date(2026, 11, 1)
    assert due_on(date(2026, 10, 3), QUARTERLY, AT_ONCE) == date(2026, 10, 3)


def test_a_new_segment_is_queued_while_the_account_keeps_its_segment_of_record():
    d = decide_change("smb", "mid_market", pending=False, policy=POLICY)
    assert (d.action, d.segment, d.to_segment) == (Action.QUEUE, "smb", "mid_market")
    d = decide_change("smb", "enterprise", pending=True, policy=POLICY)
    assert (d.action, d.segment, d.to_segment) == (Action.UPDATE, "smb", "enterprise")
    d = decide_change("smb", "smb", pending=True, policy=POLICY)  # back where it was: nothing to reassign
    assert (d.action, d.segment) == (Action.CANCEL, "smb")
    assert decide_change("smb", "smb", pending=False, policy=POLICY).action is Action.NONE
    # a first segment, or none left, is at once: there is no territory to be reassigned from or to
    assert decide_change(None, "smb", pending=False, policy=POLICY) == decide_change(
        None, "smb", False, AT_ONCE
    )
    assert decide_change(None, "smb", pending=False, policy=POLICY).action is Action.AT_ONCE
    assert decide_change("smb", None, pending=True, policy=POLICY).segment is None


def test_with_the_policy_off_nothing_is_queued_and_a_waiting_change_is_dropped():
    d = decide_change("smb", "mid_market", pending=False, policy=AT_ONCE)
    assert (d.action, d.segment) == (Action.AT_ONCE, "mid_market")
    d = decide_change("smb", "mid_market", pending=True, policy=AT_ONCE)
    assert (d.action, d.segment) == (Action.CANCEL, "mid_market")


def test_a_change_is_held_until_it_is_due_by_the_review_applying_the_queue():
    due = date(2027, 1, 1)
    assert held(ChangeState.PENDING, due, date(2026, 12, 31))
    assert not held(ChangeState.PENDING, due, date(2027, 1, 1))
    assert not held(ChangeState.PENDING, due, None)  # a review without a day applies every one
    assert not held(ChangeState.APPLIED, due, date(2026, 12, 31))


def test_the_reason_names_the_account_the_direction_and_both_days():
    assert reason("Acme", "smb", "mid_market", date(2026, 10, 3), date(2027, 1, 1)) == (
        "segment change: Acme grew from smb to mid_market on 2026-10-03; "
        "reassigned at the quarterly review of 2027-01-01"
    )
    assert reason("Acme", "enterprise", "smb", date(2026, 10, 3), date(2026, 11, 1), "monthly").startswith(
        "segment change: Acme shrank from enterprise to smb"
    )
