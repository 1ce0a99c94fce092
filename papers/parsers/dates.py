"""Dates as the sources write them: "Mar 11" (no year), "Oct 7, 2024", ISO 8601 and RFC 822."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from email.utils import parsedate_to_datetime

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
MONTH_DAY = re.compile(r"^\s*([A-Za-z]{3,9})\.?\s+(\d{1,2})\s*$")
MONTH_DAY_YEAR = re.compile(r"^\s*([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})\s*$")
# Feb 29 recurs at most every 8 years (1896 -> 1904 skips the non-leap 1900), so 8 years back always finds it.
_MAX_YEARS_BACK = 8


def month_number(name: str) -> int | None:
    return _MONTHS.get(name.casefold())


def resolve_month_day(*, month: int, day: int, today: date) -> date | None:
    """The most recent `month`/`day` not after `today`; None when no year has that day (Feb 30).

    A listing says "Mar 11" without a year: it is a page someone saved, so it is this year's March 11
    unless that is still to come, in which case it is last year's. Feb 29 goes back to the last leap year.
    """
    for year in range(today.year, today.year - _MAX_YEARS_BACK - 1, -1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate <= today:
            return candidate
    return None


def parse_month_day(*, text: str, today: date) -> date | None:
    """ "Mar 11" -> the most recent March 11 not after `today`; None if `text` is not such a date."""
    match = MONTH_DAY.match(text)
    if not match:
        return None
    month = month_number(match.group(1))
    if month is None:
        return None
    return resolve_month_day(month=month, day=int(match.group(2)), today=today)


def parse_month_day_year(*, text: str) -> date | None:
    """ "Oct 7, 2024" -> date(2024, 10, 7); None if `text` is not such a date."""
    match = MONTH_DAY_YEAR.match(text)
    month = month_number(match.group(1)) if match else None
    if not match or month is None:
        return None
    try:
        return date(int(match.group(3)), month, int(match.group(2)))
    except ValueError:
        return None


def parse_iso_date(text: str) -> date | None:
    """ "2024-10-22T17:59:30.000Z" or "2024-10-22" -> the date as written (no time zone shift)."""
    try:
        return datetime.fromisoformat(text.strip()).date()
    except ValueError:
        return None


def parse_rfc822_date(text: str) -> date | None:
    """ "Thu, 24 Sep 2026 00:00:00 -0400" -> date(2026, 9, 24), in the time zone it was written in."""
    try:
        return parsedate_to_datetime(text.strip()).date()
    except (TypeError, ValueError, IndexError, OverflowError):  # OverflowError: a year of 20 digits
        return None


def most_common_date(dates: Iterable[date | None]) -> date | None:
    """The date most items share (the later one on a tie); None when no item has one."""
    counts = Counter(d for d in dates if d is not None)
    if not counts:
        return None
    return max(counts, key=lambda d: (counts[d], d))
