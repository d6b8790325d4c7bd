"""The precondition rule (domain/preconditions.py) and how REST reads If-Match / If-None-Match."""

import pytest

from api.rest.deps import if_match, if_none_match
from domain.errors import PreconditionFailed, PreconditionRequired
from domain.preconditions import Precondition, check_precondition


def test_a_precondition_holds_for_a_version_it_names_or_for_any_with_star():
    assert Precondition.exactly(3).holds(3) and not Precondition.exactly(3).holds(4)
    assert Precondition(any_version=True).holds(99)
    assert not Precondition().holds(1)  # a list of tags none of which is ours


def test_checking_refuses_an_older_version_and_a_missing_one_when_required():
    check_precondition(None, 5, "account", required=False)
    check_precondition(Precondition.exactly(5), 5, "account", required=True)
    with pytest.raises(PreconditionFailed, match="at version 5; the change was made against version 4"):
        check_precondition(Precondition.exactly(4), 5, "account", required=False)
    with pytest.raises(PreconditionRequired, match='If-Match: "5"'):
        check_precondition(None, 5, "account", required=True)
    with pytest.raises(PreconditionFailed, match='names no version of ours .*If-Match: "5"'):
        check_precondition(if_match("garbage"), 5, "account", required=False)


@pytest.mark.parametrize(
    ("header", "versions", "star"),
    [
        ('"3"', {3}, False),
        ('"3-gzip"', {3}, False),  # the tag of the compressed answer
        (' "3" , "7"', {3, 7}, False),
        ("*", set(), True),
        ('W/"3"', set(), False),  # If-Match compares strongly: a weak tag never matches
        ('"abc", 3, "", "99999999999999999999"', set(), False),  # not ours: never matches
    ],
)
def test_if_match_reads_strong_tags_only(header, versions, star):
    assert if_match(header) == Precondition(frozenset(versions), star)


def test_if_none_match_compares_weakly_and_no_header_is_no_precondition():
    assert if_none_match('W/"3", "4-gzip"') == Precondition(frozenset({3, 4}))
    assert if_match(None) is None and if_none_match(None) is None
