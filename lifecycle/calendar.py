"""Peru's calendar for the tender's deadlines (DESIGN §2, "Tender milestones").

Deadlines such as the appeal window after the *buena pro* run in business days: Monday to
Friday, not counting Peru's national holidays (from the `holidays` package, which computes the
movable ones such as Holy Thursday and Good Friday for any year). Dates are Lima's: an entry's
UTC time is turned into Lima's date (UTC−5, no daylight saving) before counting, so an award at
22:00 in Lima on a Friday counts from that Friday, not from Saturday.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache

import holidays

LIMA = timezone(timedelta(hours=-5), "America/Lima")
SATURDAY = 5


@lru_cache(maxsize=64)
def _holidays_of(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("PE", years=year))


def is_holiday(day: date) -> bool:
    """A national holiday of Peru."""
    return day in _holidays_of(day.year)


def is_business_day(day: date) -> bool:
    """Monday to Friday, and not a national holiday."""
    return day.weekday() < SATURDAY and not is_holiday(day)


def add_business_days(start: date, days: int) -> date:
    """The date `days` business days after `start` (`start` itself never counts). A holiday
    or weekend is skipped, across year boundaries too (the holidays of each year are looked up
    as the count reaches it)."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_business_day(day):
            counted += 1
    return day


def business_days_between(start: date, end: date) -> int:
    """Business days after `start` up to and including `end` (0 when `end` is not later)."""
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        if is_business_day(day):
            count += 1
    return count


def lima_date(moment: datetime) -> date:
    """The date in Lima at a UTC moment."""
    return moment.astimezone(LIMA).date()


def start_of_lima_day(day: date) -> datetime:
    """00:00 in Lima on `day`, as a UTC moment."""
    return datetime.combine(day, time(0, 0), tzinfo=LIMA).astimezone(timezone.utc)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months later; the 31st becomes the month's last
    day when the month is shorter (paralysis counts months as the Comptroller does)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))
