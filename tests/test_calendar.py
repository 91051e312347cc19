"""Peru's business days (lifecycle/calendar.py): national holidays from the `holidays`
package, weekends, Lima's dates, and calendar months."""

from datetime import date, datetime, timezone

from lifecycle.calendar import (
    add_business_days,
    add_months,
    business_days_between,
    is_business_day,
    lima_date,
    start_of_lima_day,
)


def test_holy_week_and_the_weekend_are_skipped():
    # 2026-04-01 is a Wednesday; Holy Thursday and Good Friday (2 and 3 April) are holidays.
    assert not is_business_day(date(2026, 4, 2))
    assert not is_business_day(date(2026, 4, 3))
    assert add_business_days(date(2026, 4, 1), 1) == date(2026, 4, 6)
    assert add_business_days(date(2026, 4, 1), 5) == date(2026, 4, 10)


def test_business_days_across_the_year_boundary():
    # Thursday 31 December counts; 1 January is a holiday and 2-3 January a weekend.
    assert add_business_days(date(2026, 12, 30), 1) == date(2026, 12, 31)
    assert add_business_days(date(2026, 12, 30), 2) == date(2027, 1, 4)
    # Christmas (Friday 25 December 2026) and the weekend after it.
    assert add_business_days(date(2026, 12, 24), 1) == date(2026, 12, 28)


def test_counting_business_days_matches_adding_them():
    start = date(2026, 7, 20)  # the week of Independence Day (28 and 29 July)
    for days in range(0, 15):
        assert business_days_between(start, add_business_days(start, days)) == days
    assert business_days_between(date(2026, 7, 27), date(2026, 7, 30)) == 1  # only the 30th


def test_start_day_never_counts_and_zero_days_is_the_same_day():
    assert add_business_days(date(2026, 3, 6), 0) == date(2026, 3, 6)
    assert add_business_days(date(2026, 3, 6), 1) == date(2026, 3, 9)  # Friday → Monday


def test_dates_are_lima_dates():
    late_friday_in_lima = datetime(2026, 3, 7, 3, 0, tzinfo=timezone.utc)  # 22:00 on the 6th
    assert lima_date(late_friday_in_lima) == date(2026, 3, 6)
    assert start_of_lima_day(date(2026, 3, 9)) == datetime(2026, 3, 9, 5, 0, tzinfo=timezone.utc)


def test_months_end_on_the_last_day_of_a_shorter_month():
    moment = datetime(2026, 8, 31, 12, 0, tzinfo=timezone.utc)
    assert add_months(moment, 6) == datetime(2027, 2, 28, 12, 0, tzinfo=timezone.utc)
    assert add_months(moment, 4) == datetime(2026, 12, 31, 12, 0, tzinfo=timezone.utc)
    assert add_months(datetime(2026, 3, 15, tzinfo=timezone.utc), 12).year == 2027
