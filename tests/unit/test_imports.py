"""Reading import bodies: a large JSON array is parsed a piece at a time, with the same result as whole."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.services import imports
from api.services.imports import InvalidFile, records_from_csv, records_from_json

# values that put the cut's marker "}," inside strings and nested values, where no cut may fall
text = st.lists(st.sampled_from(["}", "},", '"},{"', "[{", "a", "é", "\\"]), max_size=4).map("".join)
leaf = st.one_of(st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False), st.booleans(), st.none(), text)
value = st.recursive(
    leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3)
)
rows = st.lists(st.one_of(st.dictionaries(text, value, max_size=4), value), max_size=40)


@settings(max_examples=200, deadline=None)
@given(rows=rows, spaced=st.booleans(), piece=st.integers(1, 64))
def test_a_json_array_read_in_pieces_is_the_array(rows, spaced, piece):  # noqa: ANN001
    body = orjson.dumps(rows, option=orjson.OPT_INDENT_2 if spaced else 0)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(imports, "JSON_PIECE", piece)
        whole = orjson.loads(body)
        assert records_from_json(body) == whole
        assert imports._json_in_pieces(body) in (whole, None)


def test_a_large_body_is_read_in_pieces_and_errors_keep_their_position():
    rows = [{"external_id": f"A-{i}", "name": "x},{" * (i % 3)} for i in range(20_000)]
    body = orjson.dumps(rows)
    assert len(body) > 2 * imports.JSON_PIECE
    assert imports._json_in_pieces(body) == rows
    broken = body[:-1]  # the closing bracket missing
    with pytest.raises(InvalidFile) as whole:
        records_from_json(broken)
    with pytest.raises(orjson.JSONDecodeError) as direct:
        orjson.loads(broken)
    assert str(direct.value) in str(whole.value)


def test_csv_records_come_in_file_order():
    header, records = records_from_csv(b"external_id,name\nA-1,One\nA-2,Two\nA-3,Three\n")
    assert header == ["external_id", "name"]
    assert [r["external_id"] for r in records] == ["A-1", "A-2", "A-3"]
