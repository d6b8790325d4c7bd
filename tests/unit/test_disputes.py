"""Disputes: the states, the proposal the policy gives, the deadline (docs/domain.md, "Rules of
engagement")."""

from datetime import date, datetime

import pytest

from domain.calendar import BusinessCalendar
from domain.defaults import EngagementRules
from domain.disputes import DisputeState, check_move, deadline, is_overdue, propose
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
