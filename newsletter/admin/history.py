"""Subscribers' history in the admin: one subscriber's events, and the list's size over time counted from them.

Each event moves one subscriber from `previous` to `status` (a suppression moves no one), so the number in each
status at the end of a day is the sum of the moves up to it: four aggregate queries for any window and any
number of subscribers (before the window, by status and by previous; within it, the same per day).
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate

from newsletter.models import Subscriber, SubscriberEvent
from newsletter.selectors import DailyCounts, _window

HISTORY_SHOWN = 50


def subscriber_history(*, subscriber: Subscriber, limit: int = HISTORY_SHOWN) -> list[SubscriberEvent]:
    """The subscriber's latest events, newest first."""
    return list(SubscriberEvent.objects.filter(subscriber=subscriber).order_by("-at", "-id")[:limit])


def subscribers_over_time(*, days: int = 30, today: date | None = None) -> DailyCounts:
    """Subscribers in each status at the end of each day, from their status changes."""
    days_list, start = _window(days=days, today=today)
    moves = SubscriberEvent.objects.exclude(kind=SubscriberEvent.Kind.SUPPRESSED)
    running: Counter[str] = Counter()
    running.update(_moves_in(moves.filter(at__lt=start), "status"))
    running.subtract(_moves_in(moves.filter(at__lt=start), "previous"))
    arrivals = _moves_per_day(moves.filter(at__gte=start), "status")
    departures = _moves_per_day(moves.filter(at__gte=start), "previous")
    series: dict[str, list[int]] = {status: [] for status in Subscriber.Status.values}
    for day in days_list:
        for status in series:
            running[status] += arrivals.get((day, status), 0) - departures.get((day, status), 0)
            series[status].append(running[status])
    return DailyCounts(days_list, series)


def _moves_in(events: QuerySet[SubscriberEvent], field: str) -> dict[str, int]:
    return dict(events.order_by().values_list(field).annotate(n=Count("pk")))


def _moves_per_day(events: QuerySet[SubscriberEvent], field: str) -> dict[tuple[date, str], int]:
    grouped = events.order_by().annotate(day=TruncDate("at")).values_list("day", field).annotate(n=Count("pk"))
    return {(day, status): n for day, status, n in grouped}
