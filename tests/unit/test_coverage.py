from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.coverage import (
    KINDS,
    Activity,
    coverage_facts,
    coverage_rate,
    coverage_status,
    covered,
    last_touch,
    next_planned,
    overlaps,
    rep_touches,
    review_lists,
    whitespace,
)
from domain.criteria import Cond, Not, all_of, any_of, evaluate, fields_of
from domain.defaults import DEFAULTS, apply_overrides, check_settings
from domain.errors import ValidationFailed
from domain.metrics import rate, sequence_target

NOW = datetime(2026, 11, 23, tzinfo=UTC)
RULES = DEFAULTS.coverage


def act(days_ago, kind="call", rep="r1", next_step="demo", contact="CFO", direction="outbound", path=None):
    return Activity(NOW - timedelta(days=days_ago), kind, rep, next_step, contact, direction, path)


def status(*activities):
    return coverage_status(coverage_facts(activities, NOW), RULES, NOW)


def codes(s):
    return [r.code for r in s.reasons]


def test_covered_needs_a_touch_in_90_days_a_next_step_and_a_contact():
    assert status(act(10)).covered
    assert status(act(89)).covered
    assert codes(status(act(91))) == ["no_meaningful_touch", "no_active_contact"]
    assert (
        status(act(91)).reasons[0].message
        == "no meaningful touch (call, meeting, visit, video) in the last 90 days"
    )
    assert codes(status(act(5, next_step=""))) == ["no_next_step"]
    assert codes(status(act(5, contact=None))) == ["no_active_contact"]
    # the contact may come from an email while the meaningful touch is a call
    assert status(act(5, contact=None), act(6, kind="email", next_step=None)).covered


def test_an_email_is_a_touch_but_not_a_meaningful_one_and_assigned_is_not_covered():
    facts = coverage_facts([act(3, kind="email")], NOW)
    assert last_touch(facts) == NOW - timedelta(days=3)
    assert codes(coverage_status(facts, RULES, NOW)) == ["no_meaningful_touch"]
    assert codes(status()) == ["no_meaningful_touch", "no_next_step", "no_active_contact"]


def test_the_latest_activity_decides_the_next_step_and_future_meetings_are_not_touches():
    assert coverage_facts([act(20, next_step="proposal"), act(2, next_step=None)], NOW)["next_step"] is None
    assert coverage_facts([act(2, next_step=None), act(20, next_step="proposal")], NOW)["next_step"] is None
    same_time = [act(2, next_step=None), act(2, next_step="b"), act(2, next_step="a")]
    assert coverage_facts(same_time, NOW)["next_step"] == "b"
    planned = coverage_facts([act(-7, kind="meeting"), act(-3, kind="meeting"), act(-1, kind="email")], NOW)
    assert last_touch(planned) is None
    assert planned["next_meeting_at"] == NOW + timedelta(days=3)
    assert next_planned(planned) == NOW + timedelta(days=1)


def test_inbound_and_partner_touches_and_open_pipeline_are_facts():
    facts = coverage_facts(
        [act(4, direction="inbound"), act(9, path="referral"), act(1, path="direct")],
        NOW,
        opportunities=[(100.0, "open"), (50.0, "open"), (70.0, "won")],
    )
    assert facts["last_inbound_at"] == NOW - timedelta(days=4)
    assert facts["last_partner_at"] == NOW - timedelta(days=9)
    assert (facts["open_pipeline"], facts["open_opportunities"]) == (150.0, 2)


def test_rates_against_tier_targets():
    t1 = coverage_rate(10, 9, RULES.tier1_target)
    assert (t1.rate, t1.meets_target) == (0.9, True)  # seed 001: tier 1 >= 90%
    t2 = coverage_rate(10, 5, RULES.tier2_target)
    assert (t2.rate, t2.meets_target) == (0.5, False)  # tier 2 >= 60%
    assert coverage_rate(0, 0, 0.9).meets_target is None
    assert coverage_rate(4, 1, None).meets_target is None


