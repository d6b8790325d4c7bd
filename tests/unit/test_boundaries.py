import pytest

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
