"""The business calendar: deadlines in working days across weekends, the country's holidays and the
tenant's own, with the days they skip named (docs/domain.md, "Business calendar")."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.calendar import (
    BusinessCalendar,
    business_calendar,
    business_days_between,
    business_deadline,
    calendar_errors,
)
from domain.defaults import apply_overrides, check_settings
from domain.errors import ValidationFailed

PLAIN = BusinessCalendar()
US = business_calendar("US")


def test_a_deadline_skips_the_weekend():
    due = business_deadline(date(2026, 12, 4), 5, PLAIN)  # Friday to Friday
    assert due.due_on == date(2026, 12, 11) and due.weekends == 1 and due.holidays == ()
    assert due.reason == "due 2026-12-11: 5 business days from 2026-12-04, skipping the weekend"
    assert (
        business_deadline(date(2026, 12, 7), 5, PLAIN).reason
        == "due 2026-12-14: 5 business days from 2026-12-07, skipping the weekend"
    )
    assert (
        business_deadline(date(2026, 12, 7), 4, PLAIN).reason
        == "due 2026-12-11: 4 business days from 2026-12-07"
    )


def test_a_deadline_skips_thanksgiving_in_the_us_and_not_without_a_country():
    # opened Tuesday 2026-11-24; Thursday 26 is Thanksgiving Day
    assert business_deadline(date(2026, 11, 24), 5, PLAIN).due_on == date(2026, 12, 1)
    due = business_deadline(date(2026, 11, 24), 5, US)
    assert due.due_on == date(2026, 12, 2)
    assert due.holidays == ((date(2026, 11, 26), "Thanksgiving Day"),)
    assert due.reason == (
        "due 2026-12-02: 5 business days from 2026-11-24, skipping 2026-11-26 Thanksgiving Day and the "
        "weekend"
    )


def test_a_deadline_skips_christmas_and_a_state_holiday():
    due = business_deadline(date(2026, 12, 21), 5, US)
    assert due.reason == (
        "due 2026-12-29: 5 business days from 2026-12-21, skipping 2026-12-25 Christmas Day and the weekend"
    )
    texas = business_deadline(date(2026, 12, 21), 5, business_calendar("US", "TX"))
    assert texas.due_on == date(2026, 12, 30)  # Christmas Eve too; the Day After Christmas is a Saturday
    assert [d for d, _ in texas.holidays] == [date(2026, 12, 24), date(2026, 12, 25)]


def test_a_deadline_skips_the_tenants_own_holidays_and_names_them():
    own = business_calendar("US", own=["2026-12-28", "2026-12-31"])
    due = business_deadline(date(2026, 12, 21), 5, own)
    assert due.due_on == date(2026, 12, 30)
    assert due.reason == (
        "due 2026-12-30: 5 business days from 2026-12-21, skipping 2026-12-25 Christmas Day, "
        "2026-12-28 holiday of the tenant and the weekend"
    )
    two = business_deadline(date(2026, 12, 21), 10, own)  # past New Year's Day and two weekends
    assert two.due_on == date(2027, 1, 8) and two.weekends == 2
    assert [d for d, _ in two.holidays] == [
        date(2026, 12, 25),
        date(2026, 12, 28),
        date(2026, 12, 31),
        date(2027, 1, 1),
    ]


def test_another_weekend_counts_other_days():
    gulf = business_calendar(weekend=["friday", "saturday"])
    due = business_deadline(date(2026, 12, 3), 2, gulf)  # Thursday: Friday and Saturday are off
    assert due.due_on == date(2026, 12, 7) and due.weekends == 1  # Sunday and Monday


def test_business_days_between_count_working_days_after_the_start():
    assert business_days_between(date(2026, 12, 21), date(2026, 12, 23), US) == 2
    assert business_days_between(date(2026, 12, 21), date(2026, 12, 29), US) == 5
    assert business_days_between(date(2026, 12, 21), date(2026, 12, 21), US) == 0
    assert business_days_between(date(2026, 12, 23), date(2026, 12, 21), US) == 0
    assert business_days_between(date(2026, 12, 25), date(2026, 12, 27), US) == 0  # Christmas, a weekend


CALENDARS = [PLAIN, US, business_calendar("GB"), business_calendar("US", own=["2026-07-06", "2027-01-04"])]


@given(
    opened=st.dates(date(2025, 1, 1), date(2030, 12, 31)),
    days=st.integers(1, 60),
    calendar=st.sampled_from(CALENDARS),
)
def test_a_deadline_is_a_business_day_exactly_n_business_days_after_opening(opened, days, calendar):
    due = business_deadline(opened, days, calendar)
    assert calendar.is_business_day(due.due_on)
    assert business_days_between(opened, due.due_on, calendar) == days
    assert business_days_between(opened, due.due_on - timedelta(days=1), calendar) == days - 1
    assert all(calendar.holiday(d) == name for d, name in due.holidays)


def test_calendar_settings_are_checked():
    check_settings(
        apply_overrides({"calendar": {"country": "US", "subdivision": "TX", "holidays": ["2026-12-24"]}})
    )
    assert calendar_errors("calendar", "", "", (), ("saturday", "sunday")) == []
    cases = [
        ({"country": "XX"}, "calendar.country"),
        ({"country": "us"}, "calendar.country"),
        ({"subdivision": "TX"}, "calendar.subdivision"),
        ({"country": "US", "subdivision": "ZZ"}, "calendar.subdivision"),
        ({"holidays": ["2026-2-3"]}, "calendar.holidays[0]"),
        ({"holidays": ["2026-12-24", "Christmas"]}, "calendar.holidays[1]"),
        ({"weekend": ["sat"]}, "calendar.weekend"),
        ({"weekend": ["sunday", "sunday"]}, "calendar.weekend"),
        (
            {"weekend": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]},
            "calendar.weekend",
        ),
    ]
    for values, field in cases:
        with pytest.raises(ValidationFailed) as refused:
            check_settings(apply_overrides({"calendar": values}))
        assert [e.field for e in refused.value.errors] == [field], values
    with pytest.raises(ValidationFailed):  # more than 100 own holidays
        apply_overrides(
            {"calendar": {"holidays": [str(date(2026, 1, 1) + timedelta(days=i)) for i in range(101)]}}
        )
