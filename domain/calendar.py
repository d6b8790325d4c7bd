"""The tenant's business calendar (docs/domain.md, "Business calendar"): which days are working days (not
the weekend, not a public holiday of the tenant's country and subdivision, not one of the tenant's own
holidays), deadlines counted in working days with the days they skip named, and working days between two
dates. Public holidays come from the `holidays` package, a pure library (no I/O): the same package
version always gives the same days."""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

import holidays as public_holidays

from domain.errors import Code, FieldError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
OWN_HOLIDAY = "holiday of the tenant"
LANGUAGE = "en_US"  # holiday names in English where the country's calendar has them


@dataclass(frozen=True)
class BusinessCalendar:
    """`weekend`: weekday numbers (Monday 0) that are not working days; `public`: the country's
    holidays, a mapping that may fill itself in year by year as it is asked (the package's does); `own`:
    the tenant's own holidays."""

    weekend: frozenset[int] = frozenset({5, 6})
    public: Mapping[date, str] = field(default_factory=dict)
    own: Mapping[date, str] = field(default_factory=dict)

    def holiday(self, day: date) -> str | None:
        """The name of the holiday on `day` (the tenant's own first), or None."""
        return self.own.get(day) or self.public.get(day)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() not in self.weekend and self.holiday(day) is None


@functools.lru_cache(maxsize=64)
def _public(country: str, subdivision: str) -> Mapping[date, str]:
    """A country's (and subdivision's) public holidays, filled in year by year as they are asked; shared
    by every tenant with that calendar (building one takes milliseconds)."""
    languages = public_holidays.country_holidays(country).supported_languages
    language = LANGUAGE if LANGUAGE in languages else None
    return public_holidays.country_holidays(country, subdiv=subdivision or None, language=language)


def business_calendar(
    country: str = "",
    subdivision: str = "",
    own: Collection[str] = (),
    weekend: Collection[str] = ("saturday", "sunday"),
) -> BusinessCalendar:
    """The calendar the tenant's settings describe (checked beforehand by `calendar_errors`)."""
    return BusinessCalendar(
        weekend=frozenset(WEEKDAYS.index(d) for d in weekend),
        public=_public(country, subdivision) if country else {},
        own={date.fromisoformat(d): OWN_HOLIDAY for d in own},
    )


def calendar_errors(
    section: str, country: str, subdivision: str, own: Collection[str], weekend: Collection[str]
) -> list[FieldError]:
    """What is wrong with a calendar's settings, each named under `section`: a country the holidays package
    does not know, a subdivision the country does not have, a date that is not YYYY-MM-DD, a weekend that
    names a day twice, is not a weekday's name, or leaves no working day."""
    errors: list[FieldError] = []
    supported = public_holidays.list_supported_countries()
    if country and country not in supported:
        errors.append(
            FieldError(
                f"{section}.country",
                Code.INVALID_CHOICE,
                "an ISO 3166 country code the holidays package knows, such as US, GB or DE",
            )
        )
    elif subdivision and not country:
        errors.append(FieldError(f"{section}.subdivision", Code.REQUIRED, "a subdivision needs a country"))
    elif subdivision and subdivision not in supported[country]:
        known = ", ".join(supported[country][:12]) or "none"
        errors.append(
            FieldError(
                f"{section}.subdivision", Code.INVALID_CHOICE, f"a subdivision of {country}: {known}, ..."
            )
        )
    for i, day in enumerate(own):
        try:
            date.fromisoformat(day)
            well_formed = len(day) == 10
        except ValueError:
            well_formed = False
        if not well_formed:
            errors.append(FieldError(f"{section}.holidays[{i}]", Code.INVALID_DATE, "a date, YYYY-MM-DD"))
    unknown = [d for d in weekend if d not in WEEKDAYS]
    if unknown:
        errors.append(
            FieldError(f"{section}.weekend", Code.INVALID_CHOICE, f"weekday names: {', '.join(WEEKDAYS)}")
        )
    elif len(set(weekend)) < len(weekend):
        errors.append(FieldError(f"{section}.weekend", Code.INVALID_VALUE, "a day appears twice"))
    elif len(set(weekend)) == len(WEEKDAYS):
        errors.append(FieldError(f"{section}.weekend", Code.INVALID_VALUE, "at least one working day"))
    return errors


@dataclass(frozen=True)
class Deadline:
    """A deadline `business_days` working days after `opened_on`, and what it skipped on the way: the
    holidays that fell on working weekdays, and how many weekends."""

    opened_on: date
    due_on: date
    business_days: int
    holidays: tuple[tuple[date, str], ...]
    weekends: int

    @property
    def reason(self) -> str:
        """ "due 2026-12-29: 5 business days from 2026-12-21, skipping 2026-12-25 Christmas Day and the
        weekend"."""
        days = "business day" if self.business_days == 1 else "business days"
        text = f"due {self.due_on}: {self.business_days} {days} from {self.opened_on}"
        skipped = [f"{d} {name}" for d, name in self.holidays]
        if self.weekends:
            skipped.append("the weekend" if self.weekends == 1 else f"{self.weekends} weekends")
        if skipped:
            text += (
                ", skipping " + (", ".join(skipped[:-1]) + " and " if len(skipped) > 1 else "") + skipped[-1]
            )
        return text


def business_deadline(opened: date, business_days: int, calendar: BusinessCalendar) -> Deadline:
    """The day `business_days` working days after `opened` (the day it opened does not count)."""
    day, left = opened, business_days
    skipped: list[tuple[date, str]] = []
    weekends, in_weekend = 0, False
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() in calendar.weekend:
            weekends += not in_weekend
            in_weekend = True
            continue
        in_weekend = False
        name = calendar.holiday(day)
        if name is not None:
            skipped.append((day, name))
        else:
            left -= 1
    return Deadline(opened, day, business_days, tuple(skipped), weekends)


def business_days_between(start: date, end: date, calendar: BusinessCalendar) -> int:
    """Working days after `start` up to and including `end` (0 when `end` is not after `start`): a
    dispute opened on a Monday and decided on the Wednesday took 2."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += calendar.is_business_day(day)
    return count
