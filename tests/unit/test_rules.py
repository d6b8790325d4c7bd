import uuid
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.defaults import DEFAULTS, apply_overrides
from domain.errors import RuleViolation, ValidationFailed
from domain.model import Segment
from domain.rules import (
    check_parent_change,
    check_rep_dates,
    find_parent_cycles,
    segment_for,
)


def test_find_parent_cycles_reports_each_cycle_once():
    parents = {"a": "b", "b": "c", "c": "a", "d": "a", "e": None, "f": "f"}
    cycles = find_parent_cycles(parents)
    assert sorted(sorted(c) for c in cycles) == [["a", "b", "c"], ["f"]]


def test_a_chain_without_loop_has_no_cycle():
    assert find_parent_cycles({"a": "b", "b": "c", "c": None}) == []


@given(st.dictionaries(st.integers(0, 30), st.one_of(st.none(), st.integers(0, 30)), max_size=30))
def test_every_reported_cycle_is_a_real_loop(parents):
    for cycle in find_parent_cycles(parents):
        for i, node in enumerate(cycle):
            assert parents[node] == cycle[(i + 1) % len(cycle)]


def test_parent_change_refuses_a_descendant_and_self():
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    links = {a: None, b: a, c: b}
    with pytest.raises(RuleViolation) as err:
        check_parent_change(a, c, links)
    assert err.value.code == "parent_cycle"
    with pytest.raises(RuleViolation):
        check_parent_change(a, a, links)
    check_parent_change(c, a, links)  # re-parenting a grandchild to the root is fine


def test_rep_end_date_cannot_precede_start():
    check_rep_dates(date(2026, 1, 1), date(2026, 1, 1))
    with pytest.raises(RuleViolation) as err:
        check_rep_dates(date(2026, 2, 1), date(2026, 1, 31))
    assert err.value.errors[0].field == "end_date"


@pytest.mark.parametrize(
    ("revenue", "employees", "expected"),
    [
        (10_000_001, None, Segment.ENTERPRISE),
        (10_000_000, None, Segment.MID_MARKET),  # seed 003: enterprise is > $10M
        (1_000_000, None, Segment.MID_MARKET),
        (999_999, 5000, Segment.SMB),  # revenue decides when known
        (None, 1000, Segment.ENTERPRISE),
        (None, 99, Segment.SMB),
        (None, None, None),
    ],
)
def test_segment_by_revenue_then_employees(revenue, employees, expected):
    assert segment_for(revenue, employees, DEFAULTS.segments) == expected


def test_settings_overrides_replace_only_what_is_named():
    s = apply_overrides({"tiers": {"tier1_share": 0.1}, "coverage": {"coverage_window_days": 60}})
    assert s.tiers.tier1_share == 0.1
    assert s.tiers.tier2_share == DEFAULTS.tiers.tier2_share
    assert s.coverage.coverage_window_days == 60
    assert DEFAULTS.coverage.coverage_window_days == 90


def test_unknown_or_mistyped_settings_are_named():
    with pytest.raises(ValidationFailed) as err:
        apply_overrides({"tiers": {"tier9": 1, "tier1_share": "lots"}, "nope": {}})
    fields = {e.field for e in err.value.errors}
    assert fields == {"tiers.tier9", "tiers.tier1_share", "nope"}


def test_a_list_setting_empty_by_default_takes_names_only():
    s = apply_overrides({"equity": {"expertise_industries": ["healthcare"], "keep_families": False}})
    assert s.equity.expertise_industries == ("healthcare",) and s.equity.keep_families is False
    with pytest.raises(ValidationFailed) as err:
        apply_overrides({"equity": {"expertise_industries": [3]}})
    assert [e.field for e in err.value.errors] == ["equity.expertise_industries"]


def test_default_settings_keep_every_rule():
    from domain.defaults import check_settings

    check_settings(DEFAULTS)


def test_all_factor_weights_zero_is_refused():
    from domain.defaults import ScoringWeights, check_settings

    zero = {f: 0.0 for f in ("current_revenue", "expansion", "industry_growth", "whitespace")}
    with pytest.raises(ValidationFailed) as err:
        check_settings(apply_overrides({"scoring": zero}))
    assert [(e.field, e.code) for e in err.value.errors] == [("scoring", "no_factor")]
    assert ScoringWeights().current_revenue == 1.0
