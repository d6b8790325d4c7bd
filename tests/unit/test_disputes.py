"""Disputes: the states, the proposal the policy gives, the deadline (docs/domain.md, "Rules of
engagement")."""

from datetime import date, datetime

import pytest

from domain.calendar import BusinessCalendar
from domain.defaults import EngagementRules
from domain.disputes import (
    DisputeState,
    LogEntry,
    Timeliness,
    check_move,
    deadline,
    is_overdue,
    nearest_rank,
    propose,
    summarise_log,
    timeliness,
)
from domain.engagement import Candidate, default_policy, parse_policy
from domain.errors import Conflict

POLICY = default_policy(EngagementRules())


def test_a_claim_with_the_relationship_wins_over_the_hq_owner():
    owner = Candidate("james", "James", territory_name="East", boundary_priority=1, owner_of_record=True)
    claimant = Candidate("sarah", "Sarah", meaningful_touches=5, last_touch_at=datetime(2026, 11, 28))
    proposal = propose(claimant, owner, [], POLICY, date(2026, 12, 2))
    assert proposal.claimant_wins and proposal.owner_rep_id == "sarah"
    assert proposal.ruling.rule == "existing_relationship"


def test_a_claim_without_evidence_leaves_the_owner_of_record():
    owner = Candidate("james", "James", boundary_priority=1, owner_of_record=True, meaningful_touches=1)
    claimant = Candidate("sarah", "Sarah", meaningful_touches=1)
    proposal = propose(claimant, owner, [], POLICY, date(2026, 12, 2))
    assert not proposal.claimant_wins and proposal.ruling.rule == "territory_of_record"


def test_states_move_only_forward_and_once():
    check_move(DisputeState.OPEN, DisputeState.DECIDED)
    check_move(DisputeState.DECIDED, DisputeState.DECIDED)  # an override of the decision
    check_move(DisputeState.DECIDED, DisputeState.APPLIED)
    for current, to in (
        (DisputeState.OPEN, DisputeState.APPLIED),  # decided first
        (DisputeState.APPLIED, DisputeState.WITHDRAWN),
        (DisputeState.APPLIED, DisputeState.APPLIED),  # applied once
        (DisputeState.WITHDRAWN, DisputeState.DECIDED),
    ):
        with pytest.raises(Conflict):
            check_move(current, to)


def test_the_deadline_counts_the_policy_business_days():
    assert deadline(date(2026, 12, 4), POLICY, BusinessCalendar()).due_on == date(2026, 12, 11)
    three = parse_policy({"dispute_business_days": 3}, POLICY)
    own = BusinessCalendar(own={date(2026, 12, 8): "offsite"})
    assert deadline(date(2026, 12, 4), three, own).due_on == date(2026, 12, 10)
    assert is_overdue(DisputeState.OPEN, date(2026, 12, 11), date(2026, 12, 12))
    assert not is_overdue(DisputeState.DECIDED, date(2026, 12, 11), date(2026, 12, 12))
    assert not is_overdue(DisputeState.OPEN, date(2026, 12, 11), date(2026, 12, 11))


def test_a_dispute_stands_against_its_deadline():
    due = date(2026, 12, 29)
    assert timeliness(DisputeState.DECIDED, due, date(2026, 12, 29), date(2027, 1, 5)) is Timeliness.ON_TIME
    assert timeliness(DisputeState.APPLIED, due, date(2026, 12, 30), date(2027, 1, 5)) is Timeliness.LATE
    assert timeliness(DisputeState.OPEN, due, None, date(2026, 12, 30)) is Timeliness.OVERDUE
    assert timeliness(DisputeState.OPEN, due, None, date(2026, 12, 29)) is Timeliness.PENDING
    assert timeliness(DisputeState.WITHDRAWN, due, None, date(2027, 1, 5)) is Timeliness.WITHDRAWN
    # decided, then withdrawn: it was still decided, on time
    assert timeliness(DisputeState.WITHDRAWN, due, date(2026, 12, 22), date(2027, 1, 5)) is Timeliness.ON_TIME


def test_the_log_summary_counts_decisions_by_rule_and_their_business_days():
    entries = [
        LogEntry(DisputeState.APPLIED, Timeliness.ON_TIME, days, "existing_relationship", False)
        for days in (0, 1, 2, 3, 4, 5, 6, 7, 8)
    ]
    entries += [
        LogEntry(DisputeState.DECIDED, Timeliness.LATE, 12, "boundary", True),
        LogEntry(DisputeState.OPEN, Timeliness.OVERDUE, None, "boundary", None),
        LogEntry(DisputeState.WITHDRAWN, Timeliness.WITHDRAWN, None, "tiebreak", None),
    ]
    summary = summarise_log(entries)
    assert summary.disputes == 12 and summary.decided == 10
    assert summary.by_state == {"open": 1, "decided": 1, "applied": 9, "withdrawn": 1}
    assert summary.by_timeliness == {"on_time": 9, "late": 1, "overdue": 1, "withdrawn": 1}
    assert summary.median_business_days == 4.5  # the middle two of ten: 4 and 5
    assert summary.p90_business_days == 8.0  # the 9th of ten by nearest rank
    assert summary.on_time_share == 0.9 and summary.overrides == 1
    assert [(r.rule, r.decisions, r.confirmed, r.overridden) for r in summary.by_rule] == [
        ("existing_relationship", 9, 9, 0),
        ("boundary", 1, 0, 1),
    ]
    empty = summarise_log([])
    assert empty.median_business_days is None and empty.on_time_share is None and empty.by_rule == ()
    assert nearest_rank([7], 0.9) == 7.0 and nearest_rank([3, 1, 2], 0.5) == 2.0