def test_overlap_is_two_reps_of_the_same_role_in_the_window():
    acts = [act(5, rep="a"), act(9, rep="b"), act(3, rep="c"), act(200, rep="d"), act(40, rep="e")]
    touches = rep_touches(acts, NOW)
    assert touches["a"] == (NOW - timedelta(days=5), 1)
    roles = {"a": "AE", "b": "AE", "c": "SDR", "d": "AE", "e": "AE"}
    found = overlaps(((r, roles[r], last) for r, (last, _) in touches.items()), RULES, NOW)
    assert found == {"AE": ["a", "b"]}  # e touched 40 days ago: outside the 30-day window


def row(**kw):
    base = coverage_facts([], NOW) | {
        "stage": "cold",
        "tier": 2,
        "icp_fit": False,
        "tags": [],
        "churn_risk": None,
        "expansion_estimate": None,
    }
    return base | kw


def on_lists(r):
    return sorted(name for name, rule in review_lists(RULES, NOW).items() if evaluate(rule.holds, r))


def test_monthly_review_lists_of_seed_000():
    recent = coverage_facts([act(10, contact=None)], NOW)
    assert on_lists(row(**recent)) == ["touched_recently"]
    assert on_lists(row(stage="prospected")) == ["prospected_not_contacted"]
    meeting = coverage_facts([act(-10, kind="meeting")], NOW)
    assert on_lists(row(**meeting)) == ["meetings_next_two_weeks"]
    far = coverage_facts([act(-20, kind="meeting")], NOW)
    assert on_lists(row(**far)) == []
    old = coverage_facts([act(120)], NOW)
    assert on_lists(row(**old)) == ["dormant"]
    assert on_lists(row(tags=["partner"])) == ["partner_path_unused"]
    used = coverage_facts([act(30, path="partner", contact=None)], NOW)
    assert "partner_path_unused" not in on_lists(row(tags=["partner"], **used))
    assert on_lists(row(icp_fit=True)) == ["whitespace"]
    assert on_lists(row(icp_fit=True, open_opportunities=1)) == []
    assert on_lists(row(tier=3)) == ["drop_candidates"]
    assert on_lists(row(tier=3, **coverage_facts([act(5, direction="inbound", contact=None)], NOW))) == [
        "touched_recently"
    ]
    assert on_lists(row(stage="customer", expansion_estimate=5e4)) == ["at_risk", "expansion"]
    assert on_lists(row(stage="customer", churn_risk="high", **recent)) == ["at_risk", "touched_recently"]


def test_whitespace_is_icp_fit_minus_customers_and_open_pipeline():
    assert evaluate(whitespace(), row(icp_fit=True, stage="lapsed"))
    assert not evaluate(whitespace(), row(icp_fit=True, stage="customer"))
    assert not evaluate(whitespace(), row(icp_fit=None))  # not scored: not known to fit


def test_a_condition_on_a_missing_value_is_false_and_not_negates_it():
    assert not evaluate(Cond("x", "ge", 1), {})
    assert evaluate(Not(Cond("x", "ge", 1)), {"x": None})
    assert evaluate(any_of(Cond("x", "eq", 1), Cond("y", "has_any", ("a",))), {"y": ["b", "a"]})
    assert fields_of(all_of(Cond("a", "eq", 1), Not(Cond("b", "eq", 2)))) == {"a", "b"}


when = st.integers(min_value=-30, max_value=200)
activity = st.builds(
    act,
    when,
    kind=st.sampled_from(KINDS),
    rep=st.sampled_from(["a", "b", "c"]),
    next_step=st.sampled_from([None, "", "x", "y"]),
    contact=st.sampled_from([None, "CFO"]),
    direction=st.sampled_from(["outbound", "inbound"]),
    path=st.sampled_from([None, "partner", "direct"]),
)


@given(st.lists(activity, max_size=12), st.randoms())
def test_facts_do_not_depend_on_the_order_activities_arrive_in(acts, rnd):
    shuffled = list(acts)
    rnd.shuffle(shuffled)
    assert coverage_facts(acts, NOW) == coverage_facts(shuffled, NOW)
    assert evaluate(covered(RULES, NOW), coverage_facts(acts, NOW)) == status(*acts).covered


