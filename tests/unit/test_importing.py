from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import importing as im
from domain.errors import ValidationFailed
from domain.model import Stage


def parse(records, columns=im.ACCOUNT_COLUMNS, csv=False):
    return im.parse_rows(records, columns, empty_is_null=csv)


def test_valid_rows_are_coerced_from_csv_strings():
    result = parse(
        [
            {
                "external_id": "A1",
                "name": " Acme ",
                "employees": "120",
                "annual_revenue": "2,500,000",
                "strategic": "yes",
                "stage": "customer",
                "tags": "b; a;",
                "parent_external_id": "",
            }
        ],
        csv=True,
    )
    assert result.errors == []
    values = result.rows[0].values
    assert values["name"] == "Acme"
    assert values["employees"] == 120
    assert values["annual_revenue"] == 2_500_000.0
    assert values["strategic"] is True
    assert values["stage"] == Stage.CUSTOMER
    assert values["tags"] == ["a", "b"]
    assert values["parent_external_id"] is None


def test_every_bad_field_of_every_row_is_reported():
    result = parse(
        [
            {"external_id": "A1", "name": "ok"},
            {"external_id": "A2", "name": "x", "employees": "many", "stage": "hot", "latitude": 91},
            {"name": "no id", "color": "red"},
            {"external_id": "A1", "name": "dup"},
        ]
    )
    got = {(e.row, e.field, e.code) for e in result.errors}
    assert got == {
        (2, "employees", "invalid_number"),
        (2, "stage", "invalid_choice"),
        (2, "latitude", "out_of_range"),
        (3, "color", "unknown_field"),
        (3, "external_id", "required"),
        (4, "external_id", "duplicate_in_file"),
    }
    assert [r.row for r in result.rows] == [1]


def test_datetimes_become_utc():
    result = parse(
        [
            {
                "external_id": "X",
                "account_external_id": "A",
                "occurred_at": "2026-11-01T10:00:00+02:00",
                "kind": "call",
            },
            {"external_id": "Y", "account_external_id": "A", "occurred_at": "2026-11-01", "kind": "email"},
        ],
        im.ACTIVITY_COLUMNS,
    )
    assert result.errors == []
    assert result.rows[0].values["occurred_at"] == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    assert result.rows[1].values["occurred_at"] == datetime(2026, 11, 1, tzinfo=UTC)


def test_header_problems_are_row_zero():
    errors = im.check_header(["external_id", "nme", "name", "name"], im.ACCOUNT_COLUMNS)
    assert {(e.row, e.field, e.code) for e in errors} == {
        (0, "nme", "unknown_field"),
        (0, "name", "duplicate_column"),
    }
    missing = im.check_header(["name"], im.ACCOUNT_COLUMNS)
    assert [(e.field, e.code) for e in missing] == [("external_id", "missing_column")]


def rows(*pairs):
    return [im.ParsedRow(i, {"external_id": e, "parent_external_id": p}) for i, (e, p) in enumerate(pairs, 1)]


def test_parents_resolve_inside_the_file_and_against_stored_accounts():
    errors = im.check_parent_references(rows(("child", "parent"), ("parent", "stored")), {"stored": None})
    assert errors == []


def test_unknown_parent_and_cycles_are_row_errors():
    errors = im.check_parent_references(rows(("a", "b"), ("b", "a"), ("c", "ghost")), {})
    assert {(e.row, e.code) for e in errors} == {
        (1, "parent_cycle"),
        (2, "parent_cycle"),
        (3, "unknown_reference"),
    }


def test_a_cycle_through_stored_accounts_is_found():
    # stored: s1 -> s2; the file makes s2's parent x, and x's parent s1: x -> s1 -> s2 -> x
    stored = {"s1": "s2", "s2": None}
    r = [
        im.ParsedRow(1, {"external_id": "s2", "parent_external_id": "x"}),
        im.ParsedRow(2, {"external_id": "x", "parent_external_id": "s1"}),
    ]
    errors = im.check_parent_references(r, stored)
    assert {e.row for e in errors} == {1, 2}


def test_upsert_plan_splits_creates_updates_and_unchanged():
    existing = {"A": {"name": "Acme", "employees": 10}, "B": {"name": "Beta", "employees": 5}}
    parsed = [
        im.ParsedRow(1, {"external_id": "A", "name": "Acme", "employees": 10}),
        im.ParsedRow(2, {"external_id": "B", "name": "Beta", "employees": 6}),
        im.ParsedRow(3, {"external_id": "C", "name": "Gamma"}),
    ]
    plan = im.plan_upserts(parsed, existing)
    assert [r.values["external_id"] for r in plan.creates] == ["C"]
    assert [(r.values["external_id"], c) for r, c in plan.updates] == [("B", {"employees": 6})]
    assert plan.unchanged == 1


def test_references_to_unknown_accounts_are_named():
    r = [
        im.ParsedRow(1, {"external_id": "o1", "account_external_id": "A"}),
        im.ParsedRow(2, {"external_id": "o2", "account_external_id": "Z"}),
    ]
    errors = im.check_references(r, "account_external_id", {"A"}, "account")
    assert [(e.row, e.code) for e in errors] == [(2, "unknown_reference")]


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
_keys = st.one_of(st.sampled_from([c.name for c in im.ACCOUNT_COLUMNS]), st.text(max_size=8))
_records = st.lists(st.one_of(st.dictionaries(_keys, _values, max_size=8), _values), max_size=15)


@settings(max_examples=300, deadline=None)
@given(_records)
def test_every_row_is_parsed_or_has_errors_and_nothing_raises(records):
    result = im.parse_rows(records, im.ACCOUNT_COLUMNS)
    parsed = {r.row for r in result.rows}
    failed = {e.row for e in result.errors}
    assert parsed.isdisjoint(failed)
    assert parsed | failed == set(range(1, len(records) + 1))
    for r in result.rows:
        assert r.values["external_id"] and r.values["name"]


@given(st.text(max_size=20))
def test_an_escaped_cell_reads_back_as_written_and_never_starts_a_formula(text):
    escaped = im.escape_cell(text)
    assert im.unescape_cell(escaped) == text
    assert not escaped.startswith(im.FORMULA_STARTS)


def test_only_cells_a_spreadsheet_would_run_are_escaped():
    assert [im.escape_cell(t) for t in ("=1+1", "-2", "@x", "\rx", "Acme", "'=x", "")] == [
        "'=1+1", "'-2", "'@x", "'\rx", "Acme", "'=x", ""
    ]  # fmt: skip


def test_a_header_wider_than_any_kind_is_refused_at_once():
    header = [f"c{i}" for i in range(30_000)] + ["c1"] * 30_000
    (error,) = im.check_header(header, im.ACCOUNT_COLUMNS)
    assert (error.code, error.row) == ("too_many_values", 0)
    dup = im.check_header(["external_id", "name", "name", "tags", "tags"], im.ACCOUNT_COLUMNS)
    assert [(e.field, e.code) for e in dup] == [("name", "duplicate_column"), ("tags", "duplicate_column")]


def test_more_rows_than_a_request_takes_are_refused(monkeypatch):
    monkeypatch.setattr(im, "MAX_IMPORT_ROWS", 3)
    rows = [{"external_id": str(i), "name": "n"} for i in range(4)]
    with pytest.raises(ValidationFailed) as err:
        im.parse_rows(rows, im.ACCOUNT_COLUMNS)
    assert err.value.errors[0].code == "too_many_rows"
    assert len(im.parse_rows(rows[:3], im.ACCOUNT_COLUMNS).rows) == 3
