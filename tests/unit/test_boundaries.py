import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.boundaries import RuleTerritory, assign_by_rules, parse_boundary
from domain.errors import ValidationFailed


def acc(ext, **fields):
    return (ext, {"external_id": ext, **fields})


def test_rules_match_on_every_field_kind():
    b = parse_boundary(
        {
            "rules": [
                {"field": "country", "op": "in", "value": ["US", "CA"]},
                {"field": "employees", "op": "between", "value": [100, 500]},
                {"field": "postal_code", "op": "prefix", "value": ["10", "11"]},
                {"field": "tags", "op": "has_any", "value": ["fintech"]},
            ]
        }
    )
    ok = {"country": "US", "employees": 100, "postal_code": "10115", "tags": ["fintech", "x"]}
    assert b.matches(ok)
    assert not b.matches(ok | {"employees": 501})
    assert not b.matches(ok | {"country": "DE"})
    assert not b.matches(ok | {"postal_code": "20095"})
    assert not b.matches(ok | {"employees": None})  # missing data never matches a rule
    assert not parse_boundary({}).matches(ok)  # no rule, no named account: matches nothing
    assert parse_boundary({"named_accounts": ["A1"]}).matches({"external_id": "A1"})


def test_bad_rules_are_named():
    with pytest.raises(ValidationFailed) as caught:
        parse_boundary(
            {
                "rules": [
                    {"field": "colour", "op": "eq", "value": "red"},
                    {"field": "employees", "op": "prefix", "value": "1"},
                    {"field": "employees", "op": "between", "value": [500, 100]},
                    {"field": "country", "op": "in", "value": []},
                    {"field": "country"},
                ],
                "owner": "x",
            }
        )
    assert caught.value.code == "invalid_boundary"
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("boundary.owner", "unknown_field"),
        ("boundary.rules[0].field", "unknown_field"),
        ("boundary.rules[1].op", "bad_operator"),
        ("boundary.rules[2].value", "invalid_value"),
        ("boundary.rules[3].value", "invalid_value"),
        ("boundary.rules[4]", "invalid_rule"),
    ]


def test_highest_priority_wins_none_is_listed_and_ties_are_conflicts():
    east = RuleTerritory(
        "east", "East", 1, parse_boundary({"rules": [{"field": "region", "op": "eq", "value": "east"}]})
    )
    us = RuleTerritory(
        "us", "US", 0, parse_boundary({"rules": [{"field": "country", "op": "eq", "value": "US"}]})
    )
    fin = RuleTerritory(
        "fin", "Fin", 1, parse_boundary({"rules": [{"field": "industry", "op": "eq", "value": "finance"}]})
    )
    named = RuleTerritory("key", "Key", 1, parse_boundary({"named_accounts": ["N1"]}))
    result = assign_by_rules(
        [
            acc("A1", region="east", country="US"),
            acc("A2", region="west", country="US"),
            acc("A3", region="east", industry="finance"),
            acc("A4", country="DE"),
            acc("N1", region="east"),
        ],
        [us, east, fin, named],
    )
    assert result.assigned == {"A1": "east", "A2": "us", "N1": "key"}  # a named account beats a rule
    assert result.unmatched == ["A4"]
    assert result.conflicts == {"A3": ["east", "fin"]}


def reference_assign(accounts, territories):
    """The rule of assign_by_rules row by row, as the docstring states it (the vectorised one must agree)."""
    assigned, unmatched, conflicts = {}, [], {}
    for key, account in accounts:
        matches = [t for t in territories if t.boundary.matches(account)]
        if not matches:
            unmatched.append(key)
            continue
        top = max(t.priority for t in matches)
        best = [t for t in matches if t.priority == top]
        named = [t for t in best if account.get("external_id") in t.boundary.named]
        best = named or best
        if len(best) == 1:
            assigned[key] = best[0].id
        else:
            conflicts[key] = sorted(t.id for t in best)
    return assigned, unmatched, conflicts


TEXTS = st.sampled_from(["US", "CA", "DE", "10115", "20095", "1", "", "east", "West", "finance"])
RULES = st.one_of(
    st.builds(lambda v: {"field": "country", "op": "eq", "value": v}, TEXTS),
    st.builds(
        lambda v: {"field": "country", "op": "in", "value": v}, st.lists(TEXTS, min_size=1, max_size=3)
    ),
    st.builds(lambda a, b: {"field": "postal_code", "op": "between", "value": sorted([a, b])}, TEXTS, TEXTS),
    st.builds(
        lambda v: {"field": "postal_code", "op": "prefix", "value": v},
        st.lists(st.sampled_from(["1", "10", "2", "x"]), min_size=1, max_size=2),
    ),
    st.builds(
        lambda a, b: {"field": "employees", "op": "between", "value": sorted([a, b])},
        st.integers(0, 1000),
        st.integers(0, 1000),
    ),
    st.builds(
        lambda v: {"field": "employees", "op": "ge", "value": v}, st.integers(0, 1000) | st.floats(0, 1e3)
    ),
    st.builds(lambda v: {"field": "employees", "op": "le", "value": v}, st.integers(0, 1000)),
    st.builds(
        lambda v: {"field": "employees", "op": "in", "value": v}, st.lists(st.integers(0, 5), min_size=1)
    ),
    st.builds(
        lambda v: {"field": "tags", "op": "has_any", "value": v}, st.lists(TEXTS, min_size=1, max_size=2)
    ),
)
TERRITORIES = st.lists(
    st.tuples(
        st.lists(RULES, min_size=1, max_size=2),
        st.lists(st.sampled_from(["A0", "A1", "A2", "A9"]), max_size=2),
        st.integers(0, 2),
    ),
    min_size=1,
    max_size=5,
)
ACCOUNTS = st.lists(
    st.fixed_dictionaries(
        {
            "country": st.none() | TEXTS,
            "postal_code": st.none() | TEXTS,
            "employees": st.none() | st.integers(0, 1000) | st.floats(0, 1e3),
            "tags": st.none() | st.lists(TEXTS, max_size=2),
        }
    ),
    min_size=3,
    max_size=25,
)


@settings(max_examples=300)
@given(TERRITORIES, ACCOUNTS)
def test_the_whole_book_at_once_agrees_with_the_rule_row_by_row(spec, rows):
    territories = [
        RuleTerritory(f"t{i}", f"T{i}", priority, parse_boundary({"rules": rules, "named_accounts": named}))
        for i, (rules, named, priority) in enumerate(spec)
    ]
    accounts = [(f"A{i}", {"external_id": f"A{i}", **row}) for i, row in enumerate(rows)]
    result = assign_by_rules(accounts, territories)
    assigned, unmatched, conflicts = reference_assign(accounts, territories)
    assert result.assigned == assigned
    assert result.unmatched == unmatched
    assert {k: sorted(v) for k, v in result.conflicts.items()} == conflicts