def test_settings_name_unknown_activity_kinds():
    with pytest.raises(ValidationFailed) as caught:
        check_settings(apply_overrides({"coverage": {"meaningful_kinds": ["call", "fax"]}}))
    assert [(e.field, e.code) for e in caught.value.errors] == [("coverage.meaningful_kinds", "unknown_kind")]


def test_weekly_metric_rules():
    assert rate(1, 4) == 0.25 and rate(0, 0) is None
    model = DEFAULTS.coverage_model
    assert [sequence_target(t, model) for t in (1, 2, 3)] == [8, 5, 2]  # seed 004's low ends


def test_the_published_names_are_the_rules_and_lists():
    from domain.coverage import REVIEW_LISTS, RULE_CODES, coverage_rules

    assert tuple(r.code for r in coverage_rules(RULES, NOW)) == RULE_CODES
    assert tuple(review_lists(RULES, NOW)) == REVIEW_LISTS


def _path_row(**fields):
    from domain.coverage import empty_facts

    return empty_facts() | {"stage": "cold", "tags": [], "strategic": False} | fields


def test_the_path_into_an_account_is_the_first_its_data_supports():
    from domain.coverage import entry_path

    recent, old = NOW - timedelta(days=20), NOW - timedelta(days=400)
    cases = [
        ({"stage": "customer", "tags": ["partner"]}, "existing_relationship"),
        ({"relationship": 75.0}, "existing_relationship"),
        ({"last_relationship_path_at": recent}, "existing_relationship"),
        ({"relationship": 40.0, "last_partner_at": recent}, "partner_referral"),
        ({"tags": ["referral"]}, "partner_referral"),
        ({"strategic": True, "intent": 90.0}, "executive_engagement"),
        ({"potential": 2_000_000.0}, "executive_engagement"),
        ({"last_executive_path_at": recent}, "executive_engagement"),
        ({"last_marketing_path_at": recent}, "marketing_sourced"),
        ({"last_inbound_at": recent}, "marketing_sourced"),
        ({"intent": 80.0}, "marketing_sourced"),
        ({"last_event_path_at": recent}, "event"),
        ({"last_event_path_at": old, "last_partner_at": old, "intent": 20.0}, "direct_outbound"),
    ]
    for fields, expected in cases:
        got = entry_path(_path_row(**fields), RULES, NOW)
        assert got.path == expected, (fields, got)
        assert got.reason
    assert "75 >= 60" in entry_path(_path_row(relationship=75.0), RULES, NOW).reason


def test_the_path_thresholds_are_settings():
    from domain.coverage import entry_path

    rules = apply_overrides(
        {"coverage": {"path_relationship_min": 90, "path_marketing_min_intent": 50, "path_window_days": 10}}
    ).coverage
    row = _path_row(relationship=75.0, intent=55.0, last_event_path_at=NOW - timedelta(days=20))
    assert entry_path(row, RULES, NOW).path == "existing_relationship"
    assert entry_path(row, rules, NOW).path == "marketing_sourced"
    assert entry_path(_path_row(last_event_path_at=NOW - timedelta(days=20)), rules, NOW).path == (
        "direct_outbound"
    )
    with pytest.raises(ValidationFailed):
        check_settings(apply_overrides({"coverage": {"path_window_days": 0}}))


def test_an_activity_through_a_path_is_a_fact_of_that_path():
    facts = coverage_facts(
        [act(5, path="event"), act(3, path="marketing"), act(8, path="referral"), act(-2, path="executive")],
        NOW,
    )
    assert facts["last_event_path_at"] == NOW - timedelta(days=5)
    assert facts["last_marketing_path_at"] == NOW - timedelta(days=3)
    assert facts["last_partner_at"] == NOW - timedelta(days=8)
    assert facts["last_executive_path_at"] is None  # planned, not a touch yet
